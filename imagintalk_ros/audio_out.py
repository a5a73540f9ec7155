"""Optional playback of the speech on the machine's sound device (parameter play_audio).

Utterances are played one after the other on a thread of their own, so the speech worker
never waits for the loudspeaker and a new utterance never cuts the previous one off.
"""

from __future__ import annotations

import logging
import queue
import threading

import numpy as np

log = logging.getLogger(__name__)


def to_pcm16(wav: np.ndarray) -> np.ndarray:
    """float32 speech [N] in [-1, 1] -> the int16 samples [N, 1] written to the device.

    Converted here rather than by PortAudio: every device takes int16 as is, and the samples
    that reach the device are then exactly known (PortAudio dithers its own float conversion).
    """
    return (np.clip(np.asarray(wav, np.float32), -1.0, 1.0) * 32767).astype(np.int16)[:, None]


class AudioOut:
    """Plays mono speech in order without blocking; without a usable device it warns once and stays quiet.

    ``device``: a sounddevice output name or index ("" = the default output). At most
    ``max_waiting`` utterances wait for the device; more are skipped (the speech is still on ~/speech).
    """

    def __init__(self, device: str = "", logger=None, max_waiting: int = 4) -> None:
        self.device: str | int | None = int(device) if device.isdigit() else (device or None)
        self.logger = logger or log
        self.failed = False  # no device: set once, then nothing more is tried
        self.played = self.skipped = 0
        self._queue: queue.Queue = queue.Queue(max_waiting)
        self._thread = threading.Thread(target=self._run, name="imagintalk-audio", daemon=True)
        self._thread.start()

    def play(self, wav: np.ndarray, sample_rate: int) -> bool:
        """Queue ``wav`` (float32 [N]) for playing; False when it will not be played."""
        if self.failed:
            return False
        try:
            self._queue.put_nowait((to_pcm16(wav), int(sample_rate)))
            return True
        except queue.Full:  # the device plays slower than speech comes: skip rather than lag behind
            self.skipped += 1
            return False

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until everything queued was played (or given up on); False on timeout."""
        done = threading.Event()

        def joiner() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=joiner, daemon=True).start()
        return done.wait(timeout)

    def close(self) -> None:
        """Stop the player thread after what is queued (for a node that is deactivated)."""
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if not self.failed:
                    self._write(*item)
            finally:
                self._queue.task_done()

    def _write(self, pcm: np.ndarray, sample_rate: int) -> None:
        try:
            import sounddevice as sd

            with sd.OutputStream(sample_rate, channels=1, dtype="int16", device=self.device) as stream:
                stream.write(pcm)
            self.played += 1
        except Exception as exc:  # no PortAudio, no device, unknown name, device busy
            self.failed = True
            where = f"device {self.device!r}" if self.device is not None else "the default output"
            self.logger.warning(
                f"play_audio: cannot play on {where} ({type(exc).__name__}: {exc}); "
                "not playing any more (the speech is still published on ~/speech)"
            )
