"""Settings of the evaluation harness."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EvalConfig:
    metrics: list[str] = field(
        default_factory=lambda: [
            "wer_grammar",
            "wer_open",
            "stoi",
            "estoi",
            "pesq",
            "spk_sim",
            "f0_rmse",
            "vuv_error",
            "emo_sim",
            "emo_acc",
        ]
    )
    sample_rate: int = 16000
    # a Whisper checkpoint folder the user owns (save_pretrained layout) for ``wer_whisper``;
    # "" = none: WER by pocketsphinx only
    asr_model: str = ""
    asr_device: str = "auto"  # auto (CUDA when present), cpu or cuda
