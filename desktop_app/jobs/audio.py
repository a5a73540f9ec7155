"""Speech output: the output devices sounddevice sees, and a job that plays speech on one."""

from __future__ import annotations

import threading

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

BLOCK_S = 0.1  # written in blocks this long, so that a stop takes effect quickly


def output_devices() -> list[str]:
    """Names of the output devices (empty without a sound card, or without PortAudio)."""
    try:
        import sounddevice as sd

        return [d["name"] for d in sd.query_devices() if d["max_output_channels"] > 0]
    except Exception:  # OSError without libportaudio; PortAudioError on a broken ALSA setup
        return []


class AudioJob(QObject):
    """Plays one wav at a time on the chosen device; never raises into Qt.

    ``failed`` carries a plain-words reason (no output device, device busy); the speech is
    saved before it gets here, so a failure only means it was not heard.
    """

    started = pyqtSignal(int)  # history entry id
    finished = pyqtSignal(int)
    failed = pyqtSignal(int, str)

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()
        self.device = ""

    @pyqtSlot(str)
    def set_device(self, name: str) -> None:
        self.device = name

    def stop(self) -> None:
        """Thread-safe (called directly, not queued): end the current playback early."""
        self._stop.set()

    @pyqtSlot(int, object, int)
    def play(self, entry_id: int, wav: np.ndarray, sample_rate: int) -> None:
        """wav: float32 [N] in [-1, 1]."""
        self._stop.clear()
        try:
            import sounddevice as sd
        except OSError as exc:
            self.failed.emit(entry_id, f"Sound output is not available ({exc}). The speech was saved.")
            return
        if not output_devices():
            self.failed.emit(entry_id, "No audio output device was found. The speech was saved, not played.")
            return
        pcm = (np.clip(np.asarray(wav, np.float32), -1.0, 1.0) * 32767).astype(np.int16)[:, None]  # [N, 1]
        block = max(1, int(BLOCK_S * sample_rate))
        self.started.emit(entry_id)
        try:
            # int16: every host API and sink takes it as is (no float format negotiation)
            with sd.OutputStream(sample_rate, channels=1, dtype="int16", device=self.device or None) as out:
                for a in range(0, len(pcm), block):
                    if self._stop.is_set():
                        break
                    out.write(pcm[a : a + block])
        except Exception as exc:  # PortAudioError, ValueError (unknown device name)
            where = f"'{self.device}'" if self.device else "the default output"
            self.failed.emit(entry_id, f"Could not play on {where}: {exc}. The speech was saved.")
            return
        self.finished.emit(entry_id)
