"""Training the ``world_rvq`` codec from generated speech (``imagintalk train-codec``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..settings.codec import CodecConfig
from .corpus import load_corpus, plan_corpus
from .rvq import train_rvq
from .world_features import FeatureSpec, world_analysis, world_to_features
from .world_rvq import WorldRVQCodec, feature_weights

MEAN_CLIP_SECONDS = 3.0  # espeak-ng / flite clips of 6-12 words last about this long
WARP_ALPHA_RANGE = (0.30, 0.54)  # all-pass constants: vocal tracts shorter / longer than the voice's
F0_SCALE_RANGE = (0.75, 1.3)
TILT_RANGE = (-0.25, 0.25)  # added to c1: a brighter or duller spectral slope


def augmented_features(wav: np.ndarray, spec: FeatureSpec, copies: int, rng: np.random.Generator) -> list:
    """wav [N] -> [original features [T, D]] + ``copies`` randomly warped versions."""
    f0, sp, ap, num_frames = world_analysis(wav, spec)
    out = [world_to_features(f0, sp, ap, num_frames, spec)]
    for _ in range(copies):
        alpha = float(rng.uniform(*WARP_ALPHA_RANGE))
        scale = float(np.exp(rng.uniform(np.log(F0_SCALE_RANGE[0]), np.log(F0_SCALE_RANGE[1]))))
        feats = world_to_features(f0, sp, ap, num_frames, spec, warp_alpha=alpha, f0_scale=scale)
        feats[:, 1] += rng.uniform(*TILT_RANGE)
        out.append(feats)
    return out


def _drop_silence(feats: np.ndarray, floor: float) -> np.ndarray:
    """Keep frames whose log energy c0 is above ``floor``: silence would waste codewords."""
    return feats[feats[:, 0] > floor]


def train_world_rvq(cfg: CodecConfig, seed: int = 0, progress: bool = True) -> WorldRVQCodec:
    """Generate speech, extract (augmented) features, fit the RVQ: -> a trained codec."""
    start = time.time()
    spec = FeatureSpec(sample_rate=cfg.sample_rate, frame_rate=cfg.frame_rate)
    num_clips = max(4, int(round(cfg.train_minutes * 60 / MEAN_CLIP_SECONDS)))
    clips = plan_corpus(num_clips, seed)
    rng = np.random.default_rng(seed + 1)
    feats, seconds = [], 0.0
    for _, wav in load_corpus(clips, Path(cfg.train_cache), spec.sample_rate, progress):
        seconds += len(wav) / spec.sample_rate
        feats.extend(augmented_features(wav, spec, cfg.train_augment, rng))
    data = np.concatenate(feats)
    # silence floor: well below speech energy but keep some near-silent frames (pauses)
    floor = float(np.quantile(data[:, 0], 0.05))
    data = _drop_silence(data, floor)
    mean = data.mean(0)
    weights = feature_weights(spec)
    space = (data - mean) * weights
    rvq = train_rvq(
        space, cfg.num_codebooks, cfg.cardinality, cfg.kmeans_iterations, seed, progress,
        full_levels=cfg.full_levels, groups=spec.groups(),
    )  # fmt: skip
    meta = {
        "training": {
            "seed": seed,
            "clips": len(clips),
            "speech_seconds": round(seconds, 1),
            "vectors": len(data),
            "augment_copies": cfg.train_augment,
            "kmeans_iterations": cfg.kmeans_iterations,
            "full_levels": cfg.full_levels,
            "excluded_voices": ["flite awb (the ARCTIC speaker of the held-out arctic_a0007.wav)"],
            "train_seconds": round(time.time() - start, 1),
        }
    }
    return WorldRVQCodec(spec, rvq, mean, weights, cfg.postfilter, meta)
