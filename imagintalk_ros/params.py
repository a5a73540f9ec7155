"""The speech node's parameters: one table of name, default, type, description and range.

``config/speak.yaml`` holds the same defaults. Every value is read and checked on configure (a bad
one fails the transition with the reason in the log). Parameters in ``LIVE`` may also change while
the node runs: ``check_change`` validates a change with the library's own checks and the node
applies it from the next utterance on; the others are read on configure, and while the node is
active a change to them is refused with that reason (``model_dir``, ``device``, ``backend`` need
the model reloaded).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields

from imagintalk.diffusion.sampling import SAMPLERS
from imagintalk.errors import InputError
from imagintalk.settings.checks import MAX_EXPRESSIVENESS, check_temperature
from imagintalk.settings.speak import BACKENDS, LIVE_SAMPLER, LIVE_STEPS, SpeakOptions
from imagintalk.stream import VadConfig
from imagintalk.video.selection import SELECTIONS

TRANSPORTS = ("raw", "compressed")
RELIABILITIES = ("best_effort", "reliable")
DROP_POLICIES = ("drop_oldest", "drop_newest")
MAX_STEPS = 1024


@dataclass
class NodeParams:
    """What a ROS engineer can set (ROS parameter name = field name); described in SPECS."""

    image_topic: str = "/camera/image_raw"
    image_transport: str = "raw"
    qos_reliability: str = "best_effort"
    qos_depth: int = 5
    model_dir: str = ""
    device: str = "cpu"
    backend: str = "torch"
    onnx_dir: str = ""
    profile: str = ""
    voice_reference: str = ""
    steps: int = LIVE_STEPS
    sampler: str = LIVE_SAMPLER
    temperature: float = 0.0
    guidance: float = -1.0
    expressiveness: float = 1.0
    seed: int = 0
    vad_start_motion: float = 0.05
    vad_stop_motion: float = 0.03
    vad_hangover_s: float = 0.5
    min_utterance_s: float = 0.5
    max_utterance_s: float = 10.0
    buffer_s: float = 30.0
    push_to_talk_s: float = 5.0
    face_selection: str = "largest"
    frame_queue: int = 4
    max_pending: int = 2
    drop_policy: str = "drop_oldest"
    camera_timeout_s: float = 1.0
    status_period_s: float = 1.0
    max_pixels: int = 16_000_000
    play_audio: bool = False
    audio_device: str = ""
    autostart: bool = False

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
            ("face_selection", self.face_selection, SELECTIONS),
        ):
            if value not in allowed:
                names = ", ".join(a or "'' (the model's own)" for a in allowed)
                raise InputError(f"parameter {name}={value!r}: choose one of {names}")
        for name in ("qos_depth", "frame_queue", "max_pending", "max_pixels"):
            if getattr(self, name) < 1:
                raise InputError(f"parameter {name} must be at least 1, got {getattr(self, name)}")
        for name in ("push_to_talk_s", "camera_timeout_s", "status_period_s"):
            if not getattr(self, name) > 0:
                raise InputError(f"parameter {name} must be positive, got {getattr(self, name)}")
        if not math.isfinite(self.guidance):
            raise InputError(f"parameter guidance must be a finite number, got {self.guidance}")
        if not self.steps <= MAX_STEPS:
            raise InputError(f"parameter steps must be at most {MAX_STEPS}, got {self.steps}")
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
        """How each utterance is spoken (validated); guidance < 0 and temperature <= 0 = the model's."""
        guidance = None if self.guidance < 0 else float(self.guidance)
        temperature = None if self.temperature <= 0 else check_temperature(self.temperature)
        return SpeakOptions(
            steps=self.steps, sampler=self.sampler or None, seed=self.seed, guidance=guidance,
            temperature=temperature, expressiveness=self.expressiveness,
        ).validate()  # fmt: skip

    def replace(self, **changes: object) -> NodeParams:
        """A checked copy with ``changes``."""
        return dataclasses.replace(self, **changes).check()


@dataclass(frozen=True)
class Spec:
    """How one parameter is described to ROS tools (``ros2 param describe``, rqt)."""

    description: str
    range: tuple[float, float] | None = (
        None  # inclusive; ints get an IntegerRange, floats a FloatingPointRange
    )


SPECS: dict[str, Spec] = {
    "image_topic": Spec("camera topic to subscribe to"),
    "image_transport": Spec("raw: sensor_msgs/Image; compressed: sensor_msgs/CompressedImage (jpeg, png)"),
    "qos_reliability": Spec("camera QoS: best_effort (sensor data) or reliable (recorded / remote streams)"),
    "qos_depth": Spec("camera subscription history depth (keep-last)", (1, 1000)),
    "model_dir": Spec("model directory; '' = the shipped models/imagintalk (read on configure)"),
    "device": Spec("cpu, cuda, cuda:N or auto (read on configure)"),
    "backend": Spec(
        "torch, or onnx: the graphs of `imagintalk export` under onnxruntime (read on configure)"
    ),
    "onnx_dir": Spec("the export the onnx backend runs; '' = MODEL_DIR/onnx"),
    "profile": Spec("a user's profile folder (imagintalk enroll); '' = none; live"),
    "voice_reference": Spec(
        "a recording (wav) whose voice to speak in; '' = the face's (or the profile's); live"
    ),
    "steps": Spec("diffusion sampler steps: fewer = faster, rougher speech; live", (1, MAX_STEPS)),
    "sampler": Spec(f"diffusion sampler: {', '.join(sorted(SAMPLERS)) or 'euler'}; '' = the model's; live"),
    "temperature": Spec("sampling temperature; <= 0 = the model's own; live", (0.0, 10.0)),
    "guidance": Spec("classifier-free guidance weight; < 0 = the model's, 0 = off (faster)", (-1.0, 20.0)),
    "expressiveness": Spec(
        "how much the face's expression shapes the prosody: 0 steady; live", (0.0, MAX_EXPRESSIVENESS)
    ),
    "seed": Spec("sampling seed: same seed, same speech", (0, 2**31 - 1)),
    "vad_start_motion": Spec("visual VAD: mouth activity that opens an utterance; live", (0.0, 1.0)),
    "vad_stop_motion": Spec("visual VAD: activity below which it may close (<= start); live", (0.0, 1.0)),
    "vad_hangover_s": Spec("visual VAD: quiet this long (s) ends an utterance; live", (0.0, 5.0)),
    "min_utterance_s": Spec("shorter bursts (s) are not spoken; live", (0.0, 10.0)),
    "max_utterance_s": Spec("longer utterances (s) are cut here; live (within buffer_s)", (1.0, 60.0)),
    "buffer_s": Spec("seconds of face crops kept (push-to-talk reaches back this far)", (1.0, 300.0)),
    "push_to_talk_s": Spec(
        "what ~/speak_last and a Speak goal without seconds speak (s); live", (0.1, 300.0)
    ),
    "face_selection": Spec("whose face to voice among several: largest, centre, or roi (~/target); live"),
    "frame_queue": Spec("frames waiting for the front door; beyond it the oldest are dropped", (1, 10000)),
    "max_pending": Spec("utterances waiting for synthesis; beyond it drop_policy applies", (1, 100)),
    "drop_policy": Spec("drop_oldest or drop_newest (utterances, when synthesis is behind)"),
    "camera_timeout_s": Spec(
        "no frame this long (s): the camera stopped, the open utterance is spoken", (0.01, 60.0)
    ),
    "status_period_s": Spec("~/status and /diagnostics period (s)", (0.01, 60.0)),
    "max_pixels": Spec("larger images are rejected (too_large)", (1, 2**31 - 1)),
    "play_audio": Spec("also play each utterance on the sound device"),
    "audio_device": Spec("sounddevice output name or index; '' = the default"),
    "autostart": Spec("configure + activate right after start"),
}

# applied while the node runs, from the next utterance (or frame) on
LIVE = frozenset(
    {"steps", "sampler", "temperature", "guidance", "expressiveness", "seed", "voice_reference", "profile",
     "vad_start_motion", "vad_stop_motion", "vad_hangover_s", "min_utterance_s", "max_utterance_s",
     "push_to_talk_s", "face_selection"}
)  # fmt: skip


def descriptor(name: str, value: object):
    """The rcl_interfaces ParameterDescriptor of ``name`` (its description and range)."""
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    spec = SPECS[name]
    when = "" if name in LIVE else " [read on configure]"
    desc = ParameterDescriptor(name=name, description=spec.description + when)
    if spec.range is not None:
        low, high = spec.range
        if isinstance(value, bool):
            pass
        elif isinstance(value, int):
            desc.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=0)]
        elif isinstance(value, float):
            desc.floating_point_range = [
                FloatingPointRange(from_value=float(low), to_value=float(high), step=0.0)
            ]
    return desc


def declare(node, **defaults: object) -> None:
    """Declare every parameter on ``node`` with its default or ``defaults[name]`` (--params-file wins)."""
    for spec in fields(NodeParams):
        value = defaults.get(spec.name, spec.default)
        node.declare_parameter(spec.name, value, descriptor(spec.name, value))


def read(node) -> NodeParams:
    """The declared parameters of ``node``, checked."""
    values = {spec.name: node.get_parameter(spec.name).value for spec in fields(NodeParams)}
    return NodeParams(**values).check()


def check_change(current: NodeParams, changes: dict[str, object], active: bool) -> NodeParams:
    """``current`` with ``changes`` applied and checked; InputError with the reason when a value is
    unusable, or (``active``) when a parameter read on configure is changed."""
    if active:
        fixed = sorted(
            name for name in changes if name not in LIVE and changes[name] != getattr(current, name)
        )
        if fixed:
            raise InputError(
                f"{', '.join(fixed)} cannot change while the node is active (read on configure): "
                "deactivate and clean up, set it, then configure again"
            )
    updated = current.replace(**changes)
    if "profile" in changes and updated.profile:
        from imagintalk.pipeline.profile import load_profile

        load_profile(updated.profile)  # not a profile / damaged: refused now, not at the next utterance
    if "voice_reference" in changes and updated.voice_reference:
        from imagintalk.pipeline.voice import load_reference_audio

        load_reference_audio(updated.voice_reference)
    return updated
