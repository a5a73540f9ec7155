"""The outside judges (pretrained models the project did not train), each loaded once."""

from __future__ import annotations

import functools

from ..errors import DependencyError
from .asr import Recognizer


class Judges:
    """Lazily built pocketsphinx recognisers and the resemblyzer speaker encoder."""

    @functools.cache  # noqa: B019 - one Judges object lives for a whole evaluation
    def recognizer(self, mode: str):
        return Recognizer(mode)

    @functools.cached_property
    def voice_encoder(self):
        try:
            import torch
            from resemblyzer import VoiceEncoder
        except ImportError:
            raise DependencyError("resemblyzer is not installed; pip install -e '.[eval]'") from None
        torch.set_num_threads(1)
        return VoiceEncoder("cpu", verbose=False)
