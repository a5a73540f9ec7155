"""A prompt's training targets: its units from the text, their timing from the lip aligner itself."""

from __future__ import annotations

import numpy as np
import torch

from ..models.lip import LipAligner
from ..synth.speech import typed_speech
from ..units.forced import forced_align
from ..units.frames import frame_units

_RATE = 16000  # espeak's audio is resampled to this and discarded; only the phoneme order is kept


def prompt_units(text: str) -> list[int]:
    """The units of ``text`` in order (espeak-ng phonemes -> units, runs collapsed, pauses kept)."""
    speech = typed_speech(text, _RATE, 25, 0.0)
    units = frame_units(speech.phonemes, speech.num_frames * 8, 200, source="espeak")  # 5 ms steps
    collapsed = [int(units[0])] if len(units) else []
    for unit in units[1:]:
        if unit != collapsed[-1]:
            collapsed.append(int(unit))
    return collapsed


@torch.no_grad()
def unit_log_posteriors(lip: LipAligner, features: torch.Tensor) -> np.ndarray:
    """Front-end features [T, C] -> the aligner's log-posteriors over units [u T, U]."""
    vectors = lip.from_frame_features(features[None])  # [1, u T, D_unit]
    logits = lip.visual_logits(vectors)[0]  # [u T, U]
    return torch.log_softmax(logits.float(), dim=-1).cpu().numpy()


def align_clip(lip: LipAligner, features: torch.Tensor, units: list[int]) -> np.ndarray:
    """The prompt's units placed on the clip's steps: targets [u T] int64 (Viterbi, units.forced)."""
    return forced_align(unit_log_posteriors(lip, features), units)
