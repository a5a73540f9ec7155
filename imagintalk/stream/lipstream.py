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
import logging

import numpy as np

from ..errors import ImaginTalkError, InputError
from ..features.running_identity import RunningIdentity
from ..settings import Config
from ..video.frontdoor import FaceTrack
from ..video.mouth import mouth_opening
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
        self._track = FaceTrack(cfg.video, detector, color=color)  # builds the detector once when None
        self._track.source = "the stream"
        self._vad = VisualVAD(self.vad_cfg)
        self._identity = RunningIdentity(cfg) if identity else None
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

    def reset(self) -> None:
        """Forget the frames and the VAD state (a new stream); the counters go on."""
        self._track.reset()
        self._vad.reset()
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
        return Utterance(track, times[first], times[last], reason, identity)
