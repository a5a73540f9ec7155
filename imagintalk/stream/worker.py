"""``SpeechWorker``: speak utterances on one background thread, never blocking the camera thread.

    worker = SpeechWorker(lambda: Pipeline.from_dir(model_dir), on_done=show_or_publish)
    worker.start()                      # the model loads on the worker thread
    worker.submit(utterance)            # False when the queue was full and the policy dropped it
    worker.stop()

Speaking takes longer than the utterance on a slow CPU, so utterances can arrive faster than they
are spoken: the queue holds at most ``max_pending`` and then drops by ``policy`` ("drop_oldest":
the stalest waiting utterance makes room, since a live conversation wants the newest speech;
"drop_newest": the new one is refused). Every outcome, an error included, is reported through
``on_done(job)`` on the worker thread; the thread survives errors in a job and in ``on_done``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import InputError
from .utterance import Utterance

if TYPE_CHECKING:  # the pipeline (torch) is imported by whoever builds it, not by this module
    from ..pipeline import Pipeline, SpeechResult

log = logging.getLogger(__name__)

POLICIES = ("drop_oldest", "drop_newest")
MODEL_STAGES = ("features", "semantic", "style", "sampling")  # pipeline.STAGES between front door and codec


@dataclass
class SpeechJob:
    """One utterance and what became of it.

    latency_s: "queue" (submit -> start), "front_door", "model", "codec" (from result.timings),
    "speak" (the pipeline call), "total" (submit -> done).
    """

    utterance: Utterance | None  # None only for typed text without a face
    result: SpeechResult | None = None
    error: Exception | None = None
    latency_s: dict[str, float] = field(default_factory=dict)
    submitted_at: float = field(default_factory=time.perf_counter)
    started_at: float | None = None  # perf_counter when synthesis began (None while queued)
    cancelled: bool = False  # cancel() asked for it: not spoken if still queued, not reported as spoken
    done: threading.Event = field(default_factory=threading.Event)  # set once on_done ran (or it was dropped)
    # run on the worker thread just before this job is spoken (e.g. another voice for it); returns
    # a function that undoes it after the job, or None
    setup: Callable[[Pipeline], Callable[[], None] | None] | None = None
    text: str | None = None  # typed speech: say this in the voice of the utterance's face (Pipeline.say)


class SpeechWorker:
    """One background thread that speaks utterances with a Pipeline; a bounded queue with a drop policy."""

    def __init__(
        self,
        pipeline_factory: Callable[[], Pipeline],
        on_done: Callable[[SpeechJob], None],
        max_pending: int = 2,
        policy: str = "drop_oldest",
    ) -> None:
        if max_pending < 1:
            raise InputError(f"max_pending must be at least 1, got {max_pending}")
        if policy not in POLICIES:
            raise InputError(f"unknown drop policy {policy!r}; choose one of {', '.join(POLICIES)}")
        self._factory, self._on_done = pipeline_factory, on_done
        self.max_pending, self.policy = max_pending, policy
        self._queue: deque[SpeechJob] = deque()
        self._calls: deque[Callable[[Pipeline], None]] = deque()  # call_soon's, run before the next job
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._running = False  # a job is being spoken
        self._dropped = 0
        self.pipeline: Pipeline | None = None  # set on the worker thread once loaded
        self.load_error: Exception | None = None  # why pipeline_factory failed (jobs then report it)

    def start(self) -> None:
        """Start the thread (it loads the pipeline first); starting twice is an error."""
        with self._wake:
            if self._thread is not None:
                raise InputError("the speech worker was already started")
            self._thread = threading.Thread(target=self._run, name="imagintalk-speech", daemon=True)
            self._thread.start()

    def submit(self, utterance: Utterance) -> bool:
        """Queue an utterance; False when it was dropped (queue full under drop_newest, or stopped)."""
        return self.submit_job(utterance) is not None

    def submit_job(
        self,
        utterance: Utterance | None,
        setup: Callable[[Pipeline], Callable[[], None] | None] | None = None,
        text: str | None = None,
    ) -> SpeechJob | None:
        """Queue an utterance and return its job (to wait on ``job.done`` or cancel it); None if dropped.

        ``setup``: see SpeechJob.setup. ``text``: speak this typed text instead, in the voice of the
        utterance's face (None: the pipeline's profile or voice reference)."""
        job = SpeechJob(utterance, setup=setup, text=text)
        with self._wake:
            if self._stopping:
                self._dropped += 1
                return None
            if len(self._queue) >= self.max_pending:
                self._dropped += 1
                if self.policy == "drop_newest":
                    return None
                self._queue.popleft().done.set()  # anyone waiting on it learns it is gone
            self._queue.append(job)
            self._wake.notify()
        return job

    def cancel(self, job: SpeechJob) -> bool:
        """Withdraw ``job``: a queued job is removed (True); one being spoken stops at the pipeline's
        next diffusion step (Pipeline.interrupt: SpeechInterrupted as its error) and is reported
        with ``cancelled`` set (False)."""
        with self._wake:
            job.cancelled = True
            if job in self._queue:
                self._queue.remove(job)
                job.done.set()
                return True
        return False

    def call_soon(self, action: Callable[[Pipeline], None]) -> None:
        """Run ``action(pipeline)`` on the worker thread before the next job (settings that apply
        from the next utterance on, never in the middle of one). Errors are logged."""
        with self._wake:
            self._calls.append(action)

    def stop(self, wait: bool = True, timeout: float | None = None) -> None:
        """Stop taking jobs; pending ones are dropped, the one being spoken finishes (joined if ``wait``)."""
        with self._wake:
            self._stopping = True
            self._dropped += len(self._queue)
            for job in self._queue:
                job.done.set()
            self._queue.clear()
            self._wake.notify_all()
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or being spoken; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._wake:
            while self._queue or self._running:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._wake.wait(left)
        return True

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def busy(self) -> bool:
        """A job is being spoken or waiting."""
        with self._wake:
            return self._running or bool(self._queue)

    @property
    def pending(self) -> int:
        with self._wake:
            return len(self._queue)

    # ---------------------------------------------------------------- the thread

    def _run(self) -> None:
        try:
            self.pipeline = self._factory()
        except Exception as exc:  # reported with every job, so the user sees why nothing is spoken
            log.exception("the speech pipeline failed to load")
            self.load_error = exc
        while True:
            with self._wake:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                job = self._queue.popleft()
                calls, self._calls = list(self._calls), deque()
                self._running = True
            try:
                for action in calls:
                    self._call(action)
                self._speak(job)
                try:
                    self._on_done(job)
                except Exception:  # a broken callback must not kill the thread
                    log.exception("on_done failed for a speech job")
            finally:
                job.done.set()
                with self._wake:
                    self._running = False
                    self._wake.notify_all()

    def _call(self, action: Callable[[Pipeline], None]) -> None:
        if self.pipeline is None:
            return
        try:
            action(self.pipeline)
        except Exception:  # a setting that fails to apply leaves the pipeline as it was
            log.exception("a setting could not be applied to the speech pipeline")

    def _speak(self, job: SpeechJob) -> None:
        started = job.started_at = time.perf_counter()
        job.latency_s["queue"] = started - job.submitted_at
        if self.pipeline is None:
            job.error = self.load_error
        else:
            undo = None
            self.pipeline.interrupt = lambda: job.cancelled  # cancel() stops it between diffusion steps
            try:
                undo = job.setup(self.pipeline) if job.setup is not None else None
                utt = job.utterance
                if job.text is not None:
                    face = (
                        None
                        if utt is None
                        else self.pipeline.describe_track(utt.track, utt.identity, utt.expression)
                    )
                    job.result = self.pipeline.say(job.text, face)
                else:
                    job.result = self.pipeline.speak_track(utt.track, utt.identity, utt.expression)
            except Exception as exc:  # one bad utterance is reported, not fatal
                job.error = exc
            finally:
                self.pipeline.interrupt = None
                if undo is not None:
                    self._call(lambda _: undo())
        done = time.perf_counter()
        if job.result is not None:
            timings = job.result.timings
            job.latency_s["front_door"] = timings.get("front_door", 0.0)
            job.latency_s["model"] = sum(timings.get(stage, 0.0) for stage in MODEL_STAGES)
            job.latency_s["codec"] = timings.get("decode", 0.0)
        job.latency_s["speak"] = done - started
        job.latency_s["total"] = done - job.submitted_at
