"""SpeechWorker's job handles (issue 22): wait on a job, cancel it, per-job setup, settings between jobs.

A stand-in pipeline (speak_track records what it was asked) keeps these tests free of model loading.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

from imagintalk.stream import SpeechJob, SpeechWorker

WAIT_S = 30.0


class FakePipeline:
    """Records each speak_track call with the steps and voice in force; optionally blocks on a gate."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.steps, self.voice, self.gate = 4, "face", gate
        self.interrupt = None  # the worker sets it for each job
        self.calls: list[tuple[str, int, str]] = []
        self.entered = threading.Event()

    def speak_track(self, track, identity=None, expression=None):
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT_S)
        if self.interrupt is not None and self.interrupt():  # as Pipeline does between diffusion steps
            raise RuntimeError("interrupted")
        self.calls.append((track, self.steps, self.voice))
        return SimpleNamespace(timings={}, wav=None)


def utterance(name: str):
    return SimpleNamespace(track=name, identity=None, expression=None)


def test_jobs_can_be_waited_on_set_up_and_settings_apply_before_the_next_job() -> None:
    pipe, done = FakePipeline(), []
    worker = SpeechWorker(lambda: pipe, done.append)
    worker.start()
    try:
        first = worker.submit_job(utterance("a"))
        assert first is not None and first.done.wait(WAIT_S) and first.result is not None
        worker.call_soon(lambda p: setattr(p, "steps", 16))

        def other_voice(p):
            p.voice = "reference"
            return lambda: setattr(p, "voice", "face")

        second = worker.submit_job(utterance("b"), setup=other_voice)
        assert second.done.wait(WAIT_S)
        third = worker.submit_job(utterance("c"))
        assert third.done.wait(WAIT_S)
    finally:
        worker.stop()
    assert pipe.calls == [("a", 4, "face"), ("b", 16, "reference"), ("c", 16, "face")]
    assert [j.utterance.track for j in done] == ["a", "b", "c"]
    assert all(j.started_at is not None for j in done)


def test_cancel_removes_a_queued_job_and_marks_a_running_one() -> None:
    gate = threading.Event()
    pipe, done = FakePipeline(gate), []
    worker = SpeechWorker(lambda: pipe, done.append, max_pending=4)
    worker.start()
    try:
        running = worker.submit_job(utterance("running"))
        assert pipe.entered.wait(WAIT_S)
        queued = worker.submit_job(utterance("queued"))
        assert worker.cancel(queued) and queued.done.is_set() and queued.cancelled
        assert not worker.cancel(running) and running.cancelled  # being spoken: finishes, marked
        gate.set()
        assert running.done.wait(WAIT_S)
        assert worker.wait_idle(WAIT_S)
    finally:
        worker.stop()
    assert pipe.calls == []  # the running one stopped at its interruption point, the queued one never ran
    assert len(done) == 1 and done[0].cancelled and "interrupted" in str(done[0].error)
    assert pipe.interrupt is None  # cleared after the job


def test_a_job_dropped_by_policy_or_stop_is_done() -> None:
    gate = threading.Event()
    pipe = FakePipeline(gate)
    worker = SpeechWorker(lambda: pipe, lambda job: None, max_pending=1, policy="drop_oldest")
    worker.start()
    worker.submit_job(utterance("running"))
    assert pipe.entered.wait(WAIT_S)
    oldest = worker.submit_job(utterance("oldest"))
    newest = worker.submit_job(utterance("newest"))
    assert oldest.done.is_set() and oldest.result is None  # dropped: a waiter learns at once
    worker.stop(wait=False)
    assert newest.done.is_set()
    gate.set()
    assert isinstance(newest, SpeechJob)
