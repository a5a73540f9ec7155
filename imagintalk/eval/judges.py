"""The judges, each loaded once: outside pretrained models, and the project's own emotion judge."""

from __future__ import annotations

import functools
from pathlib import Path

from ..errors import DependencyError, InputError
from .asr import Recognizer
from .emotion_judge import DEFAULT_JUDGE, EmotionJudge
from .whisper import WhisperRecognizer


class Judges:
    """Lazily built pocketsphinx recognisers, the user's Whisper (``asr_model``, a local
    checkpoint folder), the resemblyzer speaker encoder and the emotion judge (a JSON file)."""

    def __init__(
        self,
        asr_model: str | Path | None = None,
        asr_device: str = "auto",
        emotion_judge: str | Path = DEFAULT_JUDGE,
    ) -> None:
        self.asr_model = Path(asr_model) if asr_model else None
        self.asr_device = asr_device
        self.emotion_judge_path = Path(emotion_judge)

    @functools.cache  # noqa: B019 - one Judges object lives for a whole evaluation
    def recognizer(self, mode: str):
        return Recognizer(mode)

    @functools.cached_property
    def whisper(self) -> WhisperRecognizer:
        if self.asr_model is None:
            raise InputError("metric wer_whisper needs a Whisper checkpoint (--asr-model DIR)")
        return WhisperRecognizer(self.asr_model, self.asr_device)

    @functools.cached_property
    def emotion_judge(self) -> EmotionJudge:
        """The project's own prosody emotion classifier (models/judges/emotion.json)."""
        return EmotionJudge.load(self.emotion_judge_path)

    @functools.cached_property
    def voice_encoder(self):
        try:
            import torch
            from resemblyzer import VoiceEncoder
        except ImportError:
            raise DependencyError("resemblyzer is not installed; pip install -e '.[eval]'") from None
        torch.set_num_threads(1)
        return VoiceEncoder("cpu", verbose=False)
