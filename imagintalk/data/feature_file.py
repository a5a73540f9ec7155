"""One clip's training features: a compressed ``.npz`` (no pickles) and its format checks.

Keys, shapes and dtypes (T video frames at ``fps``, r = ``token_rate_factor``, K codebooks):

    mouth [T, 96, 96] uint8        detected [T] bool           expression [T, E] float32
    face_crops [N, S, S, 3] uint8  face_crop_frames [N] int64  identity [128] float32
    units [rT] int16               codes [K, rT] int16         speaker_embedding [256] float32
    log_f0 / voiced / energy [rT] float32 (relative to the utterance's own level)
    f0_hz / energy_db [rT] float32 (absolute contours, for speaker-level and relative targets)
    expressive clips only (a manifest entry with ``emphasis``; issue 21): word_index [rT] int16
    (the word under each token, -1 between words), emphasis_word (-1: none), is_question (0 / 1)
    scalars: num_frames, fps, token_rate_factor, codec_num_codebooks, codec_cardinality,
             codec_frame_rate, codec_sample_rate, format_version
    strings: id, split, speaker, emotion, text, unit_source, codec_name, codec_fingerprint,
             face_extractors (features.extractors.extractor_signature; absent in older files)

docs/training_data.md describes each key.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImaginTalkError, InputError

FORMAT_VERSION = 2  # 2: expression is [T, style.expression_dim] (7 or 135)
FEATURES_DIR = "features"
CODEC_FILE = "codec.json"  # DIR/features/codec.json: the one codec every file of the dataset uses
PROSODY_KEYS = ("log_f0", "voiced", "energy")
CONTOUR_KEYS = ("f0_hz", "energy_db")
CUE_KEYS = ("word_index", "emphasis_word", "is_question")  # optional: expressive clips only
STRING_KEYS = (
    "id", "split", "speaker", "emotion", "text", "unit_source", "codec_name", "codec_fingerprint",
    "face_extractors",
)  # fmt: skip
REQUIRED_KEYS = (
    "mouth", "detected", "face_crops", "identity", "expression", "units", "codes", "speaker_embedding",
    *PROSODY_KEYS, "num_frames", "token_rate_factor", "codec_fingerprint",
)  # fmt: skip


def write_features(path: Path, arrays: dict[str, Any]) -> Path:
    """Write ``arrays`` to ``path`` as a compressed .npz, atomically (a crash leaves no half file)."""
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as handle:
            np.savez_compressed(handle, **{k: np.asarray(v) for k, v in arrays.items()})
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ImaginTalkError(f"cannot write feature file {path}: {exc}") from None
    return path


def _source(source: Any):
    """A path or a ``feature_store.FeatureRef`` (anything with ``open("rb")``) -> that object."""
    return Path(source) if isinstance(source, str) else source


def read_features(source: Any, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Load ``keys`` (default: all) of a clip's features (a file path, or a ``FeatureRef`` of a
    loose or packed clip); strings and 0-d arrays become Python values."""
    source = _source(source)
    try:
        with source.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            names = data.files if keys is None else keys
            out = {k: data[k] for k in names}
    except KeyError as exc:
        raise InputError(
            f"feature file {source} lacks {exc}; re-run: imagintalk prepare --overwrite"
        ) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read feature file {source}: {exc}") from None
    for key, value in out.items():
        if value.ndim == 0:
            out[key] = value.item()
    return out


def is_complete(source: Any) -> bool:
    """True when ``source`` is a readable feature file of this format version with every required key."""
    try:
        with _source(source).open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            return set(REQUIRED_KEYS) <= set(data.files) and int(data["format_version"]) == FORMAT_VERSION
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return False


def check_lengths(arrays: dict[str, Any]) -> None:
    """Raise InputError unless the frame and token axes agree (T frames, r * T tokens)."""
    t, r = int(arrays["num_frames"]), int(arrays["token_rate_factor"])
    frame_axes = {k: len(arrays[k]) for k in ("mouth", "detected", "expression")}
    token_keys = ("units", "codes", *PROSODY_KEYS, *(("word_index",) if "word_index" in arrays else ()))
    token_axes = {k: np.asarray(arrays[k]).shape[-1] for k in token_keys}
    bad = {k: v for k, v in frame_axes.items() if v != t} | {
        k: v for k, v in token_axes.items() if v != r * t
    }
    if bad:
        raise InputError(f"clip {arrays.get('id', '?')}: lengths {bad} do not match T={t}, {r}T={r * t}")
