"""The ``~/speak`` action (imagintalk/action/Speak): speak on request, with feedback, result and cancel.

The callbacks run on a reentrant callback group of the node's multi-threaded executor and only
wait: the front door runs on the frame thread and the model on the speech worker, so a goal in
progress never delays image intake, the status timer or parameter calls. A goal either takes the
last N seconds (push-to-talk) or waits for the next utterance the visual VAD ends; either way the
utterance goes through the same SpeechWorker queue as every other, and is published on ~/speech
(and ~/audio) as usual; the result carries that same SpeechAudio.

Cancel: a goal still waiting (for speech, or in the queue) stops at once and nothing is spoken
for it; one being synthesized is answered as canceled at once and its speech is neither
published nor returned, while the model finishes the call it is in (the pipeline has no
interruption point inside an utterance).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import CallbackGroup

from imagintalk.errors import ImaginTalkError
from imagintalk.pipeline.profile import load_profile
from imagintalk.pipeline.voice import load_reference_audio
from imagintalk.stream import SpeechJob

POLL_S = 0.1  # how often a waiting goal looks at its job, the cancel flag, and sends feedback
DEFAULT_WAIT_S = 30.0
RECENT = 8  # published messages kept for goals (a goal reads its own within POLL_S of it)


@dataclass
class Waiter:
    """A goal waiting for the next utterance: the frame thread hands it the job (None if dropped)."""

    future: Future
    setup: Callable | None  # per-goal voice / profile for that job (SpeechJob.setup)


def goal_setup(voice: str, profile: str) -> Callable | None:
    """A SpeechJob setup that speaks one job with ``voice`` / ``profile`` and restores the pipeline.

    Checked here (InputError / CheckpointError naming the problem) so a bad goal is refused at once.
    """
    if not voice and not profile:
        return None
    # read once here (a bad file refuses the goal at once) and handed to the worker as loaded
    loaded_profile = None
    if profile:
        loaded_profile = load_profile(profile)
    reference = None
    if voice:
        reference = load_reference_audio(voice)  # (samples [N], rate)

    def setup(pipeline) -> Callable[[], None]:
        before = (pipeline.profile, pipeline.reference_voice)
        if loaded_profile is not None:
            pipeline.set_profile(loaded_profile)
        if reference is not None:
            pipeline.set_voice_reference(*reference)

        def undo() -> None:
            pipeline.set_profile(before[0])
            pipeline.reference_voice = before[1]

        return undo

    return setup


class GoalBook:
    """The node's side of waiting goals (thread-safe): who waits for the next utterance, and the
    last SpeechAudio messages published (a goal's result is its job's)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: list[Waiter] = []
        # the last few (job, SpeechAudio) published: a goal looks its job up once the job is done,
        # however fast it was (holding the job keeps its identity unique)
        self._recent: deque[tuple[SpeechJob, object]] = deque(maxlen=RECENT)

    def wait_for_utterance(self, waiter: Waiter) -> None:
        with self._lock:
            self._waiters.append(waiter)

    def forget(self, waiter: Waiter) -> None:
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def take_waiting(self) -> list[Waiter]:
        """Frame thread, an utterance ended: the goals still waiting for it (no longer listed here)."""
        with self._lock:
            waiters, self._waiters = self._waiters, []
        return [w for w in waiters if not w.future.done()]  # timed out or canceled meanwhile

    def hand_over(self, waiters: list[Waiter], job: SpeechJob | None) -> None:
        for waiter in waiters:
            if waiter.future.set_running_or_notify_cancel():
                waiter.future.set_result(job)

    def cancel_waiting(self) -> None:
        for waiter in self.take_waiting():
            waiter.future.cancel()

    def published(self, job: SpeechJob, message) -> None:
        """Worker thread: ``job``'s SpeechAudio went out (kept for a goal that follows the job)."""
        with self._lock:
            self._recent.append((job, message))

    def message_for(self, job: SpeechJob):
        """The SpeechAudio published for ``job`` (None if it was not): asked once job.done is set."""
        with self._lock:
            return next((message for done, message in self._recent if done is job), None)


class SpeakAction:
    """Serves ``~/speak`` for ``node`` (a SpeakNode) on ``group``."""

    def __init__(self, node, action_type, group: CallbackGroup) -> None:
        self.node, self.Speak = node, action_type
        self.seconds_per_second = 0.5  # synthesis time per second of speech, learnt from each job
        self.server = ActionServer(
            node, action_type, "~/speak", execute_callback=self._execute, goal_callback=self._on_goal,
            cancel_callback=self._on_cancel, callback_group=group,
        )  # fmt: skip

    def destroy(self) -> None:
        self.server.destroy()

    def _on_goal(self, goal) -> GoalResponse:
        return GoalResponse.ACCEPT  # refusals come back as an aborted result, with the reason

    def _on_cancel(self, goal_handle) -> CancelResponse:
        return CancelResponse.ACCEPT

    # ---------------------------------------------------------------- executing a goal

    def _execute(self, goal_handle):
        accepted = time.monotonic()
        goal, node = goal_handle.request, self.node
        result = self.Speak.Result()
        try:
            setup = goal_setup(goal.voice, goal.profile)
        except (ImaginTalkError, ValueError) as exc:
            return self._finish(goal_handle, result, accepted, f"{exc}", aborted=True)
        job, why = self._job(goal_handle, setup, accepted)
        if job is None:  # canceled while waiting, or refused (why says why)
            canceled = goal_handle.is_cancel_requested
            return self._finish(goal_handle, result, accepted, why, aborted=not canceled, canceled=canceled)
        result.wait_seconds = time.monotonic() - accepted
        while not job.done.wait(POLL_S):
            if goal_handle.is_cancel_requested:
                node.cancel_job(job)
                return self._finish(goal_handle, result, accepted, "canceled", canceled=True)
            self._feedback(goal_handle, job, accepted)
        message = node.goals.message_for(job)
        if goal_handle.is_cancel_requested:
            return self._finish(goal_handle, result, accepted, "canceled", canceled=True)
        if message is None:
            why = f"{type(job.error).__name__}: {job.error}" if job.error else "dropped: synthesis is busy"
            return self._finish(goal_handle, result, accepted, f"not spoken: {why}", aborted=True)
        spent = job.latency_s.get("speak", 0.0)
        if message.duration > 0:
            self.seconds_per_second = 0.5 * self.seconds_per_second + 0.5 * spent / message.duration
        result.speech, result.success = message, True
        return self._finish(goal_handle, result, accepted, f"spoke {message.duration:.2f} s")

    def _job(self, goal_handle, setup, accepted: float) -> tuple[SpeechJob | None, str]:
        """The SpeechJob for the goal, or None and why not."""
        goal, node, Goal = goal_handle.request, self.node, self.Speak.Goal
        frames, worker = node.frames_and_worker()
        if frames is None or worker is None:
            return None, f"not active ({node.label})"
        if goal.source == Goal.SOURCE_TEXT:
            if not goal.text.strip():
                return None, "SOURCE_TEXT needs a text"
            seconds = node.params.push_to_talk_s  # the face in view lends its voice and expression
            reply = frames.command("speak_last", seconds)
            utterance, why = self._wait(goal_handle, reply, DEFAULT_WAIT_S, "queued", accepted)
            if why:
                return None, why
            job = worker.submit_job(utterance, setup, text=goal.text)  # no face: the profile's or voice's
            return job, "" if job else "dropped: synthesis is busy (drop_policy)"
        if goal.source == Goal.SOURCE_LAST_SECONDS:
            seconds = goal.seconds if goal.seconds > 0 else node.params.push_to_talk_s
            reply = frames.command("speak_last", seconds)
            utterance, why = self._wait(goal_handle, reply, DEFAULT_WAIT_S, "queued", accepted)
            if utterance is None:
                return None, why or f"no face in the last {seconds:.1f} s"
            job = worker.submit_job(utterance, setup)
            return job, "" if job else "dropped: synthesis is busy (drop_policy)"
        if goal.source == Goal.SOURCE_NEXT_UTTERANCE:
            waiter = Waiter(Future(), setup)
            node.goals.wait_for_utterance(waiter)
            timeout = goal.timeout_s if goal.timeout_s > 0 else DEFAULT_WAIT_S
            job, why = self._wait(goal_handle, waiter.future, timeout, "waiting_for_speech", accepted)
            if job is None:
                node.goals.forget(waiter)
                return None, why or f"no utterance within {timeout:g} s (or it was dropped)"
            return job, ""
        return (
            None,
            f"unknown source {goal.source}: use SOURCE_NEXT_UTTERANCE, SOURCE_LAST_SECONDS or SOURCE_TEXT",
        )

    def _wait(self, goal_handle, future: Future, timeout: float, stage: str, accepted: float):
        """(``future``'s result, "") polling for cancel and sending feedback; (None, why) otherwise."""
        deadline = time.monotonic() + timeout
        while not future.done():
            if goal_handle.is_cancel_requested:
                future.cancel()
                return None, "canceled"
            if time.monotonic() > deadline:
                future.cancel()
                return None, ""
            self._send(goal_handle, stage, 0.0, accepted)
            time.sleep(POLL_S)
        try:
            return future.result(), ""
        except Exception as exc:  # the frame thread refused (e.g. a stopped node)
            return None, f"{exc}"

    def _feedback(self, goal_handle, job: SpeechJob, accepted: float) -> None:
        if job.started_at is None:
            self._send(goal_handle, "queued", 0.0, accepted)
            return
        expected = max(self.seconds_per_second * job.utterance.duration_s, 1e-3)
        progress = min(0.95, (time.perf_counter() - job.started_at) / expected)
        self._send(goal_handle, "synthesizing", progress, accepted)

    def _send(self, goal_handle, stage: str, progress: float, accepted: float) -> None:
        feedback = self.Speak.Feedback(stage=stage, progress=float(progress))
        feedback.elapsed_seconds = time.monotonic() - accepted
        goal_handle.publish_feedback(feedback)

    def _finish(self, goal_handle, result, accepted: float, message: str, aborted=False, canceled=False):
        result.message, result.total_seconds = message, time.monotonic() - accepted
        if canceled:
            goal_handle.canceled()
        elif aborted:
            goal_handle.abort()
        else:
            self._send(goal_handle, "done", 1.0, accepted)
            goal_handle.succeed()
        return result
