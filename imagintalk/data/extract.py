"""Everything the three training stages need from one clip, computed once.

A :class:`ClipExtractor` holds the loaded models (face detector, codec; the feature
extractors load themselves once per process) and turns a manifest entry into the arrays
of a feature file (see ``feature_file``). Video: the front door (mouth ROIs, aligned face
crops, landmarks) -> dlib descriptor, fer expression. Audio: codec codes, resemblyzer
speaker embedding, WORLD prosody. Units: the manifest's espeak phonemes, or a
pocketsphinx alignment of its ``text`` when it has no phonemes. The expression features
are as wide as ``style.expression_dim`` asks (7 or 135).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..codec.base import Codec
from ..config import Config
from ..errors import InputError
from .codec_identity import codec_identity, token_rate_factor
from .config import DataConfig
from .feature_file import FORMAT_VERSION, check_lengths

if TYPE_CHECKING:
    from ..video.result import FaceTrackResult


def pad_or_trim(values: np.ndarray, length: int, fill: float = 0) -> np.ndarray:
    """Last axis of ``values`` padded with ``fill`` / cut to exactly ``length``."""
    out = np.full((*values.shape[:-1], length), fill, dtype=values.dtype)
    n = min(length, values.shape[-1])
    out[..., :n] = values[..., :n]
    return out


def downscale_crops(
    faces: np.ndarray, detected: np.ndarray, count: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` evenly spaced face crops [T, F, F, 3] -> ([N, size, size, 3] uint8, frame indices [N]).

    Frames where the face was detected are preferred over filled ones.
    """
    import cv2

    from ..features.face_descriptor import sample_indices

    pool = np.flatnonzero(detected) if detected.any() else np.arange(len(faces))
    index = pool[sample_indices(len(pool), count)]
    crops = np.stack([cv2.resize(faces[i], (size, size), interpolation=cv2.INTER_AREA) for i in index])
    return crops.astype(np.uint8), index.astype(np.int64)


def expression_features_for(faces: np.ndarray, dim: int) -> np.ndarray:
    """Aligned face crops [T, H, W, 3] -> float32 [T, dim]: 7 fer probabilities, or 135 = those
    ++ fer's 128-D embedding (told SynthTalk emotions apart far better, docs/style_branch.md)."""
    from ..features import expression_features, expression_vector

    if dim == 7:
        return np.asarray(expression_features(faces), np.float32)
    if dim == 135:
        return np.asarray(expression_vector(faces), np.float32)
    raise InputError(f"style.expression_dim must be 7 or 135 (what fer gives), got {dim}")


def visual_features(track: FaceTrackResult, cfg: Config, data_cfg: DataConfig) -> dict[str, np.ndarray]:
    """What the networks see of a clip, from its FaceTrackResult: the ONE definition shared by
    training data (``ClipExtractor``) and speaking (``imagintalk.pipeline``).

    identity [128] (dlib descriptor of the aligned crops), expression [T, E] (E =
    style.expression_dim: 7 fer probabilities, or 135 with fer's 128-D embedding),
    face_crops [N, S, S, 3] uint8 and face_crop_frames [N] (their frame indices).
    """
    from ..features import clip_identity

    expression = expression_features_for(track.face, cfg.style.expression_dim)
    crops, crop_frames = downscale_crops(
        track.face, track.detected, data_cfg.face_crops, data_cfg.face_crop_size
    )
    landmarks_px = track.aligned_landmarks * cfg.video.face_size  # crop pixels, as the descriptor wants
    return {
        "identity": clip_identity(track.face, landmarks_px, data_cfg.identity_samples).astype(np.float32),
        "expression": expression,
        "face_crops": crops,
        "face_crop_frames": crop_frames,
    }


class ClipExtractor:
    """Manifest entry -> feature arrays; models are loaded once per instance / process."""

    def __init__(self, cfg: Config, codec: Codec, data_cfg: DataConfig | None = None) -> None:
        from ..builders import build_detector

        self.cfg = cfg
        self.data_cfg = data_cfg or DataConfig()
        self.codec = codec
        self.identity = codec_identity(codec)
        self.factor = token_rate_factor(codec.frame_rate, cfg.video.fps, cfg.units.frame_rate)
        self.detector = build_detector(cfg.video.detector, upsample=cfg.video.upsample)

    def units(
        self, entry: dict[str, Any], wav: np.ndarray, sr: int, num_tokens: int
    ) -> tuple[np.ndarray, str]:
        """Units int16 [num_tokens] and their source ("phonemes" or "alignment")."""
        from ..units import align_transcript, frame_units

        rate = float(self.codec.frame_rate)
        if entry.get("phonemes"):
            return frame_units(entry["phonemes"], num_tokens, rate, source="espeak").astype(
                np.int16
            ), "phonemes"
        if not str(entry.get("text", "")).strip():
            raise InputError("the manifest entry has neither 'phonemes' nor 'text' to derive units from")
        segments = align_transcript(wav, sr, entry["text"])
        return frame_units(segments, num_tokens, rate, source="arpabet").astype(np.int16), "alignment"

    def audio_features(self, wav: np.ndarray, num_tokens: int) -> dict[str, np.ndarray]:
        """wav [N] at the codec rate -> codes [K, num_tokens] int16, speaker embedding, prosody."""
        import torch

        from ..features import speaker_embedding
        from ..features.prosody import prosody_contours, targets_from_contours

        codec, sr = self.codec, self.codec.sample_rate
        with torch.no_grad():
            codes = codec.encode(torch.from_numpy(wav).float()[None, None])[0].cpu().numpy()  # [K, T']
        if codes.size and (codes.min() < 0 or codes.max() > np.iinfo(np.int16).max):
            raise InputError(f"codec codes out of the int16 range (cardinality {codec.cardinality})")
        contours = prosody_contours(wav, sr, codec.frame_rate, self.data_cfg.prosody_method)
        out = {
            "codes": pad_or_trim(codes.astype(np.int16), num_tokens),
            "speaker_embedding": speaker_embedding(wav, sr).astype(np.float32),
            "f0_hz": pad_or_trim(contours.f0_hz, num_tokens),
            "energy_db": pad_or_trim(
                contours.energy_db, num_tokens, float(contours.energy_db.min(initial=-100))
            ),
        }
        out.update(targets_from_contours(contours, None, num_tokens))
        return out

    def __call__(self, entry: dict[str, Any], data_dir: Path) -> dict[str, Any]:
        """One manifest entry (paths relative to ``data_dir``) -> the feature file's arrays."""
        from ..codec.audio import read_audio
        from ..video.frontdoor import process_video

        cfg, dcfg = self.cfg, self.data_cfg
        for key in ("id", "video", "audio"):
            if not entry.get(key):
                raise InputError(f"manifest entry lacks {key!r}")
        track = process_video(data_dir / entry["video"], cfg.video, detector=self.detector)
        t = track.num_frames
        num_tokens = self.factor * t
        # the audio spans exactly the T frames: T * hop_per_frame samples, padded or cut
        wav = read_audio(data_dir / entry["audio"], self.codec.sample_rate)
        wav = pad_or_trim(wav, int(round(t * self.codec.sample_rate / cfg.video.fps)))
        units, unit_source = self.units(entry, wav, self.codec.sample_rate, num_tokens)
        arrays: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "id": str(entry["id"]),
            "split": str(entry.get("split", "")),
            "speaker": str(entry.get("speaker", "")),
            "emotion": str(entry.get("emotion", "")),
            "text": str(entry.get("text", "")),
            "num_frames": t,
            "fps": float(cfg.video.fps),
            "token_rate_factor": self.factor,
            "mouth": track.mouth.astype(np.uint8),
            "detected": track.detected.astype(bool),
            **visual_features(track, cfg, dcfg),
            "units": units,
            "unit_source": unit_source,
            **self.audio_features(wav, num_tokens),
            **{f"codec_{k}": v for k, v in self.identity.items()},
        }
        check_lengths(arrays)
        return arrays
