"""Capture job: frames from the source -> the shared streaming core (front door + visual VAD).

Runs on its own QThread, driven by a QTimer in that thread so that control slots (push to
talk, stop, another source) are handled between frames. Emits a downscaled preview with the
face box and mouth region, the stream state, and every utterance that ends. While recording is on
(``set_recording(True)``, the enrollment wizard), every source frame is also handed out with its
timestamp (``frame``), full size, as the source gave it.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
from PyQt6.QtCore import QObject, QTimer, pyqtSignal, pyqtSlot

from imagintalk.errors import ImaginTalkError
from imagintalk.settings import Config
from imagintalk.stream import LipStream
from imagintalk.video.detectors import build_detector
from imagintalk.video.frontdoor import working_max_side
from imagintalk.video.warmup import warm_up_detector

from ..sources import CameraSource, FileSource, SourceError, SourceGone, open_source

log = logging.getLogger(__name__)

PREVIEW_WIDTH = 480  # preview frames are scaled to this width before they cross to the GUI thread
RETRY_S = 2.0  # a missing or unplugged camera (or a video that went away) is tried again this often


def mouth_box(landmarks: np.ndarray, margin: float = 0.25) -> np.ndarray:
    """Box [4] x0, y0, x1, y1 around the mouth points (landmarks [68, 2], 48-67), with a margin."""
    points = landmarks[48:68]
    (x0, y0), (x1, y1) = points.min(0), points.max(0)
    pad = margin * max(x1 - x0, y1 - y0)
    return np.array([x0 - pad, y0 - pad, x1 + pad, y1 + pad], np.float32)


class CaptureJob(QObject):
    """Source -> ``LipStream``; see the module docstring. Create, move to a QThread, call ``start``."""

    # rgb uint8 [h, w, 3], face box [4] | None, mouth box [4] | None (preview pixels)
    preview = pyqtSignal(object, object, object)
    state_changed = pyqtSignal(str)  # "no_face" | "ready" | "listening" (the stream's states)
    utterance = pyqtSignal(object)  # imagintalk.stream.Utterance
    error = pyqtSignal(str)  # plain words; "" when the error went away
    source_ended = pyqtSignal()  # a file source reached its end (and the stream was flushed)
    source_failed = pyqtSignal(str)  # the source cannot be played and is not retried (a bad file)
    talk_rejected = pyqtSignal(str)  # push to talk gave nothing to speak (too short, no face)
    frame = pyqtSignal(object, float)  # while recording: BGR uint8 [H, W, 3] source frame, its time in s

    def __init__(self, cfg: Config, source: str | int, speak_mode: str = "automatic") -> None:
        super().__init__()
        self.cfg = cfg
        # built and run once here, on the main thread: dlib's models load now, not on the first frame
        # of the capture thread, and a missing model file fails the construction (see warm_up_detector)
        self.detector = warm_up_detector(
            build_detector(cfg.video.detector, upsample=cfg.video.upsample), cfg.video.detect_size
        )
        self.source_spec: str | int = source
        self.speak_mode = speak_mode
        self._source: CameraSource | FileSource | None = None
        self._stream = None
        self._timer: QTimer | None = None
        self._state = ""
        self._error = ""
        self._talk_from: float | None = None  # stream time the Speak button went down
        self._last_time = 0.0
        self._running = False
        self._lost = False  # the source went away (or is not there yet): retried every RETRY_S
        self._recording = False  # hand out raw frames (frame signal)

    # ------------------------------------------------------------------ control slots

    @pyqtSlot()
    def start(self) -> None:
        if self._timer is None:  # made here so that it lives in the job's thread
            self._timer = QTimer(self)
            self._timer.setSingleShot(True)
            self._timer.timeout.connect(self._tick)
        self._stream = LipStream(self.cfg, detector=self.detector, color="bgr")
        self._running = True
        self._open()

    @pyqtSlot()
    def stop(self) -> None:
        self._running = False
        if self._timer is not None:
            self._timer.stop()
        self._close()

    @pyqtSlot(object)
    def set_source(self, source: str | int) -> None:
        """Switch to another camera index or file (e.g. after the settings changed)."""
        self._close()
        self.source_spec, self._lost = source, False
        if self._stream is not None:
            self._stream.reset()
        if self._running:
            self._open()

    @pyqtSlot(bool)
    def set_recording(self, on: bool) -> None:
        """Hand out (on) or stop handing out every source frame with its time (``frame``)."""
        self._recording = bool(on)

    @pyqtSlot(str)
    def set_speak_mode(self, mode: str) -> None:
        self.speak_mode = mode

    @pyqtSlot()
    def press_talk(self) -> None:
        self._talk_from = self._last_time

    @pyqtSlot()
    def release_talk(self) -> None:
        """Speak what the stream saw while the button was held."""
        if self._talk_from is None or self._stream is None:
            return
        held = self._last_time - self._talk_from
        self._talk_from = None
        utterance = self._stream.speak_last(held) if held > 0 else None
        if utterance is None:
            self.talk_rejected.emit("Nothing to speak: hold Speak while you mouth the words at the camera.")
            return
        self.utterance.emit(utterance)

    # ------------------------------------------------------------------ the frame loop

    def _open(self) -> None:
        try:
            self._source = open_source(self.source_spec, working_max_side(self.cfg.video))
        except (SourceError, ImaginTalkError) as exc:
            self._set_error(str(exc))
            # cameras come back, and so may a video that went away (even if half copied back at first);
            # a bad file does not
            self._lost = self._lost or isinstance(exc, SourceGone)
            if self._lost:
                self._timer.start(int(RETRY_S * 1000))
            else:
                self.source_failed.emit(str(exc))
            return
        if self._lost and self._stream is not None:  # back after a loss: a new stream with a new clock
            self._stream.reset()
            self._state = ""
        self._lost = False
        self._set_error("")
        self._timer.start(int(1000 * self._source.delay_s()))

    def _close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    def _tick(self) -> None:
        if not self._running:
            return
        if self._source is None:  # retrying a camera
            self._open()
            return
        try:
            item = self._source.read()
        except SourceError as exc:
            self._close()
            self._lost = True
            self._set_error(str(exc))
            self._timer.start(int(RETRY_S * 1000))
            return
        if item is None:
            self._end_of_file()
            return
        frame, time_s = item
        self._last_time = time_s
        if self._recording:  # a copy crosses threads: the receiver owns it
            self.frame.emit(frame.copy(), float(time_s))
        try:
            update = self._stream.push(frame, time_s)
        except ImaginTalkError as exc:  # a bad frame: say so and go on with the next one
            self._set_error(f"A camera frame could not be used: {exc}")
        else:
            self._report(frame, update)
        self._timer.start(int(1000 * self._source.delay_s()))

    def _report(self, frame: np.ndarray, update) -> None:
        scale = PREVIEW_WIDTH / frame.shape[1]
        small = cv2.resize(frame, (PREVIEW_WIDTH, max(1, round(frame.shape[0] * scale))))
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        obs = update.observation
        face = mouth = None
        if obs is not None and obs.found:
            face = np.asarray(obs.box, np.float32) * scale
            mouth = mouth_box(np.asarray(obs.landmarks, np.float32)) * scale
        self.preview.emit(rgb, face, mouth)
        if update.state != self._state:
            self._state = update.state
            self.state_changed.emit(update.state)
        if self._error.startswith("A camera frame"):
            self._set_error("")
        # while Speak is held (or in push-to-talk mode) the held span is spoken, not the VAD's cut
        if update.utterance is not None and self.speak_mode == "automatic" and self._talk_from is None:
            self.utterance.emit(update.utterance)

    def _end_of_file(self) -> None:
        self._close()
        self._running = False
        last = self._stream.flush() if self._stream is not None else None
        if last is not None and self.speak_mode == "automatic":
            self.utterance.emit(last)
        if self._stream is not None and self._stream.state != self._state:  # the open utterance closed
            self._state = self._stream.state
            self.state_changed.emit(self._state)
        self.source_ended.emit()

    def _set_error(self, message: str) -> None:
        if message != self._error:
            self._error = message
            if message:
                log.warning("%s", message)
            self.error.emit(message)
