"""The video front door on real-photo test videos (scikit-image's astronaut, moved and re-timed)."""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import pytest

skimage_data = pytest.importorskip("skimage.data")

from imagintalk.errors import InputError, NoFaceError  # noqa: E402
from imagintalk.settings.video import VideoConfig  # noqa: E402
from imagintalk.video.canonical import STABLE_POINTS, align_matrix, apply_affine, canonical_points  # noqa: E402
from imagintalk.video.crops import MOUTH_MEAN, MOUTH_STD, normalize_mouth  # noqa: E402
from imagintalk.video.detectors import DlibHogDetector, OpenCVHaarDetector, detect_faces  # noqa: E402
from imagintalk.video.frontdoor import FaceTrack, process_video  # noqa: E402
from imagintalk.video.io import iter_frames, write_video  # noqa: E402
from imagintalk.video.landmarks import predict_landmarks  # noqa: E402
from imagintalk.video.result import FaceTrackResult  # noqa: E402

cv2.setNumThreads(1)
ASTRONAUT = skimage_data.astronaut()  # RGB [512, 512, 3], a real photo shipped inside the wheel
FACE_CENTRE = np.array([222.0, 126.0])  # centre of dlib's face box in the photo
FACE_PX = 87.0  # side of dlib's face box in the photo


def face_frame(h: int, w: int, cx: float, cy: float, face_px: float, angle: float = 0.0) -> np.ndarray:
    """RGB frame [h, w, 3] with the astronaut's face (box side ``face_px``) centred at (cx, cy)."""
    m = cv2.getRotationMatrix2D(tuple(FACE_CENTRE), angle, face_px / FACE_PX)
    m[:, 2] += np.array([cx, cy]) - FACE_CENTRE
    return cv2.warpAffine(ASTRONAUT, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def moving_frames(n: int, h: int = 224, w: int = 224, face_px: float = 90.0) -> list[np.ndarray]:
    """A face that drifts, zooms and tilts over n frames."""
    return [
        face_frame(
            h,
            w,
            w / 2 + 0.08 * w * np.sin(i / 7),
            h / 2 + 0.05 * h * np.cos(i / 9),
            face_px * (1 + 0.12 * np.sin(i / 11)),
            angle=10 * np.sin(i / 6),
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Small test videos, written once for the module."""
    root = tmp_path_factory.mktemp("videos")
    paths = {
        "fps30": write_video(root / "fps30.mp4", moving_frames(60), fps=30),
        "fps12": write_video(root / "fps12.mp4", moving_frames(25), fps=12.5),
        "small": write_video(root / "small.mp4", moving_frames(20, 120, 160, face_px=60), fps=25),
        "short": write_video(root / "short.mp4", moving_frames(5), fps=25),
    }
    gap = moving_frames(30)
    for i in range(12, 18):
        gap[i] = np.zeros_like(gap[i])  # the face is blacked out for 6 frames
    paths["gap"] = write_video(root / "gap.mp4", gap, fps=25)
    two = []
    for i in range(15):
        frame = face_frame(240, 400, 290 + 3 * np.sin(i / 3), 120, 130)  # larger face, right
        small = face_frame(240, 400, 95 - 3 * np.sin(i / 3), 120, 100)  # smaller face, left
        frame[:, :190] = small[:, :190]
        two.append(frame)
    paths["two"] = write_video(root / "two.mp4", two, fps=25)
    paths["blank"] = write_video(root / "blank.mp4", [np.full((96, 128, 3), 90, np.uint8)] * 15, fps=25)
    # a different container and codec: MJPEG in AVI written by OpenCV (frames given as BGR)
    writer = cv2.VideoWriter(str(root / "mjpg.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 20, (224, 224))
    for frame in moving_frames(16):
        writer.write(frame[:, :, ::-1])
    writer.release()
    paths["avi"] = root / "mjpg.avi"
    # variable frame rate: 20 fps for 0.5 s, then 50 fps for 0.5 s
    times = [i / 20 for i in range(10)] + [0.5 + i / 50 for i in range(25)]
    paths["vfr"] = write_video(root / "vfr.mp4", moving_frames(len(times)), times=times)
    (root / "empty.mp4").write_bytes(b"")
    (root / "corrupt.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    paths["empty"], paths["corrupt"] = root / "empty.mp4", root / "corrupt.mp4"
    return paths


@pytest.fixture(scope="module")
def detector():
    return DlibHogDetector()


def check_shapes(result: FaceTrackResult, cfg: VideoConfig, frames: int) -> None:
    assert result.mouth.shape == (frames, cfg.mouth_size, cfg.mouth_size) and result.mouth.dtype == np.uint8
    assert result.face.shape == (frames, cfg.face_size, cfg.face_size, 3) and result.face.dtype == np.uint8
    assert result.landmarks.shape == (frames, 68, 2) and result.landmarks.dtype == np.float32
    assert result.aligned_landmarks.shape == (frames, 68, 2)
    assert result.boxes.shape == (frames, 4)
    assert result.detected.shape == (frames,) and result.detected.dtype == bool
    np.testing.assert_allclose(result.times, np.arange(frames) / cfg.fps)


@pytest.mark.parametrize(("name", "source_frames", "out_frames"), [("fps30", 60, 50), ("fps12", 25, 50)])
def test_odd_frame_rates_resample_to_25(videos, detector, name, source_frames, out_frames):
    cfg = VideoConfig()
    result = process_video(videos[name], cfg, detector)
    check_shapes(result, cfg, out_frames)
    assert result.num_source_frames == source_frames
    assert result.detection_rate == 1.0 and len(result.filled_frames) == 0
    assert result.multiple_faces == 0


def test_variable_frame_rate_uses_timestamps(videos, detector):
    times = [t for _, t in iter_frames(videos["vfr"])]
    assert times[1] - times[0] == pytest.approx(0.05, abs=1e-3)
    assert times[-1] - times[-2] == pytest.approx(0.02, abs=1e-3)
    result = process_video(videos["vfr"], VideoConfig(), detector)
    # 0.98 s of frames plus one 20 ms frame interval (the median) = 1.0 s -> 25 frames
    assert result.num_frames == 25


def test_moving_face_is_aligned_to_the_canonical_face(videos, detector):
    result = process_video(videos["fps30"], VideoConfig(), detector)
    raw_eyes = result.landmarks[:, [36, 45]]
    aligned = result.aligned_landmarks[:, STABLE_POINTS]
    assert raw_eyes.std(0).max() > 5.0  # the face really moves in the frame (pixels) ...
    assert aligned.std(0).max() < 0.02  # ... but barely in the aligned crop (unit coordinates)
    assert np.abs(aligned.mean(0) - canonical_points()).max() < 0.05
    # the mouth ROI is centred on the mouth: mouth landmarks sit in its middle
    mouth_centre = result.aligned_landmarks[:, 48:68].mean(1)
    assert np.abs(mouth_centre - canonical_points(np.array([48, 54])).mean(0)).max() < 0.06


def test_template_fits_a_real_face():
    gray = cv2.cvtColor(ASTRONAUT, cv2.COLOR_RGB2GRAY)
    boxes, _ = detect_faces(DlibHogDetector(), gray, 512)
    landmarks = predict_landmarks(gray, boxes[0])
    aligned = apply_affine(align_matrix(landmarks), landmarks)
    residual = np.linalg.norm(aligned[STABLE_POINTS] - canonical_points(), axis=1)
    assert residual.mean() < 0.02  # 2 % of the crop side: the proportions match a real face
    assert 0.85 < aligned[8, 1] < 1.0  # the chin lands near the bottom of the crop


def test_small_frames_and_other_containers(videos, detector):
    small = process_video(videos["small"], VideoConfig(), detector)
    assert small.source_size == (120, 160) and small.detection_rate > 0.9
    avi = process_video(videos["avi"], VideoConfig(), detector)
    assert avi.num_frames == 20 and avi.detection_rate == 1.0  # 16 frames at 20 fps = 0.8 s


def test_missing_face_frames_are_interpolated_and_reported(videos, detector):
    result = process_video(videos["gap"], VideoConfig(smooth_window=1), detector)
    assert result.filled_frames.tolist() == list(range(12, 18))
    assert result.source_detected == 24 and not result.detected[12:18].any()
    # interpolated landmarks lie on the straight line between the detections around the gap
    left, right = result.landmarks[11], result.landmarks[18]
    for k, t in enumerate(range(12, 18), 1):
        np.testing.assert_allclose(result.landmarks[t], left + (right - left) * k / 7, atol=1e-3)
    # too long a gap is held at the nearest detection instead, and reported as such
    held = process_video(videos["gap"], VideoConfig(smooth_window=1, max_gap_s=0.1), detector)
    assert held.long_gap_frames == 6
    np.testing.assert_allclose(held.landmarks[12], held.landmarks[11], atol=1e-3)


def test_two_faces_pick_the_larger_one_consistently(videos, detector):
    result = process_video(videos["two"], VideoConfig(detect_size=400), detector)
    assert result.multiple_faces == 15
    centres_x = (result.boxes[:, 0] + result.boxes[:, 2]) / 2
    assert (centres_x > 200).all()
    assert (result.boxes[:, 2] - result.boxes[:, 0]).min() > 110


def test_blank_video_has_no_face(videos, detector):
    with pytest.raises(NoFaceError, match=r"no face found in .*blank.mp4 \(0 of 15 frames\)"):
        process_video(videos["blank"], VideoConfig(), detector)


@pytest.mark.parametrize("name", ["empty", "corrupt", "missing"])
def test_unreadable_files_raise_input_error(videos, detector, name, tmp_path):
    path = videos.get(name, tmp_path / "missing.mp4")
    with pytest.raises(InputError):
        process_video(path, VideoConfig(), detector)


def test_too_short_clip(videos, detector):
    with pytest.raises(InputError, match="too short to speak"):
        process_video(videos["short"], VideoConfig(), detector)


def test_streaming_equals_whole_file_in_either_colour_order(videos, detector):
    cfg = VideoConfig()
    whole = process_video(videos["fps12"], cfg, detector)
    track = FaceTrack(cfg, detector, color="rgb")
    observations = [track.push(frame, t) for frame, t in iter_frames(videos["fps12"], color="rgb")]
    assert all(o.found and o.mouth.shape == (96, 96) and o.face.shape == (128, 128, 3) for o in observations)
    streamed = track.finish()
    assert len(track) == 0  # finish() starts a new clip
    np.testing.assert_allclose(streamed.landmarks, whole.landmarks, atol=1e-4)
    assert np.abs(streamed.mouth.astype(int) - whole.mouth).max() <= 1
    assert np.abs(streamed.face.astype(int) - whole.face).max() <= 1
    # face crops are RGB: the astronaut's orange suit/skin has more red than blue
    assert whole.face[..., 0].mean() > whole.face[..., 2].mean() + 10


def test_stream_rejects_bad_frames_and_times(detector):
    track = FaceTrack(VideoConfig(), detector)
    assert not track.push(np.zeros((64, 64, 3), np.uint8), 0.0).found
    with pytest.raises(InputError, match="must increase"):
        track.push(np.zeros((64, 64, 3), np.uint8), 0.0)
    with pytest.raises(InputError, match="finite"):
        track.push(np.zeros((64, 64, 3), np.uint8), float("nan"))
    with pytest.raises(InputError, match="uint8"):
        track.push(np.zeros((64, 64), np.float32), 1.0)
    with pytest.raises(InputError, match="colour order"):
        FaceTrack(VideoConfig(), detector, color="yuv")


def test_detector_every_third_frame_tracks_with_landmarks(videos, detector):
    every = process_video(videos["fps12"], VideoConfig(), detector)
    sparse = process_video(videos["fps12"], VideoConfig(detect_every=3), detector)
    assert np.abs(sparse.landmarks - every.landmarks).mean() < 2.0  # pixels


def test_haar_detector_gives_dlib_like_boxes():
    gray = cv2.cvtColor(ASTRONAUT, cv2.COLOR_RGB2GRAY)
    haar_boxes, haar_scores = OpenCVHaarDetector()(gray)
    dlib_boxes, _ = DlibHogDetector()(gray)
    assert len(haar_boxes) == 1 and haar_scores.shape == (1,)
    assert np.abs(haar_boxes[0] - dlib_boxes[0]).max() < 8
    with_haar = predict_landmarks(gray, haar_boxes[0])
    assert np.abs(with_haar - predict_landmarks(gray, dlib_boxes[0])).mean() < 3.0


def test_normalize_mouth():
    roi = np.full((4, 96, 96), round(255 * MOUTH_MEAN), np.uint8)
    roi[:, :4] = 255  # the border rows are cut by the centre crop
    out = normalize_mouth(roi)
    assert out.shape == (4, 88, 88) and out.dtype == np.float32
    assert np.abs(out).max() < 0.5 / 255 / MOUTH_STD + 1e-6
    with pytest.raises(ValueError):
        normalize_mouth(np.zeros((4, 64, 64), np.uint8))


def test_result_round_trip(videos, detector, tmp_path):
    result = process_video(videos["fps12"], VideoConfig(), detector)
    again = FaceTrackResult.load(result.save(tmp_path / "r.npz"))
    assert again.summary() == result.summary()
    np.testing.assert_array_equal(again.mouth, result.mouth)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError):
        FaceTrackResult.load(tmp_path / "bad.npz")


def test_preprocess_command_on_a_data_dir(videos, tmp_path, capsys):
    from imagintalk.commands import preprocess

    data = tmp_path / "data"
    data.mkdir()
    lines = [{"id": "good", "video": str(videos["fps12"])}, {"id": "blank", "video": str(videos["blank"])}]
    (data / "manifest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    parser = argparse.ArgumentParser()
    preprocess.register(parser.add_subparsers())
    args = parser.parse_args(["preprocess", str(data), "--preset", "debug"])
    assert args.func(args) == 0
    report = json.loads((data / "crops" / "report.json").read_text())
    assert (
        report["processed"] == 1 and report["failed"] == 1 and "no face found" in report["failures"]["blank"]
    )
    assert report["detection_rate"] == 1.0 and (data / "crops" / "good.npz").is_file()
    assert args.func(args) == 0  # a second run skips the finished clip
    assert json.loads((data / "crops" / "report.json").read_text())["skipped_existing"] == 1
    one = parser.parse_args(["preprocess", str(videos["fps30"]), "--out", str(tmp_path / "one.npz")])
    assert one.func(one) == 0
    assert "50 frames at 25 fps" in capsys.readouterr().out
    with pytest.raises(InputError, match="shard"):
        preprocess.parse_shard("3/2")
