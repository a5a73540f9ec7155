"""The speech node in its own process, over Fast DDS on loopback (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST).

One node process (started like the launch file starts it: config/speak.yaml as --params-file, a
debug model, play_audio on a real ALSA output device: a file sink) serves the whole module; the
tests run in order: video -> speech (and the same samples on the sound device), push-to-talk,
frames lost upstream, bad input, lifecycle. The test process is a third DDS participant that
publishes and listens. Every participant uses the shipped Fast DDS profile.
"""

from __future__ import annotations

import json
import os
import time

import cv2
import numpy as np
import pytest
from ros_helpers import PARAMS_FILE, AlsaFileSink, messages_or_skip, read_log, ros_env, start, stop
from test_pipeline import make_clips, make_debug_model

msgs = messages_or_skip()

import rclpy  # noqa: E402
import rclpy.executors  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState, GetState  # noqa: E402
from rcl_interfaces.srv import SetParameters  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CompressedImage, Image  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from imagintalk.settings import load_config  # noqa: E402
from imagintalk.stream import LipStream  # noqa: E402
from imagintalk.video.io import iter_frames  # noqa: E402
from imagintalk_ros.audio_out import to_pcm16  # noqa: E402
from imagintalk_ros.convert import bgr_to_image  # noqa: E402
from imagintalk_ros.dds import profile_environment  # noqa: E402
from imagintalk_ros.speech_msgs import seconds_of, stamp_of  # noqa: E402

DOMAIN = int(os.environ.get("ROS_DOMAIN_ID", "77")) + 4  # apart from other ROS tests' domains
NODE = "/imagintalk_speak"
TOPIC = "/test/image"
pytestmark = pytest.mark.timeout(300)


class Listener:
    """The test's own participant: ~/speech and ~/status of the node, an image publisher, clients."""

    def __init__(self) -> None:
        profile_environment(os.environ)  # before init: this participant publishes the frames
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=DOMAIN)
        self.node = rclpy.create_node("imagintalk_test", context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.speech: list = []
        self.status: list = []
        self.node.create_subscription(msgs.SpeechAudio, f"{NODE}/speech", self.speech.append, 10)
        self.node.create_subscription(msgs.SpeechStatus, f"{NODE}/status", self.status.append, 10)
        self.diagnostics: list = []
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append, 10)
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        self.images = self.node.create_publisher(Image, TOPIC, reliable)
        self.compressed = self.node.create_publisher(CompressedImage, f"{TOPIC}/compressed", reliable)
        self.clients = {
            "change": self.node.create_client(ChangeState, f"{NODE}/change_state"),
            "get": self.node.create_client(GetState, f"{NODE}/get_state"),
            "params": self.node.create_client(SetParameters, f"{NODE}/set_parameters"),
            "speak_last": self.node.create_client(Trigger, f"{NODE}/speak_last"),
        }

    def spin_until(self, predicate, timeout: float, what: str) -> None:
        """Spin until ``predicate()``; fail the test after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout} s waiting for {what}")
            self._spin()

    def _spin(self) -> None:
        self.executor.spin_once(timeout_sec=0.05)

    def fresh_status(self, timeout: float = 10.0):
        """The first status published after now."""
        seen = len(self.status)
        self.spin_until(lambda: len(self.status) > seen, timeout, "a status message")
        return self.status[-1]

    def call(self, name: str, request, timeout: float = 90.0):
        client = self.clients[name]
        deadline = time.monotonic() + timeout
        while not client.service_is_ready():
            if time.monotonic() > deadline:
                pytest.fail(f"service {client.srv_name} not available")
            self._spin()
        future = client.call_async(request)
        self.spin_until(future.done, timeout, f"the reply of {client.srv_name}")
        return future.result()

    def transition(self, transition_id: int) -> bool:
        return self.call("change", ChangeState.Request(transition=Transition(id=transition_id))).success

    def state(self) -> str:
        return self.call("get", GetState.Request()).current_state.label

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("ros_node")
    os.environ.setdefault("ROS_LOG_DIR", str(root / "ros_log"))
    model = make_debug_model(root)
    clip = make_clips(root, 1)[0]
    env = ros_env(DOMAIN, root / "ros_log")
    sink = AlsaFileSink.create(root / "sink")
    env["ALSA_CONFIG_PATH"] = str(sink.config)  # the node process's sound device
    node_log = root / "node.log"
    started = time.time()  # a status from before is a stray node's of an earlier run, not this one's
    node = start(
        "imagintalk_ros.speak_node",
        ["--ros-args", "--params-file", str(PARAMS_FILE), "-p", f"model_dir:={model}", "-p", "steps:=4",
         "-p", f"image_topic:={TOPIC}", "-p", "qos_reliability:=reliable", "-p", "frame_queue:=200",
         "-p", "status_period_s:=0.5", "-p", "camera_timeout_s:=0.8", "-p", "qos_depth:=100",
         "-p", "play_audio:=true", "-p", f"audio_device:={sink.name}"],
        env, node_log,
    )  # fmt: skip
    listener = None
    try:
        listener = Listener()
        listener.spin_until(
            lambda: any(
                s.state == "waiting" and seconds_of(s.header.stamp) > started for s in listener.status
            ),
            120,
            "the node to be active",
        )
        yield {"root": root, "model": model, "clip": clip, "env": env, "node": node, "log": node_log,
               "ros": listener, "sink": sink}  # fmt: skip
    finally:
        if listener is not None:
            listener.close()
        code = stop(node)
        print(read_log(node_log)[-3000:])
    assert code in (0, -2), f"the node exited with {code}"


def test_video_source_frames_become_speech_of_the_utterance_length(setup) -> None:
    ros, clip = setup["ros"], setup["clip"]
    source_log = setup["root"] / "source.log"
    source = start(
        "imagintalk_ros.video_source",
        [str(clip), "--ros-args", "-p", f"topic:={TOPIC}", "-p", "reliability:=reliable",
         "-p", "wait_for_subscribers:=1", "-p", "frame_id:=test_camera"],
        setup["env"], source_log,
    )  # fmt: skip
    try:
        ros.spin_until(lambda: ros.speech, 120, "a SpeechAudio message")
        assert source.wait(30) == 0, read_log(source_log)
    finally:
        stop(source)
    speech = ros.speech[0]
    published = int(read_log(source_log).split("published ")[1].split()[0])
    # the same frames at the file's timing through LipStream here: the utterance the node should find
    stream = LipStream(load_config("debug"))
    utterances = [u.utterance for u in (stream.push(f, t) for f, t in iter_frames(clip)) if u.utterance]
    expected = utterances[0] if utterances else stream.flush()
    assert speech.header.frame_id == "test_camera"
    assert speech.sample_rate == 16000 and speech.channels == 1 and speech.encoding == "float32"
    assert len(speech.samples) == round(speech.duration * speech.sample_rate)
    assert speech.duration == pytest.approx(speech.video_frames / speech.video_fps, abs=1e-6)
    assert speech.duration == pytest.approx(expected.duration_s, abs=0.12)  # +- 3 frames of arrival jitter
    assert np.isfinite(np.asarray(speech.samples)).all() and np.abs(speech.samples).max() > 0
    assert len(speech.units) == speech.video_frames * speech.token_frames_per_video_frame
    assert speech.diffusion_steps == 4 and speech.latency > 0
    assert list(speech.stage_names)[:2] == ["queue", "front_door"] and len(speech.stage_seconds) == 7
    status = ros.fresh_status()
    assert status.frames_received == published  # reliable QoS: every frame arrived
    assert status.frames_dropped == 0 and status.utterances_spoken == len(ros.speech)
    assert status.frames_lost_upstream == 0
    assert status.state == "stopped" and not status.camera_active  # the source has ended
    assert status.last_duration == pytest.approx(ros.speech[-1].duration, abs=1e-6)
    # play_audio: the sound device got exactly the last utterance's samples (played in real time)
    expected_pcm = to_pcm16(np.asarray(ros.speech[-1].samples, np.float32))[:, 0]
    sink = setup["sink"]
    ros.spin_until(
        lambda: (played := sink.samples()) is not None and np.array_equal(played, expected_pcm),
        30,
        "the speech on the ALSA sink",
    )
    assert "play_audio: cannot play" not in read_log(setup["log"])


def test_push_to_talk_speaks_the_buffered_seconds(setup) -> None:
    ros = setup["ros"]
    before = len(ros.speech)
    reply = ros.call("speak_last", Trigger.Request())
    assert reply.success, reply.message
    ros.spin_until(lambda: len(ros.speech) > before, 60, "the push-to-talk speech")
    speech = ros.speech[-1]
    assert speech.reason == "push_to_talk"
    assert 1.0 < speech.duration <= 5.0 + 0.04  # the whole ~2 s clip (push_to_talk_s is 5 s)


def face_frame(clip) -> np.ndarray:
    return next(iter(iter_frames(clip)))[0]


def test_frames_missing_between_camera_stamps_are_counted_as_lost_upstream(setup) -> None:
    ros = setup["ros"]
    before = ros.fresh_status()
    frame, start_s = bgr_to_image(face_frame(setup["clip"])), time.time()
    sent = [i for i in range(40) if i not in (15, 25, 26, 27)]  # a 25 fps camera; 4 frames lost on the way
    for i in sent:
        frame.header.stamp = stamp_of(start_s + i / 25)
        ros.images.publish(frame)
    ros.spin_until(
        lambda: ros.status[-1].frames_received >= before.frames_received + len(sent), 30, "the frames"
    )
    status = ros.fresh_status()
    assert status.frames_lost_upstream - before.frames_lost_upstream == 4
    assert status.frames_dropped == before.frames_dropped  # not the node's own drops


def test_bad_input_is_counted_by_kind_logged_once_and_survived(setup) -> None:
    ros, clip = setup["ros"], setup["clip"]
    good = face_frame(clip)
    now = time.time()

    def image(**change) -> Image:
        msg = bgr_to_image(good)
        msg.header.stamp = stamp_of(change.pop("stamp", time.time()))
        for name, value in change.items():
            setattr(msg, name, value)
        return msg

    bad = [
        image(encoding="16UC1"),
        image(step=10),
        image(height=good.shape[0] + 5),  # data ends before the last row
        image(height=0, width=0, step=0, data=b""),
        image(height=50_000, width=50_000, step=150_000, data=b""),
    ]
    ordered = [image(stamp=now + 10.0), image(stamp=now + 10.0), image(stamp=now + 9.5)]  # repeated, back
    blank = image(stamp=now + 10.2, data=np.full(good.shape, 90, np.uint8).tobytes())  # no face in it
    for _ in range(3):  # three times each: still one log line per kind
        for msg in bad:
            ros.images.publish(msg)
    for msg in [*ordered, blank]:
        ros.images.publish(msg)
    expected = {
        "encoding": 3,
        "step": 3,
        "size": 3,
        "empty": 3,
        "too_large": 3,
        "repeated_stamp": 1,
        "out_of_order": 1,
    }

    def counted() -> bool:
        kinds = dict(zip(ros.status[-1].rejected_kinds, ros.status[-1].rejected_counts)) if ros.status else {}
        return all(kinds.get(k, 0) >= n for k, n in expected.items())

    ros.spin_until(counted, 30, "every bad input in the status")
    status = ros.status[-1]
    kinds = dict(zip(status.rejected_kinds, status.rejected_counts))
    assert {k: kinds[k] for k in expected} == expected
    assert status.frames_rejected == sum(kinds.values())
    ros.spin_until(lambda: not ros.status[-1].camera_active, 10, "the camera-stopped state")
    assert ros.status[-1].state == "stopped" and not ros.status[-1].face_found  # the last frame was blank
    log = read_log(setup["log"])
    for kind in ("encoding", "step", "size", "empty", "too_large"):
        assert log.count(f"bad input ({kind})") == 1, kind
    assert setup["node"].poll() is None  # alive
    processed = ros.status[-1].frames_processed
    ros.images.publish(image(stamp=time.time()))  # and still taking frames
    ros.spin_until(lambda: ros.status[-1].frames_processed > processed, 10, "a good frame after the bad ones")


def test_lifecycle_deactivate_reconfigure_for_jpeg_and_failed_activate(setup) -> None:
    ros = setup["ros"]
    assert ros.state() == "active"
    assert ros.transition(Transition.TRANSITION_DEACTIVATE)
    assert ros.state() == "inactive" and ros.fresh_status().state == "inactive"
    assert not ros.call("speak_last", Trigger.Request()).success  # not while inactive
    assert ros.transition(Transition.TRANSITION_CLEANUP) and ros.state() == "unconfigured"
    values = [Parameter("image_transport", value="compressed").to_parameter_msg(),
              Parameter("image_topic", value=f"{TOPIC}/compressed").to_parameter_msg(),
              Parameter("model_dir", value=str(setup["root"] / "no_model")).to_parameter_msg()]  # fmt: skip
    assert all(r.successful for r in ros.call("params", SetParameters.Request(parameters=values)).results)
    assert ros.transition(Transition.TRANSITION_CONFIGURE) and ros.state() == "inactive"
    assert not ros.transition(Transition.TRANSITION_ACTIVATE)  # no model there: stays inactive
    assert ros.state() == "inactive" and "no model directory" in ros.fresh_status().last_error
    seen = len(ros.diagnostics)
    ros.spin_until(lambda: len(ros.diagnostics) > seen, 10, "a /diagnostics message")
    (health,) = [s for s in ros.diagnostics[-1].status if s.name == "imagintalk_speak: speech"]
    assert health.level == DiagnosticStatus.ERROR and "no model directory" in health.message  # failed load
    fix = [Parameter("model_dir", value=str(setup["model"])).to_parameter_msg()]
    assert ros.call("params", SetParameters.Request(parameters=fix)).results[0].successful
    assert ros.transition(Transition.TRANSITION_CLEANUP)  # parameters are read on configure
    assert ros.transition(Transition.TRANSITION_CONFIGURE)
    assert ros.transition(Transition.TRANSITION_ACTIVATE) and ros.state() == "active"
    ros.spin_until(lambda: ros.status[-1].state in ("waiting", "stopped"), 10, "an active status")
    before = ros.status[-1]
    corrupt = CompressedImage(format="jpeg")
    corrupt.data = b"\xff\xd8\xff\xe0" + bytes(100)
    jpeg = CompressedImage(format="jpeg")
    jpeg.data = cv2.imencode(".jpg", face_frame(setup["clip"]))[1].tobytes()
    jpeg.header.stamp = stamp_of(time.time())
    ros.compressed.publish(corrupt)
    ros.compressed.publish(jpeg)

    def both_arrived() -> bool:
        status = ros.status[-1]
        kinds = dict(zip(status.rejected_kinds, status.rejected_counts))
        return kinds.get("corrupt", 0) == 1 and status.frames_processed > before.frames_processed

    ros.spin_until(both_arrived, 30, "a corrupt jpeg rejected and a good one processed")
    assert seconds_of(ros.status[-1].header.stamp) > 0


def reload_with(ros: Listener, **values: str) -> bool:
    """Deactivate, clean up, set ``values``, configure and activate again -> whether it came up active."""
    if ros.state() == "active":
        assert ros.transition(Transition.TRANSITION_DEACTIVATE)
    if ros.state() == "inactive":
        assert ros.transition(Transition.TRANSITION_CLEANUP)
    params = [Parameter(name, value=value).to_parameter_msg() for name, value in values.items()]
    assert all(r.successful for r in ros.call("params", SetParameters.Request(parameters=params)).results)
    assert ros.transition(Transition.TRANSITION_CONFIGURE)
    return ros.transition(Transition.TRANSITION_ACTIVATE)


def test_a_users_profile_is_loaded_on_activate_and_a_missing_one_refused(setup, tmp_path) -> None:
    from imagintalk.enroll import clip_from_video, enroll
    from imagintalk.enroll.adapt import AdaptSettings
    from imagintalk.pipeline import Pipeline

    pipe = Pipeline.from_dir(setup["model"])
    text = json.loads((setup["root"] / "synth" / "manifest.jsonl").read_text().splitlines()[0])["text"]
    profile = enroll(pipe, [clip_from_video(pipe, setup["clip"], text)], "robot", AdaptSettings(max_epochs=1))
    folder = profile.save(tmp_path / "robot")
    ros = setup["ros"]
    assert not reload_with(ros, profile=str(tmp_path / "nobody"))  # stays inactive, says why
    assert ros.state() == "inactive" and "no profile" in ros.fresh_status().last_error
    assert reload_with(ros, profile=str(folder)) and ros.state() == "active"
    assert "profile: robot" in read_log(setup["log"])
    assert reload_with(ros, profile="")
