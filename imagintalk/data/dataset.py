"""``FeatureDataset``: the prepared feature files of a data dir as a torch Dataset.

Each item is a dict of numpy arrays for one clip (or one window of it): frame-rate arrays
[T, ...], token-rate arrays [rT, ...] (r = token_rate_factor, 2 at 25 fps / 50 Hz) and
per-clip values. With ``window_frames`` W, a clip longer than W is cut to W frames at a
random start and its tokens to the matching r * W; the start depends only on
(seed, epoch, index), so a run is reproducible and resumable (call ``set_epoch``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from ..errors import InputError
from ..features.prosody import (
    ENERGY_UNIT_DB,
    SEMITONES_PER_OCTAVE,
    ProsodyContours,
    contour_level,
    cue_labels,
    relative_targets,
    speaker_levels,
    targets_from_contours,
)
from .codec_identity import check_same_codec, read_pinned
from .feature_file import CODEC_FILE, CONTOUR_KEYS, FEATURES_DIR, PROSODY_KEYS, read_features
from .feature_store import FeatureRef, list_clips

FRAME_KEYS = ("mouth", "detected", "expression")
RELATIVE_KEYS = ("rel_f0", "rel_energy")  # speaker-free targets (features.prosody.relative_targets)
CUE_TOKEN_KEYS = ("emphasis", "question", "word_index")  # word cues, -1 where the clip has none
TOKEN_KEYS = ("units", "codes", *PROSODY_KEYS, *RELATIVE_KEYS, *CUE_TOKEN_KEYS)  # codes: token axis last
CLIP_KEYS = ("face_crops", "identity", "speaker_embedding", "id", "speaker", "emotion", "split", "num_frames")
IDENTITY_KEYS = ("codec_name", "codec_fingerprint", "token_rate_factor", "split", "speaker")


def list_feature_files(data_dir: Path) -> list[FeatureRef]:
    """Every prepared clip of ``data_dir`` (loose or packed, ``feature_store``), sorted by id."""
    missing = f"no feature files in {data_dir / FEATURES_DIR}; run: imagintalk prepare {data_dir}"
    return list_clips(data_dir, missing)


class FeatureDataset(Dataset):
    """Clips of ``data_dir/features`` (optionally one split), whole or as random windows.

    ``emotions``: the label list that ``emotion`` indexes (unknown labels get -100, the ignore index).
    ``prosody_reference``: "utterance" (targets as stored) or "speaker" (relative to each
    speaker's mean level over this dataset, via ``features.prosody.speaker_levels``).

    Every item also holds the speaker-free targets ``rel_f0`` (semitones from the utterance's
    median F0) and ``rel_energy`` (dB from its mean speech energy), and the word cues
    ``emphasis`` / ``question`` (1 on the emphasised / a question's last word, 0 elsewhere; -1
    on every token of a clip prepared without cues) and ``word_index``: see ``add_prosody_targets``.
    """

    def __init__(
        self,
        data_dir: str | Path,
        split: str | None = None,
        window_frames: int | None = None,
        seed: int = 0,
        emotions: list[str] | tuple[str, ...] = ("neutral", "happy", "sad", "angry"),
        prosody_reference: str = "utterance",
    ) -> None:
        self.data_dir = Path(data_dir)
        if window_frames is not None and window_frames < 1:
            raise InputError(f"window_frames must be positive, got {window_frames}")
        if prosody_reference not in ("utterance", "speaker"):
            raise InputError(f"prosody_reference must be 'utterance' or 'speaker', not {prosody_reference!r}")
        self.window_frames, self.seed, self.epoch = window_frames, seed, 0
        self.emotions = list(emotions)
        files = list_feature_files(self.data_dir)
        pinned = read_pinned(self.data_dir / FEATURES_DIR / CODEC_FILE)
        self.files: list[FeatureRef] = []  # plain data: safe to send to DataLoader workers
        self.speakers: list[str] = []
        for path in files:
            info = read_features(path, IDENTITY_KEYS)
            found = {"name": info["codec_name"], "fingerprint": info["codec_fingerprint"]}
            pinned = pinned or found
            check_same_codec(pinned, found, str(path))
            if split is None or info["split"] == split:
                self.files.append(path)
                self.speakers.append(str(info["speaker"]))
                self.token_rate_factor = int(info["token_rate_factor"])
        if not self.files:
            raise InputError(f"no feature files of split {split!r} in {self.data_dir / FEATURES_DIR}")
        self.codec = pinned
        self.levels = self._speaker_levels() if prosody_reference == "speaker" else None

    def _speaker_levels(self) -> dict[str, Any]:
        levels = []
        for path in self.files:
            c = read_features(path, CONTOUR_KEYS)
            levels.append(contour_level(ProsodyContours(c["f0_hz"], c["energy_db"])))
        return speaker_levels(levels, self.speakers)

    def set_epoch(self, epoch: int) -> None:
        """Draw new windows: the window of item i depends on (seed, epoch, i) only."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.files)

    def _window(self, index: int, num_frames: int) -> tuple[int, int]:
        w = self.window_frames
        if w is None or num_frames <= w:
            return 0, num_frames
        rng = np.random.default_rng([self.seed, self.epoch, index])
        start = int(rng.integers(0, num_frames - w + 1))
        return start, start + w

    def __getitem__(self, index: int) -> dict[str, Any]:
        """One clip (window): frame arrays [W, ...], token arrays [..., rW], per-clip values."""
        data = read_features(self.files[index])
        if self.levels is not None:
            contours = ProsodyContours(data["f0_hz"], data["energy_db"])
            level = self.levels[str(data["speaker"])]
            data.update(targets_from_contours(contours, level, len(data["units"])))
        add_prosody_targets(data)
        start, end = self._window(index, int(data["num_frames"]))
        r = int(data["token_rate_factor"])
        item: dict[str, Any] = {k: data[k][start:end] for k in FRAME_KEYS}
        item.update({k: data[k][..., r * start : r * end] for k in TOKEN_KEYS})
        item.update({k: data[k] for k in CLIP_KEYS})
        item["emotion_index"] = (
            self.emotions.index(data["emotion"]) if data["emotion"] in self.emotions else -100
        )
        item["window_start"] = start
        item["token_rate_factor"] = r
        return item


def add_prosody_targets(data: dict[str, Any]) -> None:
    """Add the relative targets and word cues (``RELATIVE_KEYS``, ``CUE_TOKEN_KEYS``, [rT] each)
    to a clip's features, in place, from the whole utterance (before any window is cut).

    Files without the absolute contours fall back to the stored utterance-relative targets
    (mean- rather than median-referenced); files without word cues get -1 (no label)."""
    num_tokens = len(data["units"])
    if "f0_hz" in data and "energy_db" in data:
        data.update(relative_targets(data["f0_hz"], data["energy_db"]))
    else:
        voiced = np.asarray(data["voiced"]) > 0.5
        rel_f0 = np.where(voiced, SEMITONES_PER_OCTAVE * np.asarray(data["log_f0"]), 0.0)
        data["rel_f0"] = rel_f0.astype(np.float32)
        data["rel_energy"] = (ENERGY_UNIT_DB * np.asarray(data["energy"])).astype(np.float32)
    if "word_index" in data:
        emphasis = int(data["emphasis_word"])
        data.update(
            cue_labels(data["word_index"], emphasis if emphasis >= 0 else None, bool(data["is_question"]))
        )
        data["word_index"] = np.asarray(data["word_index"], np.int64)
    else:
        data["emphasis"] = np.full(num_tokens, -1.0, np.float32)
        data["question"] = np.full(num_tokens, -1.0, np.float32)
        data["word_index"] = np.full(num_tokens, -1, np.int64)
