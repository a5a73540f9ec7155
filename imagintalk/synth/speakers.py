"""The speaker table: one parameter vector per identity drives both voice and face.

Each speaker is a point ``u`` in the unit cube (a Halton sequence, so the pool covers the
cube evenly). Voice dimensions: gender-like class and stock variant, vocal-tract length,
pitch, pitch range, rate. Appearance-only dimensions: skin tone, hair colour. The last
``num_test_speakers`` identities are the test split's; their ``u`` is squeezed into the
inner 80 % of the training speakers' range on every dimension, so an unseen test voice is
an interpolation between training voices, never an extrapolation. The table depends on
the config only (never on the corpus seed): train, val and test corpora made with
different seeds still share the same identities. ``extra_train_speakers`` appends more
training-only identities (the Halton sequence continued past the pool, unsqueezed); they never
change the pool's rows, so the test voices stay the same. ``num_val_speakers`` (> 0) gives the
val split its own held-out identities, the pool's rows just before the test ones, and takes them
out of train; the table itself (and so every voice) is unchanged.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import InputError
from ..settings.synth import SynthConfig

MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m6")
FEMALE_VARIANTS = ("f1", "f2", "f3", "f4")
DIMENSIONS = ("gender", "variant", "tract_length", "pitch", "pitch_range", "rate", "skin_tone", "hair_colour")
_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19)
# physical ranges of the continuous voice dimensions (kept moderate: speech stays intelligible)
TRACT_RANGE = (0.90, 1.10)
PITCH_RANGE = (30.0, 70.0)  # espeakPITCH, 0-100
RANGE_RANGE = (35.0, 75.0)  # espeakRANGE, 0-100
RATE_RANGE = (140.0, 170.0)  # espeakRATE, words per minute


def _halton(index: int, base: int) -> float:
    result, fraction = 0.0, 1.0
    while index > 0:
        fraction /= base
        result += fraction * (index % base)
        index //= base
    return result


@lru_cache(maxsize=8)
def _unit_table(num_speakers: int, num_test_speakers: int) -> np.ndarray:
    """[num_speakers, len(DIMENSIONS)] unit-cube coordinates, test rows squeezed inside train."""
    table = np.array([[_halton(i + 1, p) for p in _PRIMES] for i in range(num_speakers)])
    num_train = num_speakers - num_test_speakers
    low, high = table[:num_train].min(0), table[:num_train].max(0)
    inner_low, inner_high = low + 0.1 * (high - low), high - 0.1 * (high - low)
    test = table[num_train:]
    table[num_train:] = inner_low + test * (inner_high - inner_low)
    return table


def _extra_row(index: int) -> np.ndarray:
    """Unit-cube coordinates of training-only speaker ``index`` (>= the pool size)."""
    return np.array([_halton(index + 1, p) for p in _PRIMES])


def _lerp(bounds: tuple[float, float], t: float) -> float:
    return bounds[0] + (bounds[1] - bounds[0]) * float(t)


def check_pool(cfg: SynthConfig) -> None:
    if cfg.num_test_speakers < 1 or cfg.num_speakers - cfg.num_test_speakers < 2:
        raise InputError(
            f"speaker pool of {cfg.num_speakers} with {cfg.num_test_speakers} test speakers: "
            "need at least 1 test and 2 train/val speakers"
        )
    if cfg.num_val_speakers < 0 or cfg.num_speakers - cfg.num_test_speakers - cfg.num_val_speakers < 2:
        raise InputError(
            f"num_val_speakers {cfg.num_val_speakers} with a pool of {cfg.num_speakers} and "
            f"{cfg.num_test_speakers} test speakers: need >= 0 and at least 2 training speakers left"
        )
    if cfg.extra_train_speakers < 0:
        raise InputError(f"extra_train_speakers must be >= 0, got {cfg.extra_train_speakers}")


def speaker_ids(split: str, cfg: SynthConfig) -> list[int]:
    """Indices of the speakers a split may use (test: the last num_test_speakers of the pool;
    val: the num_val_speakers before them, or, when 0, the rest of the pool as train;
    train: the rest of the pool and the extra training speakers)."""
    check_pool(cfg)
    num_trainval = cfg.num_speakers - cfg.num_test_speakers
    num_train = num_trainval - cfg.num_val_speakers
    if split == "test":
        return list(range(num_trainval, cfg.num_speakers))
    if split == "val":
        return list(range(num_train if cfg.num_val_speakers else 0, num_trainval))
    extra = range(cfg.num_speakers, cfg.num_speakers + cfg.extra_train_speakers)
    return [*range(num_train), *extra]


def check_only_speaker(split: str, cfg: SynthConfig) -> None:
    """``only_speaker`` (when set) must be one of the split's speakers."""
    if cfg.only_speaker == -1:
        return
    ids = speaker_ids(split, cfg)
    if cfg.only_speaker not in ids:
        # the split's indices as runs, e.g. "0-31, 40-59" for train with extra speakers
        starts = [i for i in ids if i - 1 not in ids]
        runs = [f"{a}-{next(b for b in ids[ids.index(a) :] if b + 1 not in ids)}" for a in starts]
        choices = ", ".join(runs)
        raise InputError(
            f"speaker {cfg.only_speaker} is not one of the {split} split's speakers; choose from {choices}"
        )


def speaker_params(index: int, cfg: SynthConfig) -> dict[str, Any]:
    """The parameter vector of speaker ``index`` (voice and appearance), JSON-serialisable."""
    check_pool(cfg)
    total = cfg.num_speakers + cfg.extra_train_speakers
    if not 0 <= index < total:
        raise InputError(f"speaker index {index} outside the pool of {total}")
    row = (
        _unit_table(cfg.num_speakers, cfg.num_test_speakers)[index]
        if index < cfg.num_speakers
        else _extra_row(index)
    )
    u = dict(zip(DIMENSIONS, row))
    female = u["gender"] >= 0.5
    variants = FEMALE_VARIANTS if female else MALE_VARIANTS
    # the variant coordinate is read within the gender half so both halves use every variant
    variant_index = min(int(u["variant"] * len(variants)), len(variants) - 1)
    return {
        "speaker": f"spk{index:02d}",
        "index": index,
        "unit": {k: round(float(v), 6) for k, v in u.items()},
        "gender": "female" if female else "male",
        "variant": variants[variant_index],
        "variant_index": variant_index,
        "tract_length": round(_lerp(TRACT_RANGE, u["tract_length"]), 4),
        "pitch": round(_lerp(PITCH_RANGE, u["pitch"]), 2),
        "pitch_range": round(_lerp(RANGE_RANGE, u["pitch_range"]), 2),
        "rate": round(_lerp(RATE_RANGE, u["rate"]), 2),
        "skin_tone": round(float(u["skin_tone"]), 4),
        "hair_colour": round(float(u["hair_colour"]), 4),
    }
