"""One SynthTalk clip: sentence, speaker, emotion -> speech, frames and a manifest record.

Everything random in a clip comes from one generator seeded by (seed, split, index), so a
clip is the same whichever worker makes it and however many clips are made.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..settings.synth import SynthConfig
from .emotions import EXPRESSION, emotion_params, intensity_curve
from .expressive import ExpressiveCues, face_cues, frame_intensity, sample_cues
from .face import face_style
from .grid import sample_sentence
from .media import write_video, write_wav
from .render import FrameState, render_frame
from .scene import blink_curve, head_motion, sample_scene
from .speakers import check_only_speaker, speaker_ids, speaker_params
from .speech import Speech, synthesize, synthesize_expressive
from .visemes import mouth_trajectory

SPLITS = ("train", "val", "test")
RENDERERS = ("cartoon", "portrait")
# how far a face cue's nod (0..1) moves the cartoon head: pose nod, and down by a share of the frame
CARTOON_NOD, CARTOON_NOD_SHIFT = 0.6, 0.015


def check_renderer(name: str) -> None:
    if name not in RENDERERS:
        raise InputError(f"unknown renderer {name!r}; choose one of {', '.join(RENDERERS)}")


def clip_id(split: str, index: int) -> str:
    return f"{split}_{index:05d}"


def clip_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(split.encode()), index])


@dataclass
class ClipSpec:
    """What a clip says and who says it how."""

    text: str
    speaker: dict[str, Any]
    emotion: str
    emotion_params: dict[str, Any]
    cues: ExpressiveCues | None = None  # synth.expressive: emphasis, contour, pauses, intensity shape


def sample_clip(seed: int, split: str, index: int, cfg: SynthConfig) -> tuple[ClipSpec, np.random.Generator]:
    """Draw sentence, speaker and emotion; return the generator to keep drawing from."""
    rng = clip_rng(seed, split, index)
    text = sample_sentence(rng, split)
    drawn = int(rng.choice(speaker_ids(split, cfg)))  # drawn even when fixed: later draws stay put
    if cfg.only_speaker != -1:
        check_only_speaker(split, cfg)
        drawn = cfg.only_speaker
    speaker = speaker_params(drawn, cfg)
    emotion = str(cfg.emotions[rng.integers(len(cfg.emotions))])
    params = emotion_params(rng, emotion, speaker)
    # drawn only when expressive: a plain clip's later draws (and so its bytes) stay as they were
    cues = sample_cues(rng, len(text.split()), params["intensity"]) if cfg.expressive else None
    return ClipSpec(text, speaker, emotion, params, cues), rng


def speak_clip(spec: ClipSpec, cfg: SynthConfig) -> Speech:
    """The clip's speech: plain, or with its expressive cues (SSML) when it has them."""
    prosody = spec.emotion_params["prosody"]
    if spec.cues is None:
        return synthesize(spec.text, spec.speaker, prosody, cfg.sample_rate, cfg.fps, cfg.lead_silence_s)
    return synthesize_expressive(
        spec.text,
        spec.speaker,
        spec.emotion,
        spec.emotion_params["intensity"],
        prosody,
        spec.cues,
        cfg.sample_rate,
        cfg.fps,
        cfg.lead_silence_s,
    )


def clip_face_cues(spec: ClipSpec, speech: Speech, cfg: SynthConfig) -> dict[str, np.ndarray] | None:
    """Per-frame face cue offsets (brow_raise, eye_open, nod) of an expressive clip, else None."""
    if spec.cues is None:
        return None
    t = np.arange(speech.num_frames) / cfg.fps
    return face_cues(spec.cues, speech.words, len(spec.text.split()), t)


def clip_intensity(spec: ClipSpec, speech: Speech, rng: np.random.Generator, cfg: SynthConfig) -> np.ndarray:
    """[T] the face's emotion intensity (expressive: the voice's shape along the spoken words)."""
    if spec.cues is None:
        return intensity_curve(rng, spec.emotion_params["intensity"], speech.num_frames, cfg.fps)
    t = np.arange(speech.num_frames) / cfg.fps
    words = len(spec.text.split())
    return frame_intensity(spec.cues, spec.emotion_params["intensity"], speech.words, words, t)


def render_frames(
    spec: ClipSpec, speech: Speech, rng: np.random.Generator, cfg: SynthConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames [T, S, S, 3] uint8, mouth parameters [T, 6] and expression intensity [T]."""
    check_renderer(cfg.renderer)
    t = np.arange(speech.num_frames) / cfg.fps  # frame i shows the mouth at time i / fps
    mouth = mouth_trajectory(speech.phonemes, t)
    intensity = clip_intensity(spec, speech, rng, cfg)
    cues = clip_face_cues(spec, speech, cfg)
    if cfg.renderer == "portrait":
        from .portrait_render import render_portrait

        expression = EXPRESSION[spec.emotion]
        frames = render_portrait(spec.speaker, expression, mouth, intensity, rng, cfg, cues)
        return frames, mouth, intensity
    scene = sample_scene(rng, cfg.image_size, cfg.noise_std)
    motion = head_motion(rng, speech.num_frames, cfg.fps, cfg.image_size)
    eyelid = blink_curve(rng, speech.num_frames, cfg.fps)
    style = face_style(spec.speaker)
    expression = EXPRESSION[spec.emotion]
    frames = np.empty((speech.num_frames, cfg.image_size, cfg.image_size, 3), np.uint8)
    if cues is not None:
        motion = {**motion, "nod": motion["nod"] + CARTOON_NOD * cues["nod"]}
        motion["shift_y"] = motion["shift_y"] + CARTOON_NOD_SHIFT * cfg.image_size * cues["nod"]
    for i in range(speech.num_frames):
        face = {k: v * intensity[i] for k, v in expression.items()}
        if cues is not None:
            face["brow_raise"] += float(cues["brow_raise"][i])
            face["eye_open"] += float(cues["eye_open"][i])
        state = FrameState(
            mouth=mouth[i],
            expression=face,
            eyelid=float(eyelid[i]),
            roll=float(motion["roll"][i]),
            yaw=float(motion["yaw"][i]),
            nod=float(motion["nod"][i]),
            shift=(float(motion["shift_x"][i]), float(motion["shift_y"][i])),
            gaze=(float(motion["gaze_x"][i]), float(motion["gaze_y"][i])),
        )
        frames[i] = render_frame(style, scene, state, rng)
    return frames, mouth, intensity


def render_clip(
    out_dir: Path, seed: int, split: str, index: int, cfg: SynthConfig
) -> tuple[dict[str, Any], np.ndarray]:
    """Make clip ``index`` of ``split``: write video/<id>.mp4 and audio/<id>.wav under ``out_dir``.

    Returns the manifest record and the drawn mouth parameters [T, 6] (for checks).
    """
    spec, rng = sample_clip(seed, split, index, cfg)
    speech = speak_clip(spec, cfg)
    frames, mouth, intensity = render_frames(spec, speech, rng, cfg)
    cid = clip_id(split, index)
    video, audio = Path("video") / f"{cid}.mp4", Path("audio") / f"{cid}.wav"
    for sub in (video.parent, audio.parent):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    write_video(out_dir / video, frames, cfg.fps)
    write_wav(out_dir / audio, speech.audio, cfg.sample_rate)
    record = {
        "id": cid,
        "split": split,
        "video": video.as_posix(),
        "audio": audio.as_posix(),
        "text": spec.text,
        "speaker": spec.speaker["speaker"],
        "emotion": spec.emotion,
        "fps": cfg.fps,
        "sample_rate": cfg.sample_rate,
        "num_frames": speech.num_frames,
        "duration": round(len(speech.audio) / cfg.sample_rate, 4),
        "phonemes": speech.phonemes,
        "words": speech.words,
        "speaker_params": spec.speaker,
        "emotion_params": {**spec.emotion_params, "intensity_curve": [round(float(v), 4) for v in intensity]},
        "seed": seed,
    }
    if cfg.renderer != "cartoon":  # no key: a cartoon clip (as in every manifest made before)
        record["renderer"] = cfg.renderer
    if spec.cues is not None:  # no keys: a plain clip (manifests made without expressive stay as they were)
        cues = clip_face_cues(spec, speech, cfg) or {}
        record["emphasis"] = spec.cues.emphasis
        record["contour"] = spec.cues.contour
        record["pauses"] = spec.cues.pauses
        record["prosody_cues"] = spec.cues.record()
        record["face_cues"] = {k: [round(float(v), 4) for v in curve] for k, curve in cues.items()}
    return record, mouth
