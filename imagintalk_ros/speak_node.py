"""``imagintalk_speak``: the lifecycle node that turns a camera topic into speech (docs/ros.md).

    imagintalk-ros-speak --ros-args --params-file config/speak.yaml -p model_dir:=models/imagintalk

configure: read and check the parameters, create ~/speech, ~/audio (audio_common_msgs, where
installed), ~/speak_last and the ~/speak action. activate: load the model onto the device, start
the front-door thread and the speech worker, subscribe to the camera and ~/target. deactivate:
unsubscribe, stop both threads, free the model. Frames go subscription -> (convert) -> FrameThread
(LipStream: front door + visual VAD, bounded) -> SpeechWorker (bounded queue) -> ~/speech;
~/status and /diagnostics report state, rates, drops, rejected input, faces and latency.

Threads: a multi-threaded executor; the camera subscription has a callback group of its own, the
action and ~/speak_last a reentrant one, so no service, action or parameter call delays image
intake. Parameters in params.LIVE change while running (live_params). Run as a console script (or
with autostart:=true, as the launch file does) it configures and activates itself.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections import deque
from collections.abc import Callable

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import State, TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image, RegionOfInterest
from std_srvs.srv import Trigger

from imagintalk.errors import ImaginTalkError
from imagintalk.pipeline.pipeline import SpeechInterrupted
from imagintalk.stream import LipStream, SpeechJob, SpeechWorker, StreamUpdate, Utterance
from imagintalk.video.selection import FaceChoice
from imagintalk.video.warmup import warm_up_detector

from . import live_params
from . import params as node_params
from .audio_out import AudioOut
from .audio_topics import AudioTopics
from .backend import load_pipeline
from .convert import FrameError, compressed_to_bgr, image_to_bgr
from .dds import use_shipped_profile
from .frame_loss import UpstreamLossEstimator
from .frame_thread import FrameThread
from .messages import load_action, load_messages
from .node_status import StatusReporting
from .speak_action import GoalBook, SpeakAction
from .speech_msgs import seconds_of, speech_audio

NODE_NAME = "imagintalk_speak"


class SpeakNode(StatusReporting, LifecycleNode):
    """Camera frames in, SpeechAudio out; see the module docstring for the lifecycle."""

    def __init__(self, autostart_default: bool = False, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self.msgs = load_messages()
        self._action_type = load_action().Speak
        node_params.declare(self, autostart=autostart_default)
        self.params: node_params.NodeParams | None = None
        # the camera never waits for anything else; the action and push-to-talk wait in parallel
        self._intake_group = MutuallyExclusiveCallbackGroup()
        self._waiting_group = ReentrantCallbackGroup()
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
        self._faces_in_view = 0
        self._voiced_box: list[float] = []
        self._activate_failed = False
        self._drops_seen = 0  # frames dropped + lost upstream at the previous status
        self.goals = GoalBook()  # Speak goals waiting for an utterance or for their job's speech
        self._frame_id = ""
        self._upstream = UpstreamLossEstimator()  # frames lost before the callback, from stamp gaps
        self.autostart_failed = False  # main() exits non-zero: a node that was asked to start and cannot
        self._speech_pub = self._service = self._timer = self._watchdog = self._sub = None
        self._pipeline = self._worker = self._frames = self._stream = self._audio = None
        self._action = self._audio_topics = self._target_sub = self._choice = None
        self._status_pub = self.create_publisher(self.msgs.SpeechStatus, "~/status", 10)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        # live parameters: checked (and refused with a reason) here, applied by live_params
        self.add_on_set_parameters_callback(lambda changes: live_params.on_set(self, changes))
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
        self._audio_topics = AudioTopics(self)
        self._service = self.create_service(
            Trigger, "~/speak_last", self._on_speak_last, callback_group=self._waiting_group
        )
        self._action = SpeakAction(self, self._action_type, self._waiting_group)
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
            choice = FaceChoice(p.face_selection)
            stream = LipStream(
                pipeline.cfg, p.vad(), p.buffer_s, detector=pipeline.detector, color="bgr", choice=choice
            )
        except Exception as exc:  # a missing model or device: stay inactive and say why
            self.get_logger().error(f"activate failed: cannot load the model: {exc}")
            self.last_error = str(exc)
            self._activate_failed = True
            return TransitionCallbackReturn.FAILURE
        self._activate_failed = False
        self._pipeline, self._stream, self._choice = pipeline, stream, choice
        self._audio_topics.announce(pipeline.codec.sample_rate)
        self._worker = SpeechWorker(lambda: pipeline, self._on_spoken, p.max_pending, p.drop_policy)
        self._worker.start()
        self._frames = FrameThread(stream, self._on_utterance, self._on_update, p.frame_queue)
        self._upstream = UpstreamLossEstimator(max_gap_s=p.camera_timeout_s)
        reliability = (
            ReliabilityPolicy.RELIABLE if p.qos_reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT
        )
        qos = QoSProfile(depth=p.qos_depth, history=HistoryPolicy.KEEP_LAST, reliability=reliability)
        msg_type = Image if p.image_transport == "raw" else CompressedImage
        self._sub = self.create_subscription(
            msg_type, p.image_topic, self._on_image, qos, callback_group=self._intake_group
        )
        self._target_sub = self.create_subscription(RegionOfInterest, "~/target", self._on_target, 10)
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
        if self._action is not None:
            self._action.destroy()
        if self._audio_topics is not None:
            self._audio_topics.close()
        self._timer = self._watchdog = self._service = self._speech_pub = self._audio = None
        self._action = self._audio_topics = None
        self.label = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self._stop_processing()
        self.label = "finalized"
        return TransitionCallbackReturn.SUCCESS

    def _stop_processing(self) -> None:
        """Unsubscribe, stop the threads, drop the model (what activate built)."""
        for sub in (self._sub, self._target_sub):
            if sub is not None:
                self.destroy_subscription(sub)
        if self._frames is not None:
            self._frames.stop()
        if self._worker is not None:
            self._worker.stop(wait=True, timeout=60.0)
        device = getattr(self._pipeline, "device", None)
        self._sub = self._frames = self._worker = self._pipeline = self._stream = None
        self._target_sub = self._choice = None
        self.goals.cancel_waiting()
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
        with self._lock:  # the watchdog (another thread) reads and clears camera_active
            self.frames_received += 1
            self._arrivals.append(now)
            restarted = not self._camera_active and self._last_arrival is not None
            self._camera_active, self._last_arrival = True, now
        if restarted:
            self.get_logger().info("camera: frames again")
            frames.command("reset")  # a new stream: the VAD must not bridge the gap
            self._upstream.restart()
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
            obs = update.observation
            self._face_found = obs.found
            # num_faces is 0 on frames where the detector was skipped and tracking held: keep the count
            if not obs.found or obs.num_faces:
                self._faces_in_view = obs.num_faces
            self._voiced_box = [float(v) for v in obs.box] if obs.found and obs.box is not None else []
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

    def _on_target(self, roi: RegionOfInterest) -> None:
        """~/target: the region whose face to voice (face_selection roi); width 0 = the whole image."""
        choice = self._choice
        if choice is None:
            return
        if roi.width == 0 or roi.height == 0:
            choice.set_roi(None)
        else:
            choice.set_roi((roi.x_offset, roi.y_offset, roi.x_offset + roi.width, roi.y_offset + roi.height))
        if choice.mode != "roi":
            self._note_once("target_unused", "~/target received, but face_selection is not roi: ignored")

    def _check_camera(self) -> None:
        """Watchdog: no frame for camera_timeout_s -> the camera stopped; speak what is open."""
        frames = self._frames
        with self._lock:
            last = self._last_arrival
            stopped = (
                self._camera_active and last is not None and frames is not None
                and time.monotonic() - last > self.params.camera_timeout_s
            )  # fmt: skip
            if stopped:
                self._camera_active = False
        if stopped:
            self._closing = True
            self.get_logger().warning(
                f"camera: no frame for {self.params.camera_timeout_s} s; closing the utterance"
            )
            frames.command("flush").add_done_callback(lambda _: setattr(self, "_closing", False))

    # ---------------------------------------------------------------- speech out

    def _on_utterance(self, utterance: Utterance) -> None:
        """Frame thread: an utterance ended -> the worker (which may drop by policy)."""
        worker = self._worker
        waiters = self.goals.take_waiting()
        setup = waiters[0].setup if waiters else None  # a goal's own voice for the utterance it waited for
        job = worker.submit_job(utterance, setup) if worker is not None else None
        self.goals.hand_over(waiters, job)
        if job is None:
            self._note_once(
                "utterance_dropped", "synthesis cannot keep up: utterances dropped (see ~/status)"
            )

    # ---------------------------------------------------------------- for the Speak action

    def frames_and_worker(self) -> tuple[FrameThread | None, SpeechWorker | None]:
        return self._frames, self._worker

    def cancel_job(self, job: SpeechJob) -> None:
        """Withdraw a goal's job: out of the queue, or stopped at the model's next diffusion step."""
        if self._worker is not None:
            self._worker.cancel(job)

    def report_error(self, message: str) -> None:
        with self._lock:
            self.last_error = message
        self.get_logger().error(message)

    def _on_spoken(self, job: SpeechJob) -> None:
        """Worker thread: publish the speech (or count the failure)."""
        if job.cancelled:  # a canceled Speak goal: its speech goes nowhere
            stopped = isinstance(job.error, SpeechInterrupted)
            self.get_logger().info(
                "canceled: synthesis stopped between diffusion steps"
                if stopped
                else "canceled: not published"
            )
            return
        if job.result is None:
            with self._lock:
                self.failed += 1
                self.last_error = f"{type(job.error).__name__}: {job.error}"
            self._note_once(f"speak_{type(job.error).__name__}", f"an utterance was not spoken: {job.error}")
            return
        latency = time.perf_counter() - job.submitted_at
        worker = self._worker
        steps = worker.pipeline.steps if worker is not None and worker.pipeline is not None else 0
        msg = speech_audio(self.msgs, job, self._frame_id, latency, steps)  # the steps it was spoken with
        publisher = self._speech_pub
        if publisher is not None:
            publisher.publish(msg)
        if self._audio_topics is not None:
            self._audio_topics.publish(
                job.result.wav, job.result.sample_rate, job.utterance.start_s, self._frame_id
            )
        with self._lock:
            self.spoken += 1
            self.last_latency, self.last_duration = latency, msg.duration
        self.goals.published(job, msg)
        self.get_logger().info(
            f"spoke {msg.duration:.2f} s ({msg.reason}), {latency:.2f} s after it was handed to synthesis"
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


def spin(node: SpeakNode, until: Callable[[], bool] | None = None) -> None:
    """Spin ``node`` until shutdown (Ctrl-C, SIGTERM) or ``until()``; then stop its threads."""
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

    executor = MultiThreadedExecutor(num_threads=4)  # intake, waiting goals, services / timers
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
