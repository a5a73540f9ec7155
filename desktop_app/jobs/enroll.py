"""Enrollment job: recorded prompts -> clips -> ``imagintalk.enroll.enroll`` -> a saved profile.

Runs on its own QThread with its own ``Pipeline`` (loaded when the wizard first hands it a
recording): adapting attaches an adapter to the lip aligner, which must not happen under the
speech job's feet. Each recording is checked as soon as it is handed over (``add_recording``: the
face must be found), so the wizard can say at once that a prompt needs recording again. ``cancel``
and ``arm`` are called directly from the GUI thread (a threading.Event), everything else through
queued signals.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

from imagintalk.enroll import clip_from_frames, enroll
from imagintalk.enroll.adapt import AdaptSettings
from imagintalk.errors import ImaginTalkError, NoFaceError
from imagintalk.pipeline import Pipeline

from .speech import default_model_dir

log = logging.getLogger(__name__)

MIN_PROMPTS = 4  # fewer recorded prompts teach the adapter too little (and hold nothing back)


def folder_name(name: str) -> str:
    """A profile name -> its folder's name (letters, digits, - and _; "" when nothing is left)."""
    return re.sub(r"[^\w\-]+", "_", name.strip()).strip("_.")


def out_problem(path: Path) -> str:
    """Why no profile can be written to ``path`` (a file, a folder of other things); "" if one can."""
    if path.exists() and not path.is_dir():
        return f"{path} exists and is not a folder: choose another name."
    if path.is_dir() and any(path.iterdir()) and not (path / "profile.json").is_file():
        return f"{path} is a folder with other files in it, not a profile: choose another name."
    return ""


class EnrollmentJob(QObject):
    """See the module docstring. Create, move to a QThread, then drive it with queued signals."""

    checked = pyqtSignal(int, str)  # (prompt index, "" when its recording can be used, else plain words)
    progress = pyqtSignal(str, float)  # (what is happening, fraction done 0..1)
    finished = pyqtSignal(str, str)  # (the saved profile's folder, its name)
    failed = pyqtSignal(str)  # plain words
    cancelled = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()
        self.model_dir: Path | None = None
        self.pipeline: Pipeline | None = None
        self._loaded: Path | None = None
        self.clips: dict = {}  # prompt index -> EnrollmentClip

    # ------------------------------------------------------------------ called directly (thread-safe)

    def cancel(self) -> None:
        """Stop the adaptation after its current epoch (nothing is saved)."""
        self._stop.set()

    def arm(self) -> None:
        """Before an ``adapt`` request: forget an earlier cancel."""
        self._stop.clear()

    # ------------------------------------------------------------------ queued slots

    @pyqtSlot(str)
    def begin(self, model_dir: str) -> None:
        """A new enrollment with the model in ``model_dir`` ("" = the shipped one)."""
        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        self.clips.clear()

    @pyqtSlot()
    def release(self) -> None:
        """The wizard closed: free the pipeline and the recordings."""
        self.pipeline, self._loaded = None, None
        self.clips.clear()

    @pyqtSlot(int, object, str)
    def add_recording(self, index: int, frames: list, text: str) -> None:
        """(frame BGR, seconds) pairs of prompt ``index`` -> a checked clip, kept (or a problem said)."""
        self.clips.pop(index, None)
        try:
            clip = clip_from_frames(self._pipe(), frames, text)
        except NoFaceError:
            self.checked.emit(index, "No face was found in that recording: look straight at the camera and "
                                     "record the prompt again (Space).")  # fmt: skip
            return
        except ImaginTalkError as exc:  # no model, no frames, an empty prompt
            self.checked.emit(index, f"That recording could not be used: {exc}")
            return
        except Exception as exc:  # never raised into Qt
            log.exception("enrollment clip")
            self.checked.emit(index, f"That recording could not be used ({type(exc).__name__}: {exc}).")
            return
        self.clips[index] = clip
        self.checked.emit(index, "")

    @pyqtSlot(int)
    def drop(self, index: int) -> None:
        self.clips.pop(index, None)

    @pyqtSlot(str, str, object)
    def adapt(self, name: str, out_dir: str, settings: AdaptSettings | None) -> None:
        """Adapt to the kept clips, save the profile in ``out_dir`` -> ``finished`` (failed, cancelled)."""
        clips = [self.clips[i] for i in sorted(self.clips)]
        if len(clips) < MIN_PROMPTS:
            self.failed.emit(f"Record at least {MIN_PROMPTS} prompts first ({len(clips)} recorded so far).")
            return
        problem = out_problem(Path(out_dir))
        if problem:
            self.failed.emit(problem)
            return
        if self._stop.is_set():
            self.cancelled.emit()
            return
        try:
            pipe = self._pipe()
            self.progress.emit("Learning your face…", 0.0)
            profile = enroll(
                pipe,
                clips,
                name=name,
                settings=settings,
                progress=self._progress,
                should_stop=self._stop.is_set,
            )
            if self._stop.is_set():
                self.cancelled.emit()
                return
            path = profile.save(out_dir)
        except ImaginTalkError as exc:  # no prompt could be aligned, no model
            self.failed.emit(f"The profile could not be made: {exc}")
            return
        except OSError as exc:
            self.failed.emit(f"The profile could not be saved in {out_dir}: {exc}")
            return
        except Exception as exc:  # never raised into Qt
            log.exception("enrollment")
            self.failed.emit(f"The profile could not be made ({type(exc).__name__}: {exc}).")
            return
        log.info("profile %s saved in %s: %s", name, path, profile.report)
        self.progress.emit("Done.", 1.0)
        self.finished.emit(str(path), profile.name)

    # ------------------------------------------------------------------ helpers

    def _progress(self, text: str, fraction: float) -> None:
        self.progress.emit(text, float(min(max(fraction, 0.0), 1.0)))

    def _pipe(self) -> Pipeline:
        """This job's own pipeline (loaded once per model folder); CheckpointError when there is none."""
        model_dir = self.model_dir or default_model_dir()
        if self.pipeline is None or self._loaded != model_dir:
            self.pipeline = None
            self.pipeline = Pipeline.from_dir(model_dir)  # ImaginTalkError: said by the caller
            self._loaded = model_dir
        return self.pipeline
