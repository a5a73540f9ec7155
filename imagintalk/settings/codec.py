"""Settings of the speech codec (the token space)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CodecConfig:
    name: str = "world_rvq"  # world_rvq | dac | encodec
    path: str = ""  # directory with config.json + weights; "" = the shipped default
    # dac / encodec without a path would be built with RANDOM weights (noise out): refused unless
    # this is set. For tests of shapes and plumbing only, never for preparing data or speaking.
    allow_random_weights: bool = False
    sample_rate: int = 16000
    frame_rate: int = 50  # tokens per second; a whole multiple of 25
    num_codebooks: int = 12  # RVQ levels (K)
    cardinality: int = 1024  # entries per level
    # world_rvq training (imagintalk train-codec)
    train_minutes: float = 10.0  # minutes of generated training speech (espeak-ng + flite)
    train_augment: int = 3  # warped copies (vocal tract length, F0, tilt) per clip
    kmeans_iterations: int = 20
    postfilter: float = 1.2  # decode: mel-cepstral orders >= 13 sharpened by this factor (1 = off)
    full_levels: int = 4  # RVQ levels over the whole vector; later levels code one feature group
    train_cache: str = "data/codec_corpus"  # rendered training speech (git-ignored)
