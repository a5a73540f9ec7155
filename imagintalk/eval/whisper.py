"""Speech recognition for WER with a Whisper checkpoint the user owns (an outside judge).

The checkpoint is a local directory in Hugging Face's ``save_pretrained`` layout
(``WhisperForConditionalGeneration`` + ``WhisperProcessor``: config.json, the weights,
tokenizer and preprocessor files), loaded with ``local_files_only=True``: nothing is downloaded.
Decoding is greedy; multilingual checkpoints are told the speech is English.
Words are normalised like the pocketsphinx transcripts (``units.sphinx.normalize_text``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DependencyError, InputError
from ..units.sphinx import normalize_text
from .audio import resample

WHISPER_RATE = 16000
MAX_SECONDS = 30.0  # Whisper hears one 30 s window; longer clips are not scored (never cut short)
DEVICES = ("auto", "cpu", "cuda")
# what from_pretrained raises for a folder that is not a readable Whisper checkpoint
LOAD_ERRORS = (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError)


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; anything else is checked."""
    import torch

    if device not in DEVICES:
        raise InputError(f"unknown ASR device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("ASR device 'cuda' asked for, but torch sees no CUDA GPU")
    return device


class WhisperRecognizer:
    """One Whisper model, loaded once: ``transcribe(wav [N], sr) -> normalised words``."""

    def __init__(self, path: str | Path, device: str = "auto") -> None:
        path = Path(path).expanduser()
        if not path.is_dir():
            raise InputError(f"ASR model {path}: not a directory (a Whisper checkpoint's folder)")
        try:
            from transformers import WhisperForConditionalGeneration, WhisperProcessor
        except ImportError:
            raise DependencyError("transformers is not installed; pip install -e '.[eval]'") from None
        self.path, self.device = path, resolve_device(device)
        try:
            self.processor = WhisperProcessor.from_pretrained(path, local_files_only=True)
            model = WhisperForConditionalGeneration.from_pretrained(path, local_files_only=True)
        except LOAD_ERRORS as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputError(f"ASR model {path}: cannot load a Whisper checkpoint ({first})") from None
        self.model = model.to(self.device).eval()
        config = self.model.generation_config
        # a multilingual checkpoint guesses the language per clip unless told; English-only ones
        # (".en") refuse the argument
        self.language = (
            {"language": "en", "task": "transcribe"} if getattr(config, "lang_to_id", None) else {}
        )
        # the prompt takes a few of the decoder's positions; 224 tokens hold > 30 s of speech
        self.max_new_tokens = min(224, self.model.config.max_target_positions - 8)

    def transcribe(self, wav: np.ndarray, sr: int = WHISPER_RATE) -> list[str]:
        """Words of ``wav [N]`` at ``sr``; ValueError (-> an undefined score) beyond 30 s."""
        import torch

        x = resample(np.asarray(wav, dtype=np.float32).reshape(-1), sr, WHISPER_RATE)
        if x.size > MAX_SECONDS * WHISPER_RATE:
            raise ValueError(f"clip longer than Whisper's {MAX_SECONDS:g} s window")
        features = self.processor.feature_extractor(x, sampling_rate=WHISPER_RATE, return_tensors="pt")
        mel = features.input_features.to(self.device, dtype=self.model.dtype)  # [1, mels, 3000]
        with torch.inference_mode():
            ids = self.model.generate(
                mel, max_new_tokens=self.max_new_tokens, do_sample=False, num_beams=1, **self.language
            )
        text = self.processor.batch_decode(ids, skip_special_tokens=True)[0]
        return normalize_text(text)
