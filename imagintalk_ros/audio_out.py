"""Optional playback of the speech on the machine's sound device (parameter play_audio)."""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


class AudioOut:
    """Plays float32 mono speech without blocking; without a usable device it warns once and stays quiet."""

    def __init__(self, device: str = "", logger=None) -> None:
        self.device: str | int | None = int(device) if device.isdigit() else (device or None)
        self.logger = logger or log
        self.failed = False
        self._sd = None

    def play(self, wav: np.ndarray, sample_rate: int) -> bool:
        """Start playing ``wav`` [N]; False (after one warning) when there is no sound device."""
        if self.failed:
            return False
        try:
            if self._sd is None:
                import sounddevice

                self._sd = sounddevice
            self._sd.play(np.asarray(wav, np.float32), int(sample_rate), device=self.device)
            return True
        except Exception as exc:  # no PortAudio, no device, device busy: speech still goes to ~/speech
            self.failed = True
            self.logger.warning(f"play_audio: cannot play on the sound device ({exc}); not playing any more")
            return False
