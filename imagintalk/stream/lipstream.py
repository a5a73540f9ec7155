"""``LipStream``: camera frames in (any size, any rate), utterances out.

    stream = LipStream(load_config("synth"))
    for frame, stamp in camera:                        # uint8 [H, W, 3], seconds
        update = stream.push(frame, stamp)             # never raises on bad input
        if update.utterance:                           # the face stopped speaking
            worker.submit(update.utterance)            # speak it off this thread (SpeechWorker)
    last = stream.flush()                              # end of stream: an utterance still open

Every accepted frame goes through the front door (FaceTrack.push: box, landmarks, crops) and its
mouth opening into the visual VAD. The front door keeps two small crops per frame, never the full
frame; frames older than ``buffer_s`` are dropped, so memory is bounded (~115 KB a frame with the
default crop sizes: 30 s at 30 fps is ~100 MB). An utterance's frames are resampled to 25 fps by
the front door whatever the camera rate. Not thread-safe: push from one thread.
"""

from __future__ import annotations

import bisect
import hashlib
import logging

import numpy as np

from ..errors import ImaginTalkError, InputError
from ..features.extractors import expression_extractor
from ..features.running_identity import RunningIdentity
from ..settings import Config
from ..video.frontdoor import FaceTrack
from ..video.mouth import mouth_opening
from ..video.selection import FaceChoice
from .frames import check_frame, check_stamp
from .utterance import StreamUpdate, Utterance
from .vad import VadConfig, VisualVAD

log = logging.getLogger(__name__)

REJECTIONS = ("bad_frame", "huge_frame", "bad_stamp", "out_of_order", "repeated_stamp", "frame_error")
COUNTERS = (
    "frames_in", "frames_accepted", "frames_no_face", "utterances", "discarded_short", "utterances_unusable",
    "push_to_talk", "stream_restarts", *(f"frames_rejected_{kind}" for kind in REJECTIONS),
)  # fmt: skip


class LipStream:
    """Frames in (any size/rate), utterances out. Bounded memory: keeps per-frame crops (never full
    frames) for at most ``buffer_s`` seconds.

    ``restart_jump_s``: a timestamp this far *behind* the last one means the source restarted (a
    looping recording, a rebooted camera): the open utterance is closed (end_of_stream) and the
    stream starts anew instead of rejecting every later frame as out of order. None: never.

    ``identity``: describe the tracked face while it streams in (``RunningIdentity``: a few frames
    of each new face, ~0.1 s each on this thread) and hand it on with each utterance, so speaking it
    starts without that cost; False: the worker describes each utterance's frames itself.
    ``warm_every``: while an utterance is open, every this many frames the crops and the expression
    of its frames that no later frame can change are computed (on this thread) and kept, so the end
    of the utterance only adds the last few; handed on as ``utterance.expression``. 0: off.
    ``choice``: whose face to voice when several are in view (video.selection.FaceChoice; it may
    be changed from another thread); None: the largest.
    """

    def __init__(
        self,
        cfg: Config,
        vad: VadConfig | None = None,
        buffer_s: float = 30.0,
        detector=None,  # a FaceDetector (video.detectors); None: built from cfg.video
        color: str = "bgr",
        restart_jump_s: float | None = 5.0,
        identity: bool = True,
        warm_every: int = 5,
        choice: FaceChoice | None = None,
    ) -> None:
        self.cfg = cfg
        self.vad_cfg = vad or VadConfig()
        self.vad_cfg.check()
        need = self.vad_cfg.max_utterance_s + self.vad_cfg.hangover_s
        if not buffer_s >= need:
            raise InputError(
                f"buffer_s must hold the longest utterance and its hangover ({need} s), got {buffer_s}"
            )
        if restart_jump_s is not None and not restart_jump_s > 0:
            raise InputError(f"restart_jump_s must be positive or None, got {restart_jump_s}")
        self.buffer_s, self.restart_jump_s = float(buffer_s), restart_jump_s
        # builds the detector once when None
        self._track = FaceTrack(cfg.video, detector, color=color, choice=choice)
        self._track.source = "the stream"
        self._vad = VisualVAD(self.vad_cfg)
        self._identity = RunningIdentity(cfg) if identity else None
        self.warm_every = max(0, int(warm_every))
        self.last_expression_reused = 0  # frames of the last utterance whose expression was computed early
        self._expression = expression_extractor(cfg.style) if self.warm_every else None
        self._warm_reset(None)
        self._counters = dict.fromkeys(COUNTERS, 0)
        self._last_time: float | None = None
        self._state = "no_face"
        self._discards_seen = 0  # the VAD's discarded_short already counted

    # ---------------------------------------------------------------- streaming

    def push(self, frame: np.ndarray, time_s: float) -> StreamUpdate:
        """One frame uint8 [H, W, 3] (or gray [H, W], or [H, W, 4]) taken at ``time_s`` seconds."""
        self._counters["frames_in"] += 1
        image, why = check_frame(frame)
        if why:
            return self._reject(why)
        stamp, why = check_stamp(time_s, self._last_time)
        restarted = None
        if why == "out_of_order" and self._is_restart(time_s):
            restarted = self._restart()
            stamp, why = check_stamp(time_s, None)
        if why:
            return self._reject(why, restarted)
        try:
            observation = self._track.push(image, stamp)
        except ImaginTalkError as exc:
            log.debug("frame at %s rejected: %s", stamp, exc)
            return self._reject("bad_frame", restarted)
        except Exception:  # a detector / OpenCV failure on one odd frame must not end the stream
            log.exception("front door failed on the frame at %s s; frame dropped", stamp)
            return self._reject("frame_error", restarted)
        if self._identity is not None:
            try:
                self._identity.update(observation)
            except Exception:  # a descriptor failure on one odd crop: that frame is not a sample
                log.exception("face descriptor failed on the frame at %s s", stamp)
        self._counters["frames_accepted"] += 1
        self._counters["frames_no_face"] += int(not observation.found)
        self._last_time = stamp
        self._state, span = self._vad.update(stamp, mouth_opening(observation.landmarks))
        self._count_discards()
        utterance = self._utterance(span, self._vad.last_reason) if span else restarted
        self._warm()
        self._track.drop_before(stamp - self.buffer_s + 1e-9)  # after the utterance took its frames
        return StreamUpdate(observation, self._state, utterance)

    def speak_last(self, seconds: float) -> Utterance | None:
        """Push-to-talk: the last ``seconds`` (at most buffer_s) as an utterance; None if no face there."""
        if not seconds > 0:
            raise InputError(f"push-to-talk needs a positive number of seconds, got {seconds}")
        if self._last_time is None:
            return None
        start = self._last_time - min(float(seconds), self.buffer_s) + 1e-6  # (last - N, last]: N s of frames
        utterance = self._utterance((start, self._last_time), "push_to_talk")
        if utterance is not None:
            self._counters["push_to_talk"] += 1
        return utterance

    def flush(self) -> Utterance | None:
        """End of stream: the utterance still open (ending at the last frame), if long enough.

        The frames stay buffered (speak_last still works); call reset() before a new stream.
        """
        if self._last_time is None:
            return None
        span = self._vad.close(self._last_time, "end_of_stream")
        self._count_discards()
        self._state = self._vad.state(self._state != "no_face")
        return self._utterance(span, "end_of_stream") if span else None

    def set_vad(self, vad: VadConfig) -> None:
        """New VAD thresholds from the next frame on (checked; an open utterance stays open)."""
        vad.check()
        need = vad.max_utterance_s + vad.hangover_s
        if not self.buffer_s >= need:
            raise InputError(f"buffer_s ({self.buffer_s}) must hold max_utterance_s + hangover_s ({need})")
        self.vad_cfg = self._vad.cfg = vad

    def reset(self) -> None:
        """Forget the frames and the VAD state (a new stream); the counters go on."""
        self._track.reset()
        self._vad.reset()
        self._warm_reset(None)
        if self._identity is not None:
            self._identity.reset()
        self._discards_seen = 0
        self._last_time = None
        self._state = "no_face"

    # ---------------------------------------------------------------- introspection

    @property
    def counters(self) -> dict[str, int]:
        """frames_in, frames_accepted, frames_rejected_<kind>, utterances, discarded_short, ... (a copy)."""
        return dict(self._counters)

    @property
    def state(self) -> str:
        """ "no_face" | "ready" | "listening" after the last accepted frame."""
        return self._state

    @property
    def activity(self) -> float | None:
        """The VAD's mouth activity at the last accepted frame (None without a face): for meters."""
        return self._vad.activity

    @property
    def identity(self) -> RunningIdentity | None:
        """The running identity of the tracked face (None when built with identity=False)."""
        return self._identity

    @property
    def buffered_frames(self) -> int:
        return len(self._track)

    @property
    def buffered_s(self) -> float:
        """Seconds from the oldest to the newest frame held (always < buffer_s)."""
        times = self._track.times
        return times[-1] - times[0] if times else 0.0

    # ---------------------------------------------------------------- internals

    def _count_discards(self) -> None:
        self._counters["discarded_short"] += self._vad.discarded_short - self._discards_seen
        self._discards_seen = self._vad.discarded_short

    def _reject(self, kind: str, utterance: Utterance | None = None) -> StreamUpdate:
        self._counters[f"frames_rejected_{kind}"] += 1
        return StreamUpdate(None, self._state, utterance, kind)

    def _is_restart(self, time_s: object) -> bool:
        jump = self.restart_jump_s
        return jump is not None and self._last_time is not None and self._last_time - float(time_s) > jump

    def _restart(self) -> Utterance | None:
        """The source restarted: close what is open, then start a new stream."""
        closing = self.flush()
        self._counters["stream_restarts"] += 1
        self.reset()
        return closing

    def _warm_reset(self, start: float | None) -> None:
        """Start warming the utterance reported from ``start`` (None: none is open)."""
        self._warm_start, self._warmed, self._pushes_open = start, 0, 0
        self._expressions: dict[bytes, np.ndarray] = {}  # face crop digest -> [E]
        self._track.cache_crops_from(start)

    def _warm(self) -> None:
        """While an utterance is open: crops and expression of its frames that can no longer change."""
        if not self.warm_every:
            return
        start = self._vad.open_start
        if start != self._warm_start:
            self._warm_reset(start)  # opened, closed, or cut at max_length and opened anew
        if start is None:
            return
        self._pushes_open += 1
        if self._pushes_open % self.warm_every:
            return
        try:
            faces, self._warmed = self._track.warm(start, self._warmed)
            if len(faces):
                for face, vector in zip(faces, self._expression(faces)):
                    self._expressions[_digest(face)] = vector
        except Exception:  # warming is an optimisation: a failure leaves the work to the end
            log.exception("warming the open utterance failed; its features are computed at its end")

    def _expression_of(self, faces: np.ndarray) -> np.ndarray | None:
        """[T, E] for the utterance's face crops [T, F, F, 3]: kept ones looked up, the rest computed."""
        if self._expression is None:
            return None
        digests = [_digest(face) for face in faces]
        missing = [i for i, d in enumerate(digests) if d not in self._expressions]
        if missing:
            for i, vector in zip(missing, self._expression(faces[missing])):
                self._expressions[digests[i]] = vector
        self.last_expression_reused = len(faces) - len(missing)
        return np.stack([self._expressions[d] for d in digests]).astype(np.float32)

    def _utterance(self, span: tuple[float, float], reason: str) -> Utterance | None:
        """The held frames in [start, end] through the front door at 25 fps (None if unusable)."""
        start, end = span
        times = self._track.times
        first = bisect.bisect_left(times, start)
        last = bisect.bisect_right(times, end) - 1
        if first > last:
            self._counters["utterances_unusable"] += 1
            return None
        try:
            track = self._track.result(times[first], times[last])
        except ImaginTalkError as exc:  # no face in the span, or too short for the front door
            log.info("utterance %.2f-%.2f s not usable: %s", start, end, exc)
            self._counters["utterances_unusable"] += 1
            return None
        if reason != "push_to_talk":
            self._counters["utterances"] += 1
        identity = self._identity.vector if self._identity is not None else None
        try:
            expression = self._expression_of(track.face)
        except Exception:  # the worker computes it instead
            log.exception("expression of the utterance failed; left to the worker")
            expression = None
        return Utterance(track, times[first], times[last], reason, identity, expression)


def _digest(face: np.ndarray) -> bytes:
    """A face crop's content key: equal crops, equal expression (the extractor is per frame)."""
    return hashlib.blake2b(np.ascontiguousarray(face).data, digest_size=16).digest()
