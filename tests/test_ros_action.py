"""Issue 22 over DDS on loopback: the ~/speak action, /diagnostics, audio_common_msgs audio, live
parameters and image intake while a goal runs. One node process (config/speak.yaml, a debug model)
with a colcon-built stand-in of audio_common_msgs on its paths serves the module; the test process is
the camera, the action client and the listener.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from ros_helpers import (
    PARAMS_FILE,
    Participant,
    audio_common_workspace,
    messages_or_skip,
    read_log,
    ros_env,
    start,
    stop,
    with_prefix,
)
from test_pipeline import make_clips, make_debug_model

msgs = messages_or_skip()

from action_msgs.msg import GoalStatus  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from rclpy.action import ActionClient  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from imagintalk.video.io import iter_frames  # noqa: E402
from imagintalk_ros.audio_topics import samples_of  # noqa: E402
from imagintalk_ros.convert import bgr_to_image  # noqa: E402
from imagintalk_ros.messages import load_action, load_prefix  # noqa: E402
from imagintalk_ros.speech_msgs import seconds_of, stamp_of  # noqa: E402

Speak = load_action().Speak
DOMAIN = int(os.environ.get("ROS_DOMAIN_ID", "77")) + 6  # apart from the other ROS test modules
NODE = "/imagintalk_speak"
TOPIC = "/test22/image"
pytestmark = pytest.mark.timeout(400)


class Camera:
    """The test's participant: camera publisher, action client, the node's topics collected."""

    def __init__(self, audio_msgs) -> None:
        self.p = Participant(DOMAIN)
        node = self.p.node
        self.speech = self.p.collect(msgs.SpeechAudio, f"{NODE}/speech")
        self.status = self.p.collect(msgs.SpeechStatus, f"{NODE}/status")
        self.diagnostics = self.p.collect(DiagnosticArray, "/diagnostics")
        self.audio = self.p.collect(audio_msgs.AudioDataStamped, f"{NODE}/audio")
        latched = QoSProfile(
            depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
        )
        self.audio_info = self.p.collect(audio_msgs.AudioInfo, f"{NODE}/audio_info", latched)
        self.images = node.create_publisher(
            Image, TOPIC, QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
        )
        self.action = ActionClient(node, Speak, f"{NODE}/speak")

    def publish(self, frames: list[np.ndarray], fps: float = 25.0) -> None:
        """``frames`` at ``fps`` in real time, stamped with the wall clock."""
        start_s = time.time()
        for i, frame in enumerate(frames):
            msg = bgr_to_image(frame)
            msg.header.stamp = stamp_of(start_s + i / fps)
            msg.header.frame_id = "test_camera"
            delay = start_s + i / fps - time.time()
            if delay > 0:
                self.p.spin_for(delay)
            self.images.publish(msg)

    def goal(self, timeout: float = 60.0, **fields):
        """Send a Speak goal -> (goal handle, feedback list); fails if not accepted."""
        self.p.spin_until(lambda: self.action.server_is_ready(), 30, "the ~/speak action server")
        feedback: list = []
        future = self.action.send_goal_async(
            Speak.Goal(**fields), feedback_callback=lambda f: feedback.append(f.feedback)
        )
        self.p.spin_until(future.done, timeout, "the goal to be accepted")
        handle = future.result()
        assert handle.accepted
        return handle, feedback

    def result(self, handle, timeout: float = 90.0):
        future = handle.get_result_async()
        self.p.spin_until(future.done, timeout, "the action result")
        return future.result()

    def fresh_status(self, timeout: float = 10.0):
        seen = len(self.status)
        self.p.spin_until(lambda: len(self.status) > seen, timeout, "a status message")
        return self.status[-1]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("ros_action")
    os.environ.setdefault("ROS_LOG_DIR", str(root / "ros_log"))
    prefix = audio_common_workspace()
    load_prefix(prefix, "audio_common_msgs")
    import audio_common_msgs.msg as audio_msgs

    model = make_debug_model(root)
    clip = make_clips(root, 1)[0]
    frames = [frame for frame, _ in iter_frames(clip)]
    env = with_prefix(ros_env(DOMAIN, root / "ros_log"), prefix)
    node_log = root / "node.log"
    started = time.time()
    node = start(
        "imagintalk_ros.speak_node",
        ["--ros-args", "--params-file", str(PARAMS_FILE), "-p", f"model_dir:={model}",
         "-p", f"image_topic:={TOPIC}", "-p", "qos_reliability:=reliable", "-p", "frame_queue:=200",
         "-p", "status_period_s:=0.5", "-p", "camera_timeout_s:=0.8", "-p", "qos_depth:=100"],
        env, node_log,
    )  # fmt: skip
    camera = None
    try:
        camera = Camera(audio_msgs)
        camera.p.spin_until(
            lambda: any(s.state == "waiting" and seconds_of(s.header.stamp) > started for s in camera.status),
            120,
            "the node to be active",
        )
        yield {"root": root, "camera": camera, "frames": frames, "log": node_log, "node": node}
    finally:
        if camera is not None:
            camera.p.close()
        code = stop(node)
        print(read_log(node_log)[-4000:])
    assert code in (0, -2), f"the node exited with {code}"


def test_action_speaks_a_clip_with_feedback_and_the_same_audio_on_every_topic(setup) -> None:
    camera, frames = setup["camera"], setup["frames"]
    assert "audio_common_msgs not installed" not in read_log(setup["log"])
    camera.publish(frames)
    camera.p.spin_until(lambda: camera.speech, 120, "the VAD's utterance on ~/speech")  # the clip, by the VAD
    before = len(camera.speech)
    handle, feedback = camera.goal(source=Speak.Goal.SOURCE_LAST_SECONDS, seconds=5.0)
    reply = camera.result(handle)
    assert reply.status == GoalStatus.STATUS_SUCCEEDED, reply.result.message
    result = reply.result
    assert result.success and result.speech.reason == "push_to_talk"
    assert 1.0 < result.speech.duration <= 5.04 and result.total_seconds >= result.wait_seconds >= 0
    assert feedback and feedback[-1].stage == "done" and feedback[-1].progress == pytest.approx(1.0)
    assert all(0.0 <= f.progress <= 1.0 for f in feedback)
    camera.p.spin_until(lambda: len(camera.speech) > before, 30, "the goal's speech on ~/speech")
    published = camera.speech[-1]
    np.testing.assert_array_equal(np.asarray(published.samples), np.asarray(result.speech.samples))
    # ~/audio: int16 little-endian PCM of the same samples, ~/audio_info latched
    camera.p.spin_until(lambda: len(camera.audio) >= len(camera.speech), 30, "AudioDataStamped on ~/audio")
    audio = camera.audio[-1]
    decoded = samples_of(audio.audio.data)
    expected = np.asarray(published.samples, np.float32)
    assert decoded.shape == expected.shape
    assert np.abs(decoded - np.clip(expected, -1, 1)).max() <= 1.0 / 32767 + 1e-6  # int16 rounding
    assert seconds_of(audio.header.stamp) == pytest.approx(seconds_of(published.header.stamp), abs=1e-6)
    assert audio.header.frame_id == "test_camera"
    camera.p.spin_until(lambda: camera.audio_info, 10, "AudioInfo on ~/audio_info")
    info = camera.audio_info[-1]
    assert (info.channels, info.sample_rate, info.sample_format, info.coding_format) == (
        1,
        16000,
        "S16LE",
        "wave",
    )
    assert info.bitrate == 16 * 16000


def test_cancel_stops_a_waiting_goal_and_a_synthesizing_one(setup) -> None:
    camera = setup["camera"]
    # waiting for the next utterance: no camera frames come, cancel
    handle, feedback = camera.goal(source=Speak.Goal.SOURCE_NEXT_UTTERANCE, timeout_s=60.0)
    camera.p.spin_until(lambda: feedback, 10, "feedback while waiting")
    assert feedback[-1].stage == "waiting_for_speech"
    cancel = handle.cancel_goal_async()
    camera.p.spin_until(cancel.done, 10, "the cancel reply")
    assert len(cancel.result().goals_canceling) == 1
    assert camera.result(handle, 10).status == GoalStatus.STATUS_CANCELED
    # synthesizing: slow it down (256 steps: ~12 s of sampling for this clip here), cancel at the
    # first "synthesizing" feedback; the model stops at its next diffusion step
    assert all(r.successful for r in camera.p.set_parameters(NODE, steps=256))
    spoken = camera.fresh_status().utterances_spoken
    heard = len(camera.speech)
    handle, feedback = camera.goal(source=Speak.Goal.SOURCE_LAST_SECONDS, seconds=5.0)
    camera.p.spin_until(lambda: any(f.stage == "synthesizing" for f in feedback), 60, "synthesizing feedback")
    canceled_at = time.monotonic()
    cancel = handle.cancel_goal_async()
    reply = camera.result(handle, 30)
    answered_s = time.monotonic() - canceled_at
    assert reply.status == GoalStatus.STATUS_CANCELED and not reply.result.success
    assert answered_s < 1.0, f"cancel answered after {answered_s:.2f} s"
    camera.p.spin_until(lambda: not camera.fresh_status().speaking, 10, "the synthesis to stop")
    stopped_s = time.monotonic() - canceled_at
    assert stopped_s < 4.0, f"synthesis ran on for {stopped_s:.1f} s after the cancel"
    assert "canceled: synthesis stopped between diffusion steps" in read_log(setup["log"])
    status = camera.fresh_status()
    assert status.utterances_spoken == spoken and len(camera.speech) == heard  # its speech went nowhere
    assert all(r.successful for r in camera.p.set_parameters(NODE, steps=4))
    print(f"cancel answered {answered_s:.3f} s, synthesis idle {stopped_s:.2f} s after the request")


def test_a_live_steps_change_takes_effect_on_the_next_utterance_and_bad_values_are_refused(setup) -> None:
    camera = setup["camera"]
    (ok,) = camera.p.set_parameters(NODE, steps=7)
    assert ok.successful
    handle, _ = camera.goal(source=Speak.Goal.SOURCE_LAST_SECONDS, seconds=3.0)
    reply = camera.result(handle)
    assert reply.result.success and reply.result.speech.diffusion_steps == 7
    refused = {
        "steps": 0,  # below the descriptor's range
        "sampler": "nonesuch",
        "expressiveness": 5.0,
        "vad_stop_motion": 0.9,  # above vad_start_motion
        "model_dir": "/elsewhere",  # read on configure: not while active
        "device": "cuda",
    }
    for name, value in refused.items():
        (result,) = camera.p.set_parameters(NODE, **{name: value})
        assert not result.successful and result.reason, name
        print(f"{name}={value!r} refused: {result.reason}")
    (result,) = camera.p.set_parameters(NODE, model_dir="/elsewhere")
    assert "active" in result.reason and "configure" in result.reason
    (result,) = camera.p.set_parameters(NODE, steps=0)
    assert "steps" in result.reason
    assert setup["node"].poll() is None
    handle, _ = camera.goal(source=Speak.Goal.SOURCE_LAST_SECONDS, seconds=3.0)
    assert camera.result(handle).result.speech.diffusion_steps == 7  # the refusals changed nothing
    assert all(r.successful for r in camera.p.set_parameters(NODE, steps=4))


def test_a_text_goal_speaks_typed_text_in_the_voice_of_the_face_in_view(setup) -> None:
    from imagintalk.pipeline.typed import typed_speech

    camera = setup["camera"]
    text = "bin blue at f two now"
    handle, feedback = camera.goal(source=Speak.Goal.SOURCE_TEXT, text=text)
    reply = camera.result(handle)
    assert reply.status == GoalStatus.STATUS_SUCCEEDED, reply.result.message
    speech = reply.result.speech
    frames = typed_speech(text, 16000, 25, 0.25).num_frames  # as long as the text takes (docs/enrollment.md)
    assert speech.reason == "text" and speech.video_frames == frames
    assert len(speech.samples) == round(speech.duration * speech.sample_rate) and feedback[-1].stage == "done"
    handle, _ = camera.goal(source=Speak.Goal.SOURCE_TEXT, text="   ")
    reply = camera.result(handle)
    assert reply.status == GoalStatus.STATUS_ABORTED and "needs a text" in reply.result.message
    handle, _ = camera.goal(source=Speak.Goal.SOURCE_LAST_SECONDS, voice="/nonexistent/voice.wav")
    reply = camera.result(handle)  # a goal's own voice is checked before anything is spoken
    assert reply.status == GoalStatus.STATUS_ABORTED and "cannot read the reference" in reply.result.message


def _rates(status: list, since: float, until: float) -> tuple[float, float]:
    """(frames received, frames processed) per second between the status messages in [since, until]."""
    window = [s for s in status if since <= seconds_of(s.header.stamp) <= until]
    assert len(window) >= 4, "too few status messages in the window"
    first, last = window[0], window[-1]
    span = seconds_of(last.header.stamp) - seconds_of(first.header.stamp)
    return (
        (last.frames_received - first.frames_received) / span,
        (last.frames_processed - first.frames_processed) / span,
    )


def test_image_intake_keeps_its_rate_while_goals_run(setup) -> None:
    camera, frames = setup["camera"], setup["frames"]
    still = frames[:1] * 1  # a face that holds still: no utterance of its own
    seconds, fps = 8.0, 25.0
    assert all(r.successful for r in camera.p.set_parameters(NODE, steps=64))  # long goals

    def run(with_goals: bool) -> tuple[float, float, int]:
        count = int(seconds * fps)
        start_s, goals, handle = time.time(), 0, None
        for i in range(count):
            msg = bgr_to_image(still[0])
            msg.header.stamp = stamp_of(start_s + i / fps)
            delay = start_s + i / fps - time.time()
            if delay > 0:
                camera.p.spin_for(delay)
            camera.images.publish(msg)
            if with_goals and (
                handle is None or handle.status in (GoalStatus.STATUS_SUCCEEDED, GoalStatus.STATUS_ABORTED)
            ):
                future = camera.action.send_goal_async(
                    Speak.Goal(source=Speak.Goal.SOURCE_LAST_SECONDS, seconds=4.0)
                )
                camera.p.spin_until(future.done, 10, "goal accepted")
                handle, goals = future.result(), goals + 1
                handle.get_result_async()
        camera.p.spin_for(1.0)
        # from 2 s in: the first frames after a camera restart wait for the front door's reset
        received, processed = _rates(camera.status, start_s + 2.0, start_s + seconds)
        return received, processed, goals

    idle = run(False)
    busy = run(True)
    camera.p.spin_until(lambda: not camera.fresh_status().speaking, 120, "the last goal to finish")
    assert all(r.successful for r in camera.p.set_parameters(NODE, steps=4))
    print(f"intake idle: {idle[0]:.2f} received/s, {idle[1]:.2f} processed/s; during {busy[2]} goals: "
          f"{busy[0]:.2f} received/s, {busy[1]:.2f} processed/s")  # fmt: skip
    assert busy[2] >= 1
    assert busy[0] == pytest.approx(idle[0], rel=0.10)
    assert busy[1] == pytest.approx(idle[1], rel=0.10)


def test_diagnostics_warn_when_the_camera_stops(setup) -> None:
    camera, frames = setup["camera"], setup["frames"]
    camera.publish(frames[:10])
    name = "imagintalk_speak: speech"

    def latest():
        for array in reversed(camera.diagnostics):
            for status in array.status:
                if status.name == name:
                    return status
        return None

    camera.p.spin_until(
        lambda: latest() is not None and latest().level == DiagnosticStatus.OK, 10, "an OK diagnostic"
    )
    camera.p.spin_until(lambda: latest().level == DiagnosticStatus.WARN, 10, "a WARN diagnostic")
    status = latest()
    assert "camera stopped" in status.message
    values = {kv.key: kv.value for kv in status.values}
    keys = ["camera_rate_hz", "frames_received", "frames_dropped", "frames_lost_upstream", "frames_rejected"]
    keys += ["face_found", "faces_in_view", "pending_utterances", "last_latency_s", "model", "device"]
    assert set(keys) <= set(values)
    assert status.hardware_id == "cpu" and values["device"] == "cpu"
    assert values["state"] == "stopped" and values["faces_in_view"] == "1"
