"""``imagintalk_video_source``: a video file or a webcam as a sensor_msgs/Image topic, in real time.

    imagintalk-ros-video-source clip.mp4 --ros-args -p topic:=/camera/image_raw -p wait_for_subscribers:=1

For demos and tests without a camera driver. Frames are published as bgr8 at the file's own
timing (or ``fps``), stamped with their capture time (the start plus the frame's time in the
file), as a camera driver stamps them; the node exits when the file
has ended (unless ``loop``). A webcam (``video`` empty) is read at its own rate.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from sensor_msgs.msg import Image

from imagintalk.errors import ImaginTalkError, InputError
from imagintalk.video.io import iter_frames

from .convert import bgr_to_image
from .dds import use_shipped_profile

PARAMS = {
    "video": "",
    "camera": 0,
    "topic": "/camera/image_raw",
    "frame_id": "camera",
    "fps": 0.0,
    "loop": False,
    "reliability": "best_effort",
    "wait_for_subscribers": 0,
}


def webcam_frames(index: int) -> Iterator[tuple[np.ndarray, float]]:
    """(BGR frame, seconds since the first) from webcam ``index`` until it stops delivering."""
    import cv2

    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise InputError(f"cannot open webcam {index}")
    started = time.monotonic()
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame, time.monotonic() - started
    finally:
        capture.release()


class VideoSource(Node):
    """Publishes frames on ``topic``; ``finished`` once the video has ended."""

    def __init__(self, video: str | None = None) -> None:
        super().__init__("imagintalk_video_source")
        for name, default in PARAMS.items():
            self.declare_parameter(name, default)
        value = {name: self.get_parameter(name).value for name in PARAMS}
        self.video = video or value["video"]
        self.camera, self.fps, self.loop = int(value["camera"]), float(value["fps"]), bool(value["loop"])
        self.frame_id, self.wait_for = value["frame_id"], int(value["wait_for_subscribers"])
        reliable = value["reliability"] == "reliable"
        qos = QoSProfile(
            depth=5,
            history=HistoryPolicy.KEEP_LAST,
            reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        )
        self.publisher = self.create_publisher(Image, value["topic"], qos)
        self.published = 0
        self.finished = False

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        """(BGR frame, its time in seconds from the start), looping if asked."""
        if not self.video:
            yield from webcam_frames(self.camera)
            return
        offset = 0.0
        while True:
            last = 0.0
            for index, (frame, time_s) in enumerate(iter_frames(self.video, color="bgr")):
                last = index / self.fps if self.fps > 0 else time_s
                yield frame, offset + last
            if not self.loop or self.published == 0:
                return
            offset += last + (1.0 / self.fps if self.fps > 0 else 0.04)

    def run(self) -> None:
        """Wait for subscribers (if asked), then publish every frame at its time."""
        deadline = time.monotonic() + 30.0
        while rclpy.ok() and self.publisher.get_subscription_count() < self.wait_for:
            if time.monotonic() > deadline:
                self.get_logger().warning(f"no {self.wait_for} subscribers after 30 s; publishing anyway")
                break
            rclpy.spin_once(self, timeout_sec=0.05)
        started = time.monotonic()
        first_stamp_ns = self.get_clock().now().nanoseconds
        for frame, time_s in self.frames():
            delay = started + time_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if not rclpy.ok():
                break
            msg = bgr_to_image(frame)
            # the capture time, as a camera driver stamps it: the frame's own time in the video, not
            # the moment this (possibly late, then catching up) process got to publish it
            msg.header.stamp = Time(nanoseconds=first_stamp_ns + int(time_s * 1e9)).to_msg()
            msg.header.frame_id = self.frame_id
            self.publisher.publish(msg)
            self.published += 1
        self.finished = True
        self.get_logger().info(f"published {self.published} frames in {time.monotonic() - started:.1f} s")


def main(argv: list[str] | None = None) -> None:
    """Console script: ``imagintalk-ros-video-source [VIDEO] [--ros-args ...]``."""
    argv = sys.argv if argv is None else argv
    use_shipped_profile()  # before rclpy.init; the sender's shared-memory segment carries the frames
    rclpy.init(args=argv)
    plain = rclpy.utilities.remove_ros_args(argv)[1:]
    node = None
    try:
        node = VideoSource(plain[0] if plain else None)
        node.run()
        time.sleep(0.5)  # let the last frames leave before the participant goes away
    except ImaginTalkError as exc:
        print(f"imagintalk-ros-video-source: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
