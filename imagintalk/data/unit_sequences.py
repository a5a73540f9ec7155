"""Unit sequences for the unit masked LM: from prepared clips and, cheaply, from text alone.

Extra sequences are GRID sentences of the trainval pool spoken by SynthTalk's espeak-ng
voices (``synth.speech.synthesize``: speech and phoneme events, no face rendering), turned
into units at the token rate. Speaker, emotion and sentence are drawn from one generator
seeded by ``seed``, so the extra set is the same on every run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import InputError
from ..settings.synth import SynthConfig
from ..synth.emotions import voice_settings
from ..synth.grid import sample_sentence
from ..synth.speakers import speaker_ids, speaker_params
from ..synth.speech import synthesize
from ..units import frame_units
from .collate import IGNORE_INDEX
from .dataset import list_feature_files
from .feature_file import read_features


def units_from_text(
    count: int, seed: int, cfg: SynthConfig | None = None, unit_rate: int = 50, progress: bool = True
) -> list[np.ndarray]:
    """``count`` unit sequences int64 [L_i] of random trainval GRID sentences spoken by espeak-ng."""
    from tqdm import tqdm

    cfg = cfg or SynthConfig()
    rng = np.random.default_rng([seed, 0x756E6974])  # "unit": apart from the clip generators
    pool = speaker_ids("train", cfg)
    out = []
    for _ in tqdm(range(count), desc="units from text", unit="sentence", disable=not progress):
        text = sample_sentence(rng, "train")
        speaker = speaker_params(int(rng.choice(pool)), cfg)
        emotion = str(cfg.emotions[rng.integers(len(cfg.emotions))])
        prosody = voice_settings(speaker, emotion, float(rng.uniform(0.6, 1.0)))
        speech = synthesize(text, speaker, prosody, cfg.sample_rate, cfg.fps, cfg.lead_silence_s)
        num_units = int(round(speech.num_frames * unit_rate / cfg.fps))
        out.append(frame_units(speech.phonemes, num_units, unit_rate, source="espeak"))
    return out


class UnitSequenceDataset(Dataset):
    """Unit sequences int64 [L] of the prepared clips (optionally one split) plus text-only extras.

    ``max_units``: longer sequences are cut to a random window (depends on seed, epoch, index).
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        split: str | None = None,
        extra_text_sequences: int = 0,
        max_units: int | None = None,
        seed: int = 0,
        synth_cfg: SynthConfig | None = None,
        unit_rate: int = 50,
        progress: bool = True,
    ) -> None:
        self.sequences: list[np.ndarray] = []
        if data_dir is not None:
            for path in list_feature_files(Path(data_dir)):
                info = read_features(path, ("units", "split"))
                if split is None or info["split"] == split:
                    self.sequences.append(info["units"].astype(np.int64))
        self.num_clip_sequences = len(self.sequences)
        if extra_text_sequences:
            self.sequences += units_from_text(extra_text_sequences, seed, synth_cfg, unit_rate, progress)
        if not self.sequences:
            raise InputError("no unit sequences: give a prepared data dir or extra_text_sequences > 0")
        if max_units is not None and max_units < 1:
            raise InputError(f"max_units must be positive, got {max_units}")
        self.max_units, self.seed, self.epoch = max_units, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int) -> dict[str, Any]:
        units = self.sequences[index]
        if self.max_units is not None and len(units) > self.max_units:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            start = int(rng.integers(0, len(units) - self.max_units + 1))
            units = units[start : start + self.max_units]
        return {"units": units}


def collate_units(batch: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """-> {"units": [B, L] long right-padded with -100, "attention_mask": [B, L] bool (True = real)}."""
    lengths = torch.tensor([len(item["units"]) for item in batch])
    units = torch.full((len(batch), int(lengths.max())), IGNORE_INDEX, dtype=torch.long)
    for row, item in enumerate(batch):
        units[row, : len(item["units"])] = torch.as_tensor(item["units"], dtype=torch.long)
    return {"units": units, "attention_mask": torch.arange(units.shape[1])[None] < lengths[:, None]}
