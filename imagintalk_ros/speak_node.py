"""``imagintalk_speak``: the lifecycle node that turns a camera topic into speech (docs/ros.md).

    imagintalk-ros-speak --ros-args --params-file config/speak.yaml -p model_dir:=models/imagintalk

configure: read and check the parameters, create ~/speech, ~/speak_last. activate: load the model
onto the device, start the front-door thread and the speech worker, subscribe to the camera.
deactivate: unsubscribe, stop both threads, free the model. Frames go subscription -> (convert)
-> FrameThread (LipStream: front door + visual VAD, bounded) -> SpeechWorker (bounded queue) ->
~/speech; ~/status reports state, rates, drops, rejected input and latency. Run as a console
script (or with autostart:=true, as the launch file does) it configures and activates itself.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections import deque
from collections.abc import Callable

import rclpy
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import State, TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_srvs.srv import Trigger

from imagintalk.errors import ImaginTalkError
from imagintalk.stream import LipStream, SpeechJob, SpeechWorker, StreamUpdate, Utterance
from imagintalk.video.warmup import warm_up_detector

from . import params as node_params
from .audio_out import AudioOut
from .backend import load_pipeline
from .convert import FrameError, compressed_to_bgr, image_to_bgr
from .dds import use_shipped_profile
from .frame_loss import UpstreamLossEstimator
from .frame_thread import FrameThread
from .messages import load_messages
from .speech_msgs import seconds_of, speech_audio, speech_status

NODE_NAME = "imagintalk_speak"


class SpeakNode(LifecycleNode):
    """Camera frames in, SpeechAudio out; see the module docstring for the lifecycle."""

    def __init__(self, autostart_default: bool = False, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self.msgs = load_messages()
        node_params.declare(self, autostart=autostart_default)
        self.params: node_params.NodeParams | None = None
        self.label = "unconfigured"  # lifecycle state shown in status
        self._lock = threading.Lock()  # guards the counters below (executor, frame and worker threads)
        self._rejected: dict[str, int] = {}
        self._logged_kinds: set[str] = set()
        self._arrivals: deque[float] = deque()
        self.frames_received = 0
        self.spoken = self.failed = 0
        self.last_latency = self.last_duration = 0.0
        self.last_error = ""
        self._last_arrival: float | None = None
        self._camera_active = False
        self._closing = False  # a flush after a camera stop is on its way to the worker
        self._face_found = False
        self._frame_id = ""
        self._upstream = UpstreamLossEstimator()  # frames lost before the callback, from stamp gaps
        self.autostart_failed = False  # main() exits non-zero: a node that was asked to start and cannot
        self._speech_pub = self._service = self._timer = self._watchdog = self._sub = None
        self._pipeline = self._worker = self._frames = self._stream = self._audio = None
        self._status_pub = self.create_publisher(self.msgs.SpeechStatus, "~/status", 10)
        if self.get_parameter("autostart").value:
            configured = self.trigger_configure() == TransitionCallbackReturn.SUCCESS
            self.autostart_failed = not (
                configured and self.trigger_activate() == TransitionCallbackReturn.SUCCESS
            )

    # ---------------------------------------------------------------- lifecycle

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        try:
            self.params = node_params.read(self)
        except (ImaginTalkError, TypeError) as exc:
            self.get_logger().error(f"configure failed: {exc}")
            self.last_error = str(exc)
            return TransitionCallbackReturn.FAILURE
        p = self.params
        self._speech_pub = self.create_lifecycle_publisher(self.msgs.SpeechAudio, "~/speech", 10)
        self._service = self.create_service(Trigger, "~/speak_last", self._on_speak_last)
        self._timer = self.create_timer(p.status_period_s, self._publish_status)
        self._watchdog = self.create_timer(min(p.camera_timeout_s / 4, 0.25), self._check_camera)
        self._audio = AudioOut(p.audio_device, self.get_logger()) if p.play_audio else None
        self.label = "inactive"
        self.get_logger().info(f"configured: {p.image_transport} images on {p.image_topic}, steps={p.steps}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        p = self.params
        started = time.perf_counter()
        try:
            pipeline = load_pipeline(p, self.get_logger().info)
            # dlib's models load here, not on the first camera frame (imagintalk.video.warmup)
            warm_up_detector(pipeline.detector, pipeline.cfg.video.detect_size)
            stream = LipStream(pipeline.cfg, p.vad(), p.buffer_s, detector=pipeline.detector, color="bgr")
        except Exception as exc:  # a missing model or device: stay inactive and say why
            self.get_logger().error(f"activate failed: cannot load the model: {exc}")
            self.last_error = str(exc)
            return TransitionCallbackReturn.FAILURE
        self._pipeline, self._stream = pipeline, stream
        self._worker = SpeechWorker(lambda: pipeline, self._on_spoken, p.max_pending, p.drop_policy)
        self._worker.start()
        self._frames = FrameThread(stream, self._on_utterance, self._on_update, p.frame_queue)
        self._upstream = UpstreamLossEstimator(max_gap_s=p.camera_timeout_s)
        reliability = (
            ReliabilityPolicy.RELIABLE if p.qos_reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT
        )
        qos = QoSProfile(depth=p.qos_depth, history=HistoryPolicy.KEEP_LAST, reliability=reliability)
        msg_type = Image if p.image_transport == "raw" else CompressedImage
        self._sub = self.create_subscription(msg_type, p.image_topic, self._on_image, qos)
        self.label = "active"
        self.get_logger().info(
            f"active: model {p.model_dir or 'models/imagintalk'} on {pipeline.device} "
            f"loaded in {time.perf_counter() - started:.1f} s"
        )
        return super().on_activate(state)

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._stop_processing()
        self.label = "inactive"
        self.get_logger().info("inactive: model freed")
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        for timer in (self._timer, self._watchdog):
            if timer is not None:
                self.destroy_timer(timer)
        if self._service is not None:
            self.destroy_service(self._service)
        if self._speech_pub is not None:
            self.destroy_lifecycle_publisher(self._speech_pub)
        if self._audio is not None:
            self._audio.close()
        self._timer = self._watchdog = self._service = self._speech_pub = self._audio = None
        self.label = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self._stop_processing()
        self.label = "finalized"
        return TransitionCallbackReturn.SUCCESS

    def _stop_processing(self) -> None:
        """Unsubscribe, stop the threads, drop the model (what activate built)."""
        if self._sub is not None:
            self.destroy_subscription(self._sub)
        if self._frames is not None:
            self._frames.stop()
        if self._worker is not None:
            self._worker.stop(wait=True, timeout=60.0)
        device = getattr(self._pipeline, "device", None)
        self._sub = self._frames = self._worker = self._pipeline = self._stream = None
        gc.collect()
        if device is not None and device.type == "cuda":
            import torch

            torch.cuda.empty_cache()
        self._camera_active = False

    # ---------------------------------------------------------------- frames in

    def _on_image(self, msg: Image | CompressedImage) -> None:
        """Subscription callback: convert and hand over (never runs the front door or the model)."""
        frames = self._frames
        if frames is None:
            return
        now = time.monotonic()
        with self._lock:
            self.frames_received += 1
            self._arrivals.append(now)
        if not self._camera_active:
            if self._last_arrival is not None:
                self.get_logger().info("camera: frames again")
                frames.command("reset")  # a new stream: the VAD must not bridge the gap
                self._upstream.restart()
            self._camera_active = True
        self._last_arrival = now
        p = self.params
        try:
            convert = image_to_bgr if isinstance(msg, Image) else compressed_to_bgr
            image = convert(msg, p.max_pixels)
        except FrameError as exc:
            self._reject(exc.kind, str(exc))
            return
        stamp = seconds_of(msg.header.stamp)
        if stamp != 0.0:
            self._upstream.observe(stamp)  # before conversion: a bad frame still arrived
        if stamp == 0.0:  # an unset stamp: the arrival time is the best guess of the capture time
            self._note_once("no_stamp", "frames without header.stamp: using their arrival time")
            stamp = self.get_clock().now().nanoseconds * 1e-9
        self._frame_id = msg.header.frame_id
        frames.offer(image, stamp)

    def _on_update(self, update: StreamUpdate) -> None:
        """Frame thread: LipStream's verdict on one frame."""
        if update.rejected:
            self._reject(update.rejected, f"frame rejected by the stream: {update.rejected}")
        elif update.observation is not None:
            self._face_found = update.observation.found
            if not self._face_found:
                self._note_once("no_face", "frames without a face: nothing to speak until one appears")

    def _reject(self, kind: str, message: str) -> None:
        with self._lock:
            self._rejected[kind] = self._rejected.get(kind, 0) + 1
        self._note_once(kind, f"bad input ({kind}): {message} (logged once; counted in ~/status)")

    def _note_once(self, kind: str, message: str) -> None:
        with self._lock:
            first = kind not in self._logged_kinds
            self._logged_kinds.add(kind)
        if first:
            self.get_logger().warning(message)

    def _check_camera(self) -> None:
        """Watchdog: no frame for camera_timeout_s -> the camera stopped; speak what is open."""
        last, frames = self._last_arrival, self._frames
        if not self._camera_active or last is None or frames is None:
            return
        if time.monotonic() - last > self.params.camera_timeout_s:
            self._camera_active = False
            self._closing = True
            self.get_logger().warning(
                f"camera: no frame for {self.params.camera_timeout_s} s; closing the utterance"
            )
            frames.command("flush").add_done_callback(lambda _: setattr(self, "_closing", False))

    # ---------------------------------------------------------------- speech out

    def _on_utterance(self, utterance: Utterance) -> None:
        """Frame thread: an utterance ended -> the worker (which may drop by policy)."""
        worker = self._worker
        if worker is not None and not worker.submit(utterance):
            self._note_once(
                "utterance_dropped", "synthesis cannot keep up: utterances dropped (see ~/status)"
            )

    def _on_spoken(self, job: SpeechJob) -> None:
        """Worker thread: publish the speech (or count the failure)."""
        if job.result is None:
            with self._lock:
                self.failed += 1
                self.last_error = f"{type(job.error).__name__}: {job.error}"
            self._note_once(f"speak_{type(job.error).__name__}", f"an utterance was not spoken: {job.error}")
            return
        latency = time.perf_counter() - job.submitted_at
        msg = speech_audio(self.msgs, job, self._frame_id, latency, self.params.steps)
        publisher = self._speech_pub
        if publisher is not None:
            publisher.publish(msg)
        with self._lock:
            self.spoken += 1
            self.last_latency, self.last_duration = latency, msg.duration
        self.get_logger().info(
            f"spoke {msg.duration:.2f} s ({job.utterance.reason}), {latency:.2f} s after the utterance ended"
        )
        if self._audio is not None:
            self._audio.play(job.result.wav, job.result.sample_rate)

    def _on_speak_last(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        """~/speak_last: speak the last push_to_talk_s seconds now."""
        frames, worker, seconds = self._frames, self._worker, self.params.push_to_talk_s
        if frames is None or worker is None:
            response.success, response.message = False, f"not active ({self.label})"
            return response
        try:
            utterance = frames.command("speak_last", seconds).result(timeout=30.0)
        except Exception as exc:
            response.success, response.message = False, f"push-to-talk failed: {exc}"
            return response
        if utterance is None:
            response.success, response.message = False, f"no face in the last {seconds:.1f} s"
        elif not worker.submit(utterance):
            response.success, response.message = False, "dropped: synthesis is busy (drop_policy)"
        else:
            response.success = True
            response.message = f"speaking {utterance.duration_s:.2f} s from {utterance.start_s:.3f}"
        return response

    # ---------------------------------------------------------------- status

    def status_fields(self) -> tuple[dict, dict[str, int]]:
        """The SpeechStatus fields now (and rejected counts by kind)."""
        period = self.params.status_period_s if self.params else 1.0
        now = time.monotonic()
        with self._lock:
            while self._arrivals and now - self._arrivals[0] > period:
                self._arrivals.popleft()
            fps = len(self._arrivals) / period
            rejected = dict(self._rejected)
            fields = {
                "frames_received": self.frames_received,
                "utterances_spoken": self.spoken,
                "utterances_failed": self.failed,
                "last_latency": float(self.last_latency),
                "last_duration": float(self.last_duration),
                "last_error": self.last_error,
            }
        frames, worker, stream = self._frames, self._worker, self._stream
        counters = stream.counters if stream is not None else {}
        fields.update(
            state=self._state(stream),
            face_found=bool(self._face_found),
            camera_active=bool(self._camera_active),
            fps_in=float(fps),
            frames_processed=frames.processed if frames else 0,
            frames_dropped=frames.dropped if frames else 0,
            frames_lost_upstream=self._upstream.lost,
            utterances_dropped=worker.dropped if worker else 0,
            utterances_too_short=counters.get("discarded_short", 0) + counters.get("utterances_unusable", 0),
            pending=min(worker.pending if worker else 0, 255),
            speaking=bool((worker is not None and worker.busy) or self._closing),
        )
        return fields, rejected

    def _state(self, stream: LipStream | None) -> str:
        if self.label != "active" or stream is None:
            return self.label
        if self._last_arrival is None:
            return "waiting"
        if not self._camera_active:
            return "stopped"
        return stream.state

    def _publish_status(self) -> None:
        fields, rejected = self.status_fields()
        self._status_pub.publish(speech_status(self.msgs, self.get_clock().now().to_msg(), fields, rejected))


def spin(node: SpeakNode, until: Callable[[], bool] | None = None) -> None:
    """Spin ``node`` until shutdown (Ctrl-C, SIGTERM) or ``until()``; then stop its threads."""
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while rclpy.ok() and not (until and until()):
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node._stop_processing()
        executor.remove_node(node)


def main(argv: list[str] | None = None) -> None:
    """Console script: the node, configured and activated (unless autostart:=false).

    Exit 2 when the messages are not built, 1 when autostart could not configure or activate
    (bad parameter, missing model: the reason is in the log); a node started by hand with
    autostart:=false stays up for lifecycle commands instead.
    """
    profile = use_shipped_profile()  # before rclpy.init: Fast DDS reads it per participant
    rclpy.init(args=argv)
    try:
        node = SpeakNode(autostart_default=True)
    except ImportError as exc:  # the messages are not built: say how to build them
        print(f"imagintalk-ros-speak: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        raise SystemExit(2) from None
    if node.autostart_failed:
        reason = node.last_error or "see the log above"
        print(f"imagintalk-ros-speak: could not start ({reason}); exiting", file=sys.stderr)
        node.destroy_node()
        rclpy.try_shutdown()
        raise SystemExit(1)
    node.get_logger().info(f"DDS profile: {profile or 'Fast DDS defaults'}")
    try:
        spin(node)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
