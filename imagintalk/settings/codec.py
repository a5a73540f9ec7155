"""Settings of the speech codec (the token space)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CheckpointError

PRETRAINED_CODECS = {"dac": "DAC 16 kHz", "encodec": "EnCodec 24 kHz"}  # weights the user must own


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

    def check_weights(self) -> None:
        """Raise CheckpointError when a pretrained codec (dac / encodec) has no weights to load.

        Torch-free, so that preparing, training and speaking refuse in milliseconds, before any
        network or the codec itself is built. ``allow_random_weights`` (tests only) lets it pass.
        """
        if self.name not in PRETRAINED_CODECS or self.path or self.allow_random_weights:
            return
        raise CheckpointError(
            f"codec {self.name!r} needs its weights: point at a local directory holding a "
            f"{PRETRAINED_CODECS[self.name]} checkpoint in transformers save_pretrained layout "
            "(config.json + model.safetensors) with --codec DIR or --set codec.path=DIR when preparing "
            "and training (the model dir records it as codec.path for speaking); without weights its "
            "output would be noise (codec.allow_random_weights=true builds it anyway, for tests only)"
        )
