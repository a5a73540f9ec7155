"""The pretrained style features (real models): dlib descriptor, fer expression, resemblyzer, pyworld."""

import io
import subprocess
import warnings

import numpy as np
import pytest

from imagintalk.errors import InputError
from imagintalk.features import (
    EMOTIONS,
    clip_identity,
    contour_level,
    expression_features,
    expression_vector,
    face_descriptors,
    prosody_contours,
    prosody_targets,
    smooth_over_window,
    speaker_embedding,
    speaker_levels,
    to_token_rate,
)

FACE_SIZE = 128


def landmarks_of(image: np.ndarray) -> np.ndarray:
    """dlib HOG + 68-point predictor (face_recognition_models) on an RGB image -> [68, 2]."""
    import dlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition_models

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    boxes = list(detector(image, 1))
    assert boxes, "the test image should show a face"
    box = max(boxes, key=lambda b: b.area())  # upsampled HOG also fires on small patterns in the background
    return np.array([[p.x, p.y] for p in predictor(image, box).parts()], np.float64)


def aligned(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The front door's aligned face crop [128, 128, 3] and its landmarks in crop pixels [68, 2]."""
    from imagintalk.video.canonical import align_matrix, apply_affine
    from imagintalk.video.crops import face_matrix, warp

    matrix = face_matrix(align_matrix(landmarks), FACE_SIZE)
    return warp(image, matrix, FACE_SIZE), apply_affine(matrix, landmarks)


@pytest.fixture(scope="module")
def astronaut():
    from skimage import data

    image = data.astronaut()  # [512, 512, 3] RGB, a smiling face
    return image, landmarks_of(image)


@pytest.fixture(scope="module")
def synth_faces():
    """Two SynthTalk faces of one speaker: neutral and happy (rendered, no speech needed)."""
    from imagintalk.settings.synth import SynthConfig
    from imagintalk.synth.emotions import EXPRESSION
    from imagintalk.synth.face import face_style
    from imagintalk.synth.render import FrameState, render_frame
    from imagintalk.synth.scene import sample_scene
    from imagintalk.synth.speakers import speaker_params

    style = face_style(speaker_params(3, SynthConfig()))
    faces = {}
    for emotion in ("neutral", "happy"):
        rng = np.random.default_rng(0)
        scene = sample_scene(rng, 224, 0.0)
        state = FrameState(mouth=np.zeros(6), expression=dict(EXPRESSION[emotion]))
        image = render_frame(style, scene, state, rng)
        faces[emotion] = (image, landmarks_of(image))
    return faces


def test_descriptor_shape_and_determinism(astronaut):
    image, landmarks = astronaut
    out = face_descriptors(np.stack([image] * 3), np.stack([landmarks] * 3))
    assert out.shape == (3, 128) and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_array_equal(out[0], out[2])  # identical frames, identical descriptors
    crop, crop_landmarks = aligned(image, landmarks)  # the front door's crop gives the same person
    from_crop = face_descriptors(crop[None], crop_landmarks[None])[0]
    assert np.linalg.norm(from_crop - out[0]) < 0.3


def test_descriptor_separates_faces(astronaut, synth_faces):
    image, landmarks = astronaut
    mirrored = np.ascontiguousarray(image[:, ::-1])  # the same person, mirrored
    other, other_landmarks = synth_faces["neutral"]
    frames = [image, mirrored, other]
    marks = [landmarks, landmarks_of(mirrored), other_landmarks]
    sizes = {f.shape for f in frames}
    assert len(sizes) > 1  # different frame sizes: describe one at a time
    d = np.concatenate([face_descriptors(f[None], m[None]) for f, m in zip(frames, marks)])
    same, different = np.linalg.norm(d[0] - d[1]), np.linalg.norm(d[0] - d[2])
    assert same < 0.45 < different, (same, different)


def test_clip_identity_is_unit_norm(astronaut):
    image, landmarks = astronaut
    identity = clip_identity(np.stack([image] * 5), np.stack([landmarks] * 5), num_samples=3)
    assert identity.shape == (128,) and abs(np.linalg.norm(identity) - 1) < 1e-5


def test_descriptor_rejects_bad_input(astronaut):
    image, landmarks = astronaut
    with pytest.raises(InputError, match="landmarks"):
        face_descriptors(image[None], landmarks[None, :5])
    with pytest.raises(InputError, match="NaN"):
        face_descriptors(image[None], np.full((1, 68, 2), np.nan))
    with pytest.raises(InputError, match="uint8"):
        face_descriptors(image[None].astype(np.float32), landmarks[None])


def test_expression_probabilities(astronaut, synth_faces):
    crops = [aligned(*astronaut)[0]] + [aligned(*synth_faces[e])[0] for e in ("neutral", "happy")]
    probs, embedding = expression_features(np.stack(crops), with_embedding=True)
    assert probs.shape == (3, len(EMOTIONS)) and embedding.shape == (3, 128)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-4)
    happy = EMOTIONS.index("happy")
    assert probs[0].argmax() == happy  # the astronaut smiles
    assert np.abs(probs[1] - probs[2]).sum() > 0.1  # neutral and happy drawn faces differ
    np.testing.assert_allclose(expression_features(np.stack(crops[:1]))[0], probs[0], atol=1e-6)  # batch-free
    vector = expression_vector(np.stack(crops))
    assert vector.shape == (3, 135) and np.allclose(vector[:, :7], probs, atol=1e-6)


def test_smoothing_and_token_rate():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(60, 7))
    smooth = smooth_over_window(noise, fps=25, window_s=0.5)
    assert smooth.shape == noise.shape and smooth.var(0).mean() < 0.2 * noise.var(0).mean()
    constant = np.full((10, 3), 0.7)  # edge-aware: a constant stays constant at the ends
    np.testing.assert_allclose(smooth_over_window(constant), constant, atol=1e-6)
    ramp = np.arange(30, dtype=float)[:, None]
    np.testing.assert_allclose(smooth_over_window(ramp)[15], 15.0)  # centred: no lag
    up = to_token_rate(noise, 2)
    assert up.shape == (120, 7) and np.array_equal(up[::2], noise) and np.array_equal(up[1::2], noise)


def espeak(text: str, voice: str = "en-us", pitch: int = 50) -> np.ndarray:
    """espeak-ng speech resampled to 16 kHz float32 [N]."""
    import librosa
    import soundfile as sf

    cmd = ["espeak-ng", "-v", voice, "-p", str(pitch), "--stdout", text]
    wav, sr = sf.read(io.BytesIO(subprocess.run(cmd, capture_output=True, check=True).stdout))
    return librosa.resample(wav, orig_sr=sr, target_sr=16000).astype(np.float32)


def test_speaker_embedding_separates_voices():
    male_a = speaker_embedding(espeak("bin blue at f two now", "en-us+m3"))
    male_b = speaker_embedding(espeak("place green by a seven soon", "en-us+m3"))
    female = speaker_embedding(espeak("bin blue at f two now", "en-us+f2"))
    assert male_a.shape == (256,) and abs(np.linalg.norm(male_a) - 1) < 1e-5
    assert male_a @ male_b > male_a @ female + 0.1, (male_a @ male_b, male_a @ female)
    with pytest.raises(InputError):
        speaker_embedding(np.zeros(0, np.float32))


def test_prosody_targets():
    high, low = espeak("bin blue at f two now", pitch=80), espeak("bin blue at f two now", pitch=20)
    targets = prosody_targets(high)
    num_frames = -(-len(high) // 320)
    assert set(targets) == {"log_f0", "voiced", "energy"}
    assert all(v.shape == (num_frames,) and v.dtype == np.float32 for v in targets.values())
    assert 0.3 < targets["voiced"].mean() < 0.95
    assert abs(targets["log_f0"][targets["voiced"] > 0].mean()) < 1e-4  # relative to the utterance level
    for length in (num_frames - 7, num_frames + 9):  # exactly num_frames long, padded or trimmed
        fixed = prosody_targets(high, num_frames=length)
        assert all(v.shape == (length,) for v in fixed.values())
    levels = [contour_level(prosody_contours(w)) for w in (high, low)]
    assert levels[0].log2_f0 > levels[1].log2_f0 + 0.3  # -p 80 is over a third of an octave above -p 20
    by_speaker = speaker_levels(levels, ["a", "a"])
    shared = prosody_targets(high, level=by_speaker["a"])  # the speaker's level keeps the offset
    assert shared["log_f0"][shared["voiced"] > 0].mean() > 0.15
    with pytest.raises(InputError, match="multiple"):
        prosody_targets(high, sr=16001)
