"""The speech node's parameters: names, defaults, checks (config/speak.yaml holds the same).

Every value is read once, on configure; a bad value fails the configure transition with the
reason in the log instead of failing later on the first frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from imagintalk.diffusion.sampling import SAMPLERS
from imagintalk.errors import InputError
from imagintalk.settings.speak import BACKENDS, LIVE_SAMPLER, LIVE_STEPS, SpeakOptions
from imagintalk.stream import VadConfig

TRANSPORTS = ("raw", "compressed")
RELIABILITIES = ("best_effort", "reliable")
DROP_POLICIES = ("drop_oldest", "drop_newest")


@dataclass
class NodeParams:
    """What a ROS engineer can set (ROS parameter name = field name)."""

    image_topic: str = "/camera/image_raw"
    image_transport: str = "raw"  # raw: sensor_msgs/Image; compressed: sensor_msgs/CompressedImage
    qos_reliability: str = "best_effort"  # sensor-data QoS by default
    qos_depth: int = 5
    model_dir: str = ""  # "" = the shipped models/imagintalk
    device: str = "cpu"  # cpu, cuda, cuda:N or auto
    backend: str = "torch"  # torch, or onnx: the graphs of `imagintalk export` run by onnxruntime
    onnx_dir: str = ""  # the export backend onnx runs; "" = MODEL_DIR/onnx
    profile: str = ""  # a user's profile folder (imagintalk enroll): their adapted lip reader; "" = none
    steps: int = LIVE_STEPS  # diffusion sampler steps: fewer = faster, rougher speech
    sampler: str = LIVE_SAMPLER  # euler, analytic or confidence; "" = the model's own
    guidance: float = -1.0  # classifier-free guidance weight: < 0 = the model's, 0 = off (faster)
    seed: int = 0
    vad_start_motion: float = 0.05  # mouth activity that opens an utterance
    vad_stop_motion: float = 0.03  # ... below which it may close (hysteresis)
    vad_hangover_s: float = 0.5  # quiet this long ends an utterance
    min_utterance_s: float = 0.5
    max_utterance_s: float = 10.0
    buffer_s: float = 30.0  # seconds of face crops kept (push-to-talk reaches back this far)
    push_to_talk_s: float = 5.0  # what ~/speak_last speaks
    frame_queue: int = 4  # frames waiting for the front door; beyond it the oldest are dropped
    max_pending: int = 2  # utterances waiting for synthesis; beyond it `drop_policy` applies
    drop_policy: str = "drop_oldest"
    camera_timeout_s: float = 1.0  # no frame this long: the camera stopped (open utterance is spoken)
    status_period_s: float = 1.0
    max_pixels: int = 16_000_000  # larger images are rejected (too_large)
    play_audio: bool = False  # also play each utterance on the sound device
    audio_device: str = ""  # sounddevice name or index; "" = the default output
    autostart: bool = False  # configure + activate right after start (the launch file and main() set it)

    def vad(self) -> VadConfig:
        return VadConfig(
            start_motion=self.vad_start_motion,
            stop_motion=self.vad_stop_motion,
            hangover_s=self.vad_hangover_s,
            min_utterance_s=self.min_utterance_s,
            max_utterance_s=self.max_utterance_s,
        )

    def check(self) -> NodeParams:
        """Raise InputError naming the first unusable value."""
        for name, value, allowed in (
            ("image_transport", self.image_transport, TRANSPORTS),
            ("qos_reliability", self.qos_reliability, RELIABILITIES),
            ("drop_policy", self.drop_policy, DROP_POLICIES),
            ("backend", self.backend, BACKENDS),
            ("sampler", self.sampler or "", ("", *SAMPLERS)),
        ):
            if value not in allowed:
                raise InputError(f"parameter {name}={value!r}: choose one of {', '.join(allowed)}")
        for name in ("qos_depth", "frame_queue", "max_pending", "max_pixels"):
            if getattr(self, name) < 1:
                raise InputError(f"parameter {name} must be at least 1, got {getattr(self, name)}")
        for name in ("push_to_talk_s", "camera_timeout_s", "status_period_s"):
            if not getattr(self, name) > 0:
                raise InputError(f"parameter {name} must be positive, got {getattr(self, name)}")
        if not math.isfinite(self.guidance):
            raise InputError(f"parameter guidance must be a finite number, got {self.guidance}")
        try:
            self.speak_options()
        except InputError as exc:
            raise InputError(f"parameter {exc}") from None
        if self.profile and self.backend != "torch":
            raise InputError("parameter profile adapts the torch lip aligner: use backend torch")
        if not self.image_topic:
            raise InputError("parameter image_topic is empty")
        self.vad().check()
        if self.buffer_s < self.max_utterance_s + self.vad_hangover_s:
            raise InputError(
                f"parameter buffer_s ({self.buffer_s}) must hold max_utterance_s + vad_hangover_s "
                f"({self.max_utterance_s + self.vad_hangover_s})"
            )
        return self

    def speak_options(self) -> SpeakOptions:
        """How each utterance is spoken (validated); guidance < 0 = the model's own weight."""
        guidance = None if self.guidance < 0 else float(self.guidance)
        sampler = self.sampler or None
        return SpeakOptions(steps=self.steps, sampler=sampler, seed=self.seed, guidance=guidance).validate()


def declare(node, **defaults: object) -> None:
    """Declare every parameter on ``node`` with its default or ``defaults[name]`` (--params-file wins)."""
    for spec in fields(NodeParams):
        node.declare_parameter(spec.name, defaults.get(spec.name, spec.default))


def read(node) -> NodeParams:
    """The declared parameters of ``node``, checked."""
    values = {spec.name: node.get_parameter(spec.name).value for spec in fields(NodeParams)}
    return NodeParams(**values).check()
