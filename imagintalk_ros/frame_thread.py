"""The front-door thread: frames from the subscription -> LipStream -> utterances to the worker.

The subscription callback only converts a message and hands it over (``offer``), so the ROS
executor never waits on face detection. The hand-over queue is bounded: when the front door
falls behind, the oldest waiting frame is dropped and counted (``dropped``). LipStream is not
thread-safe, so push-to-talk and flushing run on this thread too, as commands in the same queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from imagintalk.stream import LipStream, StreamUpdate, Utterance

log = logging.getLogger(__name__)


@dataclass
class _Frame:
    image: np.ndarray  # uint8 [H, W, 3] BGR
    stamp_s: float
    arrived: float  # time.monotonic() when the message came in


@dataclass
class _Command:
    name: str  # "speak_last" | "flush" | "reset" | "call"
    seconds: float
    reply: Future
    fn: Callable[[LipStream], object] | None = None  # "call": run on the stream between frames


class FrameThread:
    """Owns a LipStream; ``on_utterance(utt)`` and ``on_update(update)`` are called on this thread."""

    def __init__(
        self,
        stream: LipStream,
        on_utterance: Callable[[Utterance], None],
        on_update: Callable[[StreamUpdate], None],
        max_frames: int = 4,
    ) -> None:
        self.stream, self.max_frames = stream, max_frames
        self._on_utterance, self._on_update = on_utterance, on_update
        self._frames: deque[_Frame] = deque()
        self._commands: deque[_Command] = deque()
        self._wake = threading.Condition()
        self._stopping = False
        self.dropped = 0  # frames dropped because the front door was behind
        self.processed = 0
        self.push_seconds = 0.0  # time spent in LipStream.push (front door + VAD)
        self._thread = threading.Thread(target=self._run, name="imagintalk-frames", daemon=True)
        self._thread.start()

    def offer(self, image: np.ndarray, stamp_s: float) -> None:
        """Queue a frame; drops the oldest waiting one when ``max_frames`` wait already."""
        with self._wake:
            if len(self._frames) >= self.max_frames:
                self._frames.popleft()
                self.dropped += 1
            self._frames.append(_Frame(image, stamp_s, time.monotonic()))
            self._wake.notify()

    def command(
        self, name: str, seconds: float = 0.0, fn: Callable[[LipStream], object] | None = None
    ) -> Future:
        """Run ``speak_last`` / ``flush`` / ``reset`` / ``call`` (``fn(stream)``, e.g. new VAD thresholds)
        on this thread, between frames; Future: an Utterance or None (``call``: fn's return value)."""
        reply: Future = Future()
        with self._wake:
            self._commands.append(_Command(name, seconds, reply, fn))
            self._wake.notify()
        return reply

    @property
    def waiting(self) -> int:
        with self._wake:
            return len(self._frames)

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._frames and not self._commands and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    for cmd in self._commands:
                        cmd.reply.cancel()
                    return
                # commands first: a push-to-talk request speaks what was there when it was asked
                cmd = self._commands.popleft() if self._commands else None
                frame = None if cmd else self._frames.popleft()
            try:
                if cmd is not None:
                    self._run_command(cmd)
                else:
                    self._push(frame)
            except Exception:  # nothing may end this thread while the node lives
                log.exception("the front-door thread failed on one item; it goes on")

    def _push(self, frame: _Frame) -> None:
        started = time.perf_counter()
        update = self.stream.push(frame.image, frame.stamp_s)  # never raises on bad input
        self.push_seconds += time.perf_counter() - started
        self.processed += 1
        self._on_update(update)
        if update.utterance is not None:
            self._on_utterance(update.utterance)

    def _run_command(self, cmd: _Command) -> None:
        try:
            if cmd.name == "speak_last":
                result = self.stream.speak_last(cmd.seconds)
            elif cmd.name == "flush":
                result = self.stream.flush()
            elif cmd.name == "reset":
                result = self.stream.reset()
            elif cmd.name == "call" and cmd.fn is not None:
                result = cmd.fn(self.stream)
            else:
                raise ValueError(f"unknown command {cmd.name!r}")
        except Exception as exc:
            cmd.reply.set_exception(exc)
            return
        if result is not None and cmd.name == "flush":
            self._on_utterance(result)
        cmd.reply.set_result(result)
