"""The streaming front end: the face's identity taken while frames arrive, and streamed speech equal
to the offline (file) speech for the same seed."""

from __future__ import annotations

import numpy as np
import pytest
from test_pipeline import make_clips, make_debug_model
from test_stream import T0, padded

from imagintalk.features.extractors import expression_extractor
from imagintalk.features.running_identity import RunningIdentity
from imagintalk.pipeline import Pipeline
from imagintalk.pipeline.features import window_inputs
from imagintalk.settings import load_config
from imagintalk.stream import LipStream, SpeechWorker
from imagintalk.video.frontdoor import FaceTrack, working_max_side
from imagintalk.video.io import iter_frames

WAIT_S = 120.0


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("stream_identity")
    model_dir = make_debug_model(root)
    clip = make_clips(root, 1)[0]
    pipeline = Pipeline.from_dir(model_dir, steps=4, seed=3)
    frames = list(iter_frames(clip, color="bgr", max_side=working_max_side(pipeline.cfg.video)))
    return {"model": model_dir, "clip": clip, "pipeline": pipeline, "frames": frames}


def observations(cfg, frames):
    track = FaceTrack(cfg.video, color="bgr")
    return [track.push(frame, time_s) for frame, time_s in frames]


def test_running_identity_samples_the_first_frames_then_stops(env) -> None:
    cfg = env["pipeline"].cfg
    identity = RunningIdentity(cfg, stride_s=0.2, num_samples=3)
    assert identity.vector is None
    taken = [identity.update(obs) for obs in observations(cfg, env["frames"])]
    times = [t for (_, t), took in zip(env["frames"], taken) if took]
    assert times == pytest.approx([0.0, 0.2, 0.4]), times  # the first found frames, stride_s apart
    assert identity.complete and identity.samples == 3 and identity.faces == 1
    vector = identity.vector
    assert vector.shape == (cfg.style.descriptor_dim,) and vector.dtype == np.float32
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert identity.update(None) is False  # a rejected frame


def test_a_face_gone_longer_than_max_gap_is_described_anew(env) -> None:
    cfg = env["pipeline"].cfg
    obs = observations(cfg, env["frames"])
    identity = RunningIdentity(cfg, stride_s=0.2, num_samples=2)
    for o in obs[:10]:
        identity.update(o)
    first = identity.vector
    assert identity.complete and identity.faces == 1
    later = obs[-1]
    later.time_s += cfg.video.max_gap_s + 5.0  # the face came back after a long gap
    assert identity.update(later) is True  # a new face: sampled again from its first frame
    assert identity.samples == 1 and identity.faces == 2
    assert not np.allclose(identity.vector, first)  # one frame of the end of the clip, not the mean


def test_streamed_speech_equals_the_file_speech_for_the_same_seed(env) -> None:
    """The clip frame by frame through LipStream (front door + running identity while it streams),
    spoken by the SpeechWorker, equals speak_file on the clip: the same wav, sample for sample."""
    pipeline = env["pipeline"]
    offline = pipeline.speak_file(env["clip"])
    stream = LipStream(pipeline.cfg, color="bgr")
    for frame, time_s in env["frames"]:
        stream.push(frame, T0 + time_s)
    assert stream.identity.complete
    utterance = stream.speak_last(30.0)  # every frame held: the whole clip, as the file path speaks it
    assert utterance.track.num_frames == offline.num_frames
    assert np.array_equal(utterance.identity, stream.identity.vector)
    file_identity = pipeline.running_identity()  # what speak_file takes, from the same frames
    for observation in observations(pipeline.cfg, env["frames"]):
        file_identity.update(observation)
    assert np.array_equal(file_identity.vector, stream.identity.vector)

    jobs = []
    worker = SpeechWorker(lambda: pipeline, on_done=jobs.append)
    worker.start()
    try:
        assert worker.submit(utterance)
        assert worker.wait_idle(WAIT_S)
    finally:
        worker.stop()
    assert len(jobs) == 1 and jobs[0].error is None, jobs[0].error
    streamed = jobs[0].result
    assert np.array_equal(streamed.tokens, offline.tokens)
    assert np.array_equal(streamed.wav, offline.wav)


def test_a_stream_without_running_identity_leaves_it_to_the_worker(env) -> None:
    stream = LipStream(load_config("debug"), identity=False)
    updates = [stream.push(frame, time_s) for frame, time_s in padded([f for f, _ in env["frames"]])]
    utterances = [u.utterance for u in updates if u.utterance]
    assert len(utterances) == 1 and utterances[0].identity is None
    assert stream.identity is None


def test_an_identity_of_another_width_is_ignored_not_fatal(env) -> None:
    pipeline = env["pipeline"]
    stream = LipStream(pipeline.cfg, color="bgr", identity=False)
    for frame, time_s in env["frames"]:
        stream.push(frame, time_s)
    track = stream.speak_last(30.0).track
    described = pipeline.speak_track(track)
    assert np.array_equal(pipeline.speak_track(track, np.ones(5, np.float32)).wav, described.wav)
    given = np.zeros(pipeline.cfg.style.descriptor_dim, np.float32)
    given[0] = 1.0  # one of the right width is what the networks get (the debug DiT's zero-init
    # modulation ignores it, so this is checked on the inputs, not the speech)
    assert np.array_equal(window_inputs(track, pipeline.cfg, given).identity[0].numpy(), given)
    assert not np.allclose(window_inputs(track, pipeline.cfg).identity[0].numpy(), given)


def test_track_file_gives_what_speak_file_speaks(env) -> None:
    pipeline = env["pipeline"]
    track, identity = pipeline.track_file(env["clip"])
    assert np.array_equal(pipeline.speak_track(track, identity).wav, pipeline.speak_file(env["clip"]).wav)


def test_expression_computed_while_the_face_speaks_equals_the_offline_one(env) -> None:
    """A VAD utterance: its expression mostly taken while it was open, equal to computing it at once
    on the utterance's face crops, and its speech equal to speaking the track without any of it."""
    pipeline = env["pipeline"]
    stream = LipStream(pipeline.cfg, color="bgr", warm_every=3)
    utterances = []
    for frame, time_s in padded([f for f, _ in env["frames"]]):
        update = stream.push(frame, T0 + time_s)
        utterances += [update.utterance] if update.utterance else []
    assert len(utterances) == 1
    utterance = utterances[0]
    frames = utterance.track.num_frames
    assert stream.last_expression_reused >= frames // 2, (stream.last_expression_reused, frames)
    offline = expression_extractor(pipeline.cfg.style)(utterance.track.face)
    assert np.array_equal(utterance.expression, offline)
    streamed = pipeline.speak_track(utterance.track, utterance.identity, utterance.expression)
    assert np.array_equal(streamed.wav, pipeline.speak_track(utterance.track, utterance.identity).wav)

    cold = LipStream(pipeline.cfg, color="bgr", warm_every=0)  # no warming: the same track, crop for crop
    for frame, time_s in padded([f for f, _ in env["frames"]]):
        update = cold.push(frame, T0 + time_s)
        if update.utterance:
            assert update.utterance.expression is None
            assert np.array_equal(update.utterance.track.face, utterance.track.face)
            assert np.array_equal(update.utterance.track.mouth, utterance.track.mouth)
