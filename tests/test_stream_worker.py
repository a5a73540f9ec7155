"""SpeechWorker with a real debug Pipeline: speaks a LipStream utterance, drops by policy, reports errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from test_pipeline import make_clips, make_debug_model
from test_stream import T0, padded

from imagintalk.errors import CheckpointError, InputError
from imagintalk.pipeline import Pipeline
from imagintalk.settings import load_config
from imagintalk.stream import LipStream, SpeechJob, SpeechWorker
from imagintalk.video.io import iter_frames

WAIT_S = 120.0  # generous: the machine is shared with a training job


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("worker")
    model_dir = make_debug_model(root)
    frames = [frame for frame, _ in iter_frames(make_clips(root, 1)[0], color="bgr")]
    stream = LipStream(load_config("debug"))
    utterances = [u.utterance for u in (stream.push(f, t) for f, t in padded(frames)) if u.utterance]
    assert len(utterances) == 1
    return {"model": model_dir, "utterance": utterances[0], "stream": stream}


class Collector:
    """on_done that records jobs; with a gate it holds the worker thread busy until released."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.jobs: list[SpeechJob] = []
        self.gate, self.started = gate, threading.Event()

    def __call__(self, job: SpeechJob) -> None:
        self.jobs.append(job)
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT_S)


def test_speaks_a_real_utterance_off_the_callers_thread(env) -> None:
    done = Collector()
    caller = threading.get_ident()
    loaded_on = []

    def factory() -> Pipeline:
        loaded_on.append(threading.get_ident())
        return Pipeline.from_dir(env["model"], steps=4)

    worker = SpeechWorker(factory, done)
    worker.start()
    utterance = env["utterance"]
    assert worker.submit(utterance)
    assert worker.wait_idle(WAIT_S) and not worker.busy
    worker.stop()
    assert loaded_on and loaded_on[0] != caller
    job = done.jobs[0]
    assert job.error is None and job.utterance is utterance
    result = job.result
    assert result.num_frames == utterance.track.num_frames
    assert len(result.wav) / result.sample_rate == pytest.approx(utterance.duration_s)
    span = utterance.end_s - utterance.start_s + 0.04  # source span incl. the last frame, 25 fps source
    assert abs(result.duration - span) <= 0.04 + 1e-6 and np.isfinite(result.wav).all()
    assert set(job.latency_s) == {"queue", "front_door", "model", "codec", "speak", "total"}
    assert job.latency_s["total"] >= job.latency_s["speak"] >= job.latency_s["model"] > 0
    assert utterance.start_s >= T0 - 1.0


@pytest.mark.parametrize("policy", ["drop_oldest", "drop_newest"])
def test_a_full_queue_drops_by_policy(env, policy) -> None:
    gate = threading.Event()
    done = Collector(gate)
    worker = SpeechWorker(
        lambda: Pipeline.from_dir(env["model"], steps=2), done, max_pending=2, policy=policy
    )
    worker.start()
    base = env["utterance"]
    utterances = [type(base)(base.track, base.start_s, base.end_s + i, base.reason) for i in range(4)]
    assert worker.submit(utterances[0])
    assert done.started.wait(WAIT_S)  # the worker holds job 0 (in on_done) until the gate opens
    assert worker.submit(utterances[1]) and worker.submit(utterances[2])  # queue now full
    accepted = worker.submit(utterances[3])
    assert worker.dropped == 1 and worker.pending == 2 and worker.busy
    gate.set()
    assert worker.wait_idle(WAIT_S)
    worker.stop()
    spoken = [job.utterance for job in done.jobs]
    if policy == "drop_oldest":
        assert accepted and spoken == [utterances[0], utterances[2], utterances[3]]
    else:
        assert not accepted and spoken == [utterances[0], utterances[1], utterances[2]]
    assert all(job.error is None for job in done.jobs)


def test_errors_are_reported_and_the_thread_goes_on(env) -> None:
    done = Collector()
    worker = SpeechWorker(lambda: Pipeline.from_dir(env["model"], steps=2), done)
    worker.start()
    broken = type(env["utterance"])(env["utterance"].track, 0.0, 0.0, "vad")
    broken.track = None  # what a buggy client might send: speak_track fails on it
    assert worker.submit(broken)
    assert worker.wait_idle(WAIT_S)
    assert worker.submit(env["utterance"]) and worker.wait_idle(WAIT_S)
    worker.stop()
    assert done.jobs[0].error is not None and done.jobs[0].result is None
    assert done.jobs[1].error is None and done.jobs[1].result is not None


def test_a_failed_model_load_is_reported_with_every_job(env, tmp_path) -> None:
    done = Collector()
    worker = SpeechWorker(lambda: Pipeline.from_dir(tmp_path / "missing"), done)
    worker.start()
    worker.submit(env["utterance"])
    assert worker.wait_idle(WAIT_S)
    worker.stop()
    assert isinstance(done.jobs[0].error, CheckpointError) and isinstance(worker.load_error, CheckpointError)
    assert not worker.submit(env["utterance"])  # stopped: refused
    with pytest.raises(InputError):
        SpeechWorker(lambda: None, done, policy="block")
    with pytest.raises(InputError):
        SpeechWorker(lambda: None, done, max_pending=0)
