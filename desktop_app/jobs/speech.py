"""Synthesis job: a loaded ``Pipeline`` that speaks each utterance (and typed text) and saves it as a wav.

Runs on its own QThread; utterances and typed texts queue up as queued signals and are spoken in
order. Typed text (``say``) is spoken in the voice of the last face seen (the identity and mean
expression of the last utterance, kept here), else the active profile's, else the reference
recording's. (Not to be confused with ``imagintalk.stream.SpeechJob``, one queued utterance of the
core's SpeechWorker.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

from imagintalk.errors import ImaginTalkError
from imagintalk.export import onnx_bundle
from imagintalk.pipeline import Pipeline, SpeakerFace
from imagintalk.settings import DEFAULT_MODEL_DIR
from imagintalk.settings.speak import SpeakOptions

from ..history import HistoryEntry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VoiceSetup:
    """What the pipeline is loaded with (a change of model_dir reloads it; the rest does not)."""

    model_dir: str
    options: SpeakOptions  # steps, seed, expressiveness, ...: validated when the pipeline takes them
    voice_mode: str = "face"
    reference_wav: str = ""
    backend: str = "torch"  # onnx: the model's graphs in MODEL_DIR/onnx under onnxruntime (reloads)
    profile: str = ""  # the active profile's folder; "" = none (Pipeline.set_profile)


NO_VOICE = "Show your face once, or choose a profile, before typing: there is no voice to speak with yet."
_UNSET = object()


def default_model_dir() -> Path:
    return DEFAULT_MODEL_DIR


def apply_voice(pipeline, setup: VoiceSetup) -> str:
    """Set the voice controls on a loaded pipeline; returns a plain-words problem or "".

    The speaking options (steps, seed, expressiveness) go through ``Pipeline.set_options``, which
    checks them; the voice is the face's or a reference recording's.
    """
    try:
        pipeline.set_options(setup.options)
    except ImaginTalkError as exc:
        return f"The speech settings could not be used ({exc}): speaking with the previous ones."
    profile = getattr(pipeline, "profile", None)
    own = profile.voice if profile is not None else None  # a profile's recording of the user's voice
    if setup.voice_mode != "reference":
        pipeline.set_voice_reference(own)
        return ""
    if not setup.reference_wav:
        pipeline.set_voice_reference(own)
        return "No recording was chosen for your voice: speaking with the voice from your face."
    try:
        voice = pipeline.set_voice_reference(setup.reference_wav)
    except ImaginTalkError as exc:  # unreadable or too short a recording
        pipeline.set_voice_reference(None)
        return f"Your voice recording could not be used ({exc}): speaking with the voice from your face."
    log.info("reference voice %s: cosine %.3f", setup.reference_wav, getattr(voice, "cosine", float("nan")))
    return ""


class SynthesisJob(QObject):
    """The app's speech-synthesis worker: ``configure`` loads the model (the Pipeline) and sets the
    profile; ``speak`` turns each Utterance, ``say`` each typed text, into speech saved as a wav and
    reported as a HistoryEntry."""

    spoken = pyqtSignal(object)  # HistoryEntry
    failed = pyqtSignal(str)  # plain words
    model_status = pyqtSignal(bool, str)  # (loaded, plain words)
    voice_problem = pyqtSignal(str)  # the voice settings could not be applied ("" when they were)
    busy = pyqtSignal(bool)  # speaking an utterance (the window shows "thinking")
    profile_status = pyqtSignal(str, str)  # (the active profile's name or "", a plain-words problem or "")

    def __init__(self, out_dir: str | Path) -> None:
        super().__init__()
        self.out_dir = Path(out_dir)
        self.setup: VoiceSetup | None = None
        self.pipeline = None
        self._loaded_dir: tuple[Path, str] | None = None  # (model dir, backend) the pipeline holds
        self._count = 0
        self._profile_key: object = _UNSET  # (folder, profile.json mtime) applied to the pipeline
        # the last face seen (identity, mean expression, crops of the last spoken utterance): typed speech's
        self.face: SpeakerFace | None = None

    @pyqtSlot(object)
    def configure(self, setup: VoiceSetup) -> None:
        self.setup = setup
        self._load()

    def _load(self) -> bool:
        """(Re)load when the model changed, else apply the options; True when a pipeline is ready."""
        setup = self.setup
        if setup is None:
            return False
        model_dir = Path(setup.model_dir) if setup.model_dir else default_model_dir()
        if self.pipeline is None or (model_dir, setup.backend) != self._loaded_dir:
            self.pipeline = None
            try:
                bundle, engine = None, "torch"
                if setup.backend == "onnx":
                    bundle, engine = onnx_bundle(model_dir, model_dir / "onnx")
                    log.info("backend: onnxruntime, %s (%s)", engine, model_dir / "onnx")
                self.pipeline = Pipeline.from_dir(model_dir, setup.options, bundle=bundle)
            except ImaginTalkError as exc:
                self.model_status.emit(
                    False, f"No voice model could be loaded from {model_dir}: {exc}. Choose the model folder "
                    "in Settings (Ctrl+,).",
                )  # fmt: skip
                return False
            self._loaded_dir = (model_dir, setup.backend)
            self._profile_key = _UNSET
            self.model_status.emit(True, f"Voice model loaded from {model_dir} ({engine}).")
        self._apply_profile(setup)
        self.voice_problem.emit(apply_voice(self.pipeline, setup))
        return True

    def _apply_profile(self, setup: VoiceSetup) -> None:
        """Set the chosen profile on the pipeline (again when its files changed, e.g. re-enrolled)."""
        path = Path(setup.profile) if setup.profile else None
        try:
            key = None if path is None else (path, (path / "profile.json").stat().st_mtime_ns)
        except OSError:
            key = (path, None)
        if key == self._profile_key:
            return
        self._profile_key = key
        if path is None:
            self.pipeline.set_profile(None)
            self.profile_status.emit("", "")
            return
        if setup.backend == "onnx":
            self.pipeline.set_profile(None)
            self.profile_status.emit("", "Profiles work with the PyTorch engine only: speaking without one.")
            return
        try:
            profile = self.pipeline.set_profile(path)
        except ImaginTalkError as exc:  # not a profile, damaged, or made for another model
            self.pipeline.set_profile(None)
            self.profile_status.emit(
                "", f"The profile {path.name} could not be used ({exc}): speaking without it."
            )
            return
        log.info("profile %s (%s)", profile.name, path)
        self.profile_status.emit(profile.name, "")

    @pyqtSlot(object, str)
    def speak(self, utterance, trigger: str) -> None:
        """Utterance (track at 25 fps, start_s, end_s) -> wav saved in out_dir -> ``spoken``."""
        if self.pipeline is None and not self._load():  # the model may have appeared since
            self.failed.emit("Not spoken: no voice model is loaded.")
            return
        self.busy.emit(True)
        try:
            result = self.pipeline.speak_track(utterance.track, utterance.identity, utterance.expression)
            self._count += 1
            path = result.save_wav(self.out_dir / f"utterance_{self._count:04d}.wav")
        except ImaginTalkError as exc:  # no face in the span, too short, disk full
            self.failed.emit(f"Not spoken: {exc}")
            return
        finally:
            self.busy.emit(False)
        entry = HistoryEntry(
            self._count, datetime.now(), result.wav, result.sample_rate, path, trigger,
            float(utterance.start_s), float(utterance.end_s), result.summary(),
        )  # fmt: skip
        log.info("spoke %s: %.2f s in %.2f s", path.name, result.duration, result.timings["total"])
        self.spoken.emit(entry)
        self._remember_face(utterance)

    def _remember_face(self, utterance) -> None:
        """Keep the utterance's face for typed speech (the streamed identity and expression reused)."""
        try:
            face = self.pipeline.describe_track(utterance.track, utterance.identity, utterance.expression)
            if np.all(np.isfinite(face.expression)):
                self.face = face
        except Exception:  # optional: typed speech then uses the profile's voice; never raise into Qt
            log.exception("the face of the last utterance could not be kept for typed speech")

    @pyqtSlot(str)
    def say(self, text: str) -> None:
        """Typed text -> speech in the last face's voice (else the profile's, the recording's) -> spoken."""
        text = " ".join(str(text).split())
        if not text:
            self.failed.emit("Nothing to say: type some words first.")
            return
        if self.pipeline is None and not self._load():
            self.failed.emit("Not said: no voice model is loaded.")
            return
        pipe = self.pipeline
        face = self.face or (pipe.profile.face if pipe.profile is not None else None)
        if face is None and (pipe.reference_voice is None or pipe.neutral_expression is None):
            self.failed.emit(NO_VOICE)
            return
        self.busy.emit(True)
        try:
            result = pipe.say(text, face)
            self._count += 1
            path = result.save_wav(self.out_dir / f"typed_{self._count:04d}.wav")
        except ImaginTalkError as exc:  # text with nothing to speak, a descriptor of another width, disk full
            self.failed.emit(f"Not said: {exc}")
            return
        except Exception as exc:  # a model that cannot speak typed text: said, never raised into Qt
            log.exception("typed speech failed")
            self.failed.emit(
                f"Not said: this model could not speak typed text ({type(exc).__name__}: {exc})."
            )
            return
        finally:
            self.busy.emit(False)
        entry = HistoryEntry(
            self._count, datetime.now(), result.wav, result.sample_rate, path, "typed",
            summary=result.summary(), text=text,
        )  # fmt: skip
        log.info("said %s: %.2f s in %.2f s", path.name, result.duration, result.timings["total"])
        self.spoken.emit(entry)
