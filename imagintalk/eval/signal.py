"""A waveform under evaluation, with its analyses computed once and cached.

Several metrics share one analysis (F0 feeds F0 RMSE, V/UV error and the prosody
descriptors), so a :class:`Signal` computes each on first use.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .audio import is_silent

FRAME_PERIOD_MS = 10.0  # F0 / energy analysis hop
F0_FLOOR, F0_CEIL = 60.0, 600.0  # Hz: covers low male voices to high child/espeak voices


class Signal:
    """Mono float32 audio ``wav [N]`` at ``sample_rate`` plus cached analyses."""

    def __init__(self, wav: np.ndarray, sample_rate: int) -> None:
        self.wav = np.asarray(wav, dtype=np.float32).reshape(-1)
        self.sample_rate = sample_rate
        self.cache: dict[str, Any] = {}  # per-judge memos (speaker embedding, transcripts)

    @property
    def duration(self) -> float:
        return self.wav.shape[0] / self.sample_rate

    @functools.cached_property
    def silent(self) -> bool:
        return is_silent(self.wav)

    @functools.cached_property
    def f0(self) -> np.ndarray:
        """F0 in Hz per 10 ms frame, 0 where unvoiced (WORLD harvest): float64 [F]."""
        import pyworld

        if self.silent:
            return np.zeros(int(self.duration * 1000 / FRAME_PERIOD_MS) + 1)
        f0, _ = pyworld.harvest(
            self.wav.astype(np.float64),
            self.sample_rate,
            f0_floor=F0_FLOOR,
            f0_ceil=F0_CEIL,
            frame_period=FRAME_PERIOD_MS,
        )
        return f0

    @property
    def voiced(self) -> np.ndarray:
        """bool [F]: harvest's voicing decision per 10 ms frame."""
        return self.f0 > 0

    @functools.cached_property
    def energy_db(self) -> np.ndarray:
        """Frame RMS level in dBFS per 10 ms frame (25 ms window): float64 [F]."""
        hop = int(self.sample_rate * FRAME_PERIOD_MS / 1000)
        win = int(self.sample_rate * 0.025)
        x = np.pad(self.wav.astype(np.float64), (win // 2, win // 2))
        n = max(1, 1 + (len(x) - win) // hop)
        frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop][:n]
        rms = np.sqrt(np.mean(frames**2, axis=1))
        return 20.0 * np.log10(np.maximum(rms, 1e-10))
