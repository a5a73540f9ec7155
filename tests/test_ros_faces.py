"""Issue 22 over DDS on loopback: two speech nodes in their own namespaces, each with its own camera,
side by side, choosing among two faces in view by face_selection (largest, centre, roi on ~/target).

The frames are two SynthTalk faces composed side by side: a larger one on the left and a smaller one
at the frame's centre. The model is the debug one with the detector looking at 640 px (at the
default 320 the smaller face is too small to be found).
"""

from __future__ import annotations

import os
import time

import cv2
import numpy as np
import pytest
from ros_helpers import PARAMS_FILE, Participant, messages_or_skip, read_log, ros_env, start, stop
from test_pipeline import make_clips, make_debug_model

msgs = messages_or_skip()

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image, RegionOfInterest  # noqa: E402

from imagintalk.video.io import iter_frames  # noqa: E402
from imagintalk_ros.convert import bgr_to_image  # noqa: E402
from imagintalk_ros.speech_msgs import seconds_of, stamp_of  # noqa: E402

DOMAIN = int(os.environ.get("ROS_DOMAIN_ID", "77")) + 8  # apart from the other ROS test modules
NAMESPACES = ("/cam_a", "/cam_b")
SPLIT_X = 270  # the left face lies left of it, the centred one right of it
pytestmark = pytest.mark.timeout(400)


def two_faces(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """600 x 240 frame: ``left`` enlarged to 240 px at the left edge, ``right`` (192 px) near the centre."""
    canvas = np.full((240, 600, 3), 128, np.uint8)
    canvas[:, :240] = cv2.resize(left, (240, 240))
    canvas[24:216, 300:492] = right
    return canvas


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("ros_faces")
    os.environ.setdefault("ROS_LOG_DIR", str(root / "ros_log"))
    model = make_debug_model(root, overrides=["video.detect_size=640"])
    clips = make_clips(root, 2)
    pairs = zip(*([frame for frame, _ in iter_frames(clip)] for clip in clips))
    frames = [two_faces(a, b) for a, b in pairs]
    env = ros_env(DOMAIN, root / "ros_log")
    nodes, logs = [], []
    started = time.time()
    for namespace, selection in zip(NAMESPACES, ("largest", "centre")):
        logs.append(root / f"node{namespace.replace('/', '_')}.log")
        nodes.append(start(
            "imagintalk_ros.speak_node",
            ["--ros-args", "-r", f"__ns:={namespace}", "--params-file", str(PARAMS_FILE),
             "-p", f"model_dir:={model}", "-p", f"image_topic:={namespace}/image",
             "-p", "qos_reliability:=reliable", "-p", "frame_queue:=200", "-p", "qos_depth:=100",
             "-p", "status_period_s:=0.5",
             "-p", f"face_selection:={selection}"],
            env, logs[-1],
        ))  # fmt: skip
    participant = None
    try:
        participant = Participant(DOMAIN)
        reliable = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
        cameras = {ns: participant.node.create_publisher(Image, f"{ns}/image", reliable) for ns in NAMESPACES}
        targets = {
            ns: participant.node.create_publisher(RegionOfInterest, f"{ns}/imagintalk_speak/target", 10)
            for ns in NAMESPACES
        }
        status = {
            ns: participant.collect(msgs.SpeechStatus, f"{ns}/imagintalk_speak/status") for ns in NAMESPACES
        }
        diagnostics = participant.collect(DiagnosticArray, "/diagnostics")
        for ns in NAMESPACES:
            participant.spin_until(
                lambda ns=ns: any(
                    s.state == "waiting" and seconds_of(s.header.stamp) > started for s in status[ns]
                ),
                180,
                f"the node in {ns} to be active",
            )
        yield {"p": participant, "cameras": cameras, "targets": targets, "status": status,
               "diagnostics": diagnostics, "frames": frames, "logs": logs, "nodes": nodes}  # fmt: skip
    finally:
        if participant is not None:
            participant.close()
        codes = [stop(node) for node in nodes]
        for log in logs:
            print(read_log(log)[-2000:])
    assert all(code in (0, -2) for code in codes), f"exit codes {codes}"


def publish(setup, namespace: str, frames: list[np.ndarray], fps: float = 25.0) -> None:
    p, camera = setup["p"], setup["cameras"][namespace]
    start_s = time.time()
    for i, frame in enumerate(frames):
        msg = bgr_to_image(frame)
        msg.header.stamp = stamp_of(start_s + i / fps)
        delay = start_s + i / fps - time.time()
        if delay > 0:
            p.spin_for(delay)
        camera.publish(msg)


def settled(setup, namespace: str, received: int):
    """The first status of ``namespace`` that counts ``received`` frames processed."""
    status = setup["status"][namespace]
    setup["p"].spin_until(
        lambda: status and status[-1].frames_processed >= received, 60, f"{received} frames in {namespace}"
    )
    return status[-1]


def centre_x(status) -> float:
    assert len(status.voiced_face) == 4, "no voiced face"
    return (status.voiced_face[0] + status.voiced_face[2]) / 2


def test_two_namespaced_nodes_each_take_their_own_camera_and_choose_their_face(setup) -> None:
    a, b = NAMESPACES
    publish(setup, a, setup["frames"][:20])
    publish(setup, b, setup["frames"][:12])
    status_a, status_b = settled(setup, a, 20), settled(setup, b, 12)
    assert (status_a.frames_received, status_b.frames_received) == (20, 12)  # each its own camera only
    assert status_a.faces_in_view == 2 and status_b.faces_in_view == 2
    assert status_a.face_selection == "largest" and centre_x(status_a) < SPLIT_X  # the larger, left face
    assert status_b.face_selection == "centre" and centre_x(status_b) > SPLIT_X  # the centred one
    names = {s.name for array in setup["diagnostics"] for s in array.status}
    assert {"cam_a/imagintalk_speak: speech", "cam_b/imagintalk_speak: speech"} <= names
    print(f"largest voices x={centre_x(status_a):.0f}, centre voices x={centre_x(status_b):.0f}")


def test_roi_on_the_target_topic_chooses_the_face_in_it_and_tracking_holds(setup) -> None:
    b = NAMESPACES[1]
    p, frames = setup["p"], setup["frames"]
    assert all(r.successful for r in p.set_parameters(f"{b}/imagintalk_speak", face_selection="roi"))
    count = setup["status"][b][-1].frames_processed
    for roi, left in (((0, 0, 240, 240), True), ((300, 24, 192, 192), False)):
        setup["targets"][b].publish(
            RegionOfInterest(x_offset=roi[0], y_offset=roi[1], width=roi[2], height=roi[3])
        )
        p.spin_for(0.3)
        publish(setup, b, frames[:10])
        count += 10
        status = settled(setup, b, count)
        assert status.face_selection == "roi" and status.faces_in_view == 2
        assert (centre_x(status) < SPLIT_X) == left, f"roi {roi}: voiced x={centre_x(status):.0f}"
    (refused,) = p.set_parameters(f"{b}/imagintalk_speak", face_selection="loudest")
    assert not refused.successful and "largest, centre, roi" in refused.reason
    assert all(node.poll() is None for node in setup["nodes"])
