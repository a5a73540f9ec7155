"""Everything the three training stages need from one clip, computed once.

A :class:`ClipExtractor` holds the loaded models (face detector, codec; the feature
extractors load themselves once per process) and turns a manifest entry into the arrays
of a feature file (see ``feature_file``). Video: the front door (mouth ROIs, aligned face
crops, landmarks) -> dlib descriptor, fer expression. Audio: codec codes, resemblyzer
speaker embedding, WORLD prosody. Units: the manifest's espeak phonemes, or a
pocketsphinx alignment of its ``text`` when it has no phonemes, or (neither, e.g. MEAD) the
phones pocketsphinx recognises in the audio alone unless ``units.without_transcript`` refuses.
The expression features are as wide as ``style.expression_dim`` asks (7 or 135).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..codec.audio import read_audio_native, resample
from ..codec.base import Codec
from ..errors import InputError, NoFaceError
from ..features import speaker_embedding
from ..features.extractors import check_extractors, extractor_signature
from ..features.prosody import prosody_contours, targets_from_contours, word_token_index
from ..features.visual import visual_features
from ..settings import Config
from ..settings.data import DataConfig
from ..units import align_transcript, frame_units
from ..units.recognise import PhoneRecognizer
from ..video.detectors import build_detector
from ..video.frontdoor import process_video
from .codec_identity import codec_identity, token_rate_factor
from .feature_file import FORMAT_VERSION, check_lengths

if TYPE_CHECKING:
    pass


# Why a clip is skipped: every InputError the extractor raises for a clip it cannot use starts
# with one of these labels and ": " (``skip_kind`` reads it back; anything else is "other").
NO_FACE = "no face"
SEVERAL_FACES = "several faces"
SILENT_AUDIO = "silent audio"
CLIPPED_AUDIO = "clipped audio"
LENGTH_MISMATCH = "audio/video length mismatch"
TOO_SHORT = "too short"
UNREADABLE = "unreadable"
OTHER = "other"
SKIP_KINDS = (NO_FACE, SEVERAL_FACES, SILENT_AUDIO, CLIPPED_AUDIO, LENGTH_MISMATCH, TOO_SHORT, UNREADABLE)

# Thresholds of those checks (documented in docs/training_data.md).
SILENCE_DBFS = -60.0  # audio whose RMS over the whole clip is below this is silent
CLIP_LEVEL = 0.999  # a sample this close to full scale (|x| >= it, at the file's own rate) is clipped
MAX_CLIPPED_SHARE = 0.01  # more than this share of clipped samples: the audio is clipped
MAX_LENGTH_DIFF_S = 0.2  # audio and video durations may differ by max(this, MAX_LENGTH_DIFF_SHARE
MAX_LENGTH_DIFF_SHARE = 0.1  # of the video's duration); more is a mismatch (wrong or cut file)
MAX_SEVERAL_FACES_SHARE = 0.5  # more source frames than this share with more than one face


def skip_kind(message: str) -> str:
    """A skipped clip's one-line error -> its kind (one of SKIP_KINDS, else OTHER)."""
    return next((kind for kind in SKIP_KINDS if message.startswith(kind + ":")), OTHER)


def word_cues(entry: dict[str, Any], num_tokens: int, frame_rate: float) -> dict[str, Any]:
    """The word-level prosody cues of an expressive manifest entry (one with an ``emphasis`` key,
    docs/synthtalk.md): ``word_index`` int16 [num_tokens] (the word under each token, -1 between
    words), ``emphasis_word`` (its index, -1 for none) and ``is_question`` (1 when ``contour`` is
    "question"). Plain entries give nothing, so their feature files keep exactly their old keys."""
    if "emphasis" not in entry:
        return {}
    words = entry.get("words") or []
    if not isinstance(words, list) or not all(
        isinstance(w, dict) and {"start", "end"} <= w.keys() for w in words
    ):
        raise InputError("manifest entry has 'emphasis' but its 'words' lack start / end times")
    emphasis = entry["emphasis"]
    if emphasis is not None and not (isinstance(emphasis, int) and 0 <= emphasis < len(words)):
        raise InputError(f"manifest 'emphasis' {emphasis!r} is not a word index below {len(words)}")
    return {
        "word_index": word_token_index(words, num_tokens, frame_rate),
        "emphasis_word": -1 if emphasis is None else int(emphasis),
        "is_question": int(entry.get("contour") == "question"),
    }


def check_audio(wav: np.ndarray, sample_rate: int, video_s: float) -> None:
    """Raise a labelled InputError for audio that is silent, clipped or not as long as the video.

    ``wav`` is the file's audio at its own ``sample_rate`` (before any resampling, which would
    smear the flat tops of clipped samples)."""
    audio_s = wav.size / sample_rate
    tolerance = max(MAX_LENGTH_DIFF_S, MAX_LENGTH_DIFF_SHARE * video_s)
    if abs(audio_s - video_s) > tolerance:
        raise InputError(
            f"{LENGTH_MISMATCH}: audio {audio_s:.2f} s, video {video_s:.2f} s "
            f"(more than {tolerance:.2f} s apart)"
        )
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if wav.size else 0.0
    dbfs = 20 * np.log10(max(rms, 1e-10))
    if dbfs < SILENCE_DBFS:
        raise InputError(f"{SILENT_AUDIO}: RMS {dbfs:.1f} dBFS (below {SILENCE_DBFS:.0f} dBFS)")
    clipped = float(np.mean(np.abs(wav) >= CLIP_LEVEL))
    if clipped > MAX_CLIPPED_SHARE:
        raise InputError(
            f"{CLIPPED_AUDIO}: {100 * clipped:.1f}% of the samples at full scale "
            f"(at most {100 * MAX_CLIPPED_SHARE:.0f}%)"
        )


def pad_or_trim(values: np.ndarray, length: int, fill: float = 0) -> np.ndarray:
    """Last axis of ``values`` padded with ``fill`` / cut to exactly ``length``."""
    out = np.full((*values.shape[:-1], length), fill, dtype=values.dtype)
    n = min(length, values.shape[-1])
    out[..., :n] = values[..., :n]
    return out


class ClipExtractor:
    """Manifest entry -> feature arrays; models are loaded once per instance / process."""

    def __init__(self, cfg: Config, codec: Codec, data_cfg: DataConfig | None = None) -> None:
        self.cfg = cfg
        self.data_cfg = data_cfg or DataConfig()
        self.codec = codec
        self.identity = codec_identity(codec)
        self.factor = token_rate_factor(codec.frame_rate, cfg.video.fps, cfg.units.frame_rate)
        self.detector = build_detector(cfg.video.detector, upsample=cfg.video.upsample)
        cfg.units.validate()
        check_extractors(cfg.style)  # a bad extractor name, file or width fails before any clip
        self.face_extractors = extractor_signature(cfg.style)
        self._phones: PhoneRecognizer | None = None  # built on the first clip without a transcript

    def units(
        self, entry: dict[str, Any], wav: np.ndarray, sr: int, num_tokens: int
    ) -> tuple[np.ndarray, str]:
        """Units int16 [num_tokens] and their source ("phonemes", "alignment" or "recognised")."""
        rate = float(self.codec.frame_rate)
        if entry.get("phonemes"):
            segments, source, kind = entry["phonemes"], "phonemes", "espeak"
        elif str(entry.get("text", "")).strip():
            segments, source, kind = align_transcript(wav, sr, entry["text"]), "alignment", "arpabet"
        elif self.cfg.units.without_transcript == "refuse":
            raise InputError(
                "the manifest entry has neither 'phonemes' nor 'text' to derive units from "
                "(units.without_transcript = refuse)"
            )
        else:
            if self._phones is None:
                self._phones = PhoneRecognizer()
            segments, source, kind = self._phones.segments(wav, sr), "recognised", "arpabet"
        units = frame_units(segments, num_tokens, rate, source=kind)
        if source == "recognised" and not units.any():
            raise InputError("the phone recogniser found no speech to derive units from")
        return units.astype(np.int16), source

    def audio_features(self, wav: np.ndarray, num_tokens: int) -> dict[str, np.ndarray]:
        """wav [N] at the codec rate -> codes [K, num_tokens] int16, speaker embedding, prosody."""
        import torch

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
        cfg, dcfg = self.cfg, self.data_cfg
        for key in ("id", "video", "audio"):
            if not entry.get(key):
                raise InputError(f"manifest entry lacks {key!r}")
        try:
            track = process_video(data_dir / entry["video"], cfg.video, detector=self.detector)
        except NoFaceError as exc:
            raise InputError(f"{NO_FACE}: {exc}") from None
        except InputError as exc:
            kind = TOO_SHORT if "too short" in str(exc) else UNREADABLE
            raise InputError(f"{kind}: {exc}") from None
        if track.multiple_faces > MAX_SEVERAL_FACES_SHARE * track.num_source_frames:
            raise InputError(
                f"{SEVERAL_FACES}: {track.multiple_faces} of {track.num_source_frames} frames "
                f"show more than one face"
            )
        t = track.num_frames
        num_tokens = self.factor * t
        try:
            native, native_rate = read_audio_native(data_dir / entry["audio"])
        except InputError as exc:
            raise InputError(f"{UNREADABLE}: {exc}") from None
        check_audio(native, native_rate, t / cfg.video.fps)
        # the audio spans exactly the T frames: T * hop_per_frame samples, padded or cut (by at
        # most the tolerance check_audio allows)
        wav = resample(native, native_rate, self.codec.sample_rate)
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
            "face_extractors": self.face_extractors,
            **self.audio_features(wav, num_tokens),
            **word_cues(entry, num_tokens, float(self.codec.frame_rate)),
            **{f"codec_{k}": v for k, v in self.identity.items()},
        }
        check_lengths(arrays)
        return arrays
