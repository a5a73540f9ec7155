"""Synthesis job: a loaded ``Pipeline`` that speaks each utterance and saves it as a wav.

Runs on its own QThread; utterances queue up as queued signals and are spoken in order. (Not to
be confused with ``imagintalk.stream.SpeechJob``, one queued utterance of the core's SpeechWorker.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

from imagintalk.errors import ImaginTalkError
from imagintalk.export import onnx_bundle
from imagintalk.pipeline import Pipeline
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
    if setup.voice_mode != "reference":
        pipeline.set_voice_reference(None)
        return ""
    if not setup.reference_wav:
        pipeline.set_voice_reference(None)
        return "No recording was chosen for your voice: speaking with the voice from your face."
    try:
        voice = pipeline.set_voice_reference(setup.reference_wav)
    except ImaginTalkError as exc:  # unreadable or too short a recording
        pipeline.set_voice_reference(None)
        return f"Your voice recording could not be used ({exc}): speaking with the voice from your face."
    log.info("reference voice %s: cosine %.3f", setup.reference_wav, getattr(voice, "cosine", float("nan")))
    return ""


class SynthesisJob(QObject):
    """The app's speech-synthesis worker: ``configure`` loads the model (the Pipeline); ``speak`` turns
    each Utterance into speech saved as a wav and reported as a HistoryEntry."""

    spoken = pyqtSignal(object)  # HistoryEntry
    failed = pyqtSignal(str)  # plain words
    model_status = pyqtSignal(bool, str)  # (loaded, plain words)
    voice_problem = pyqtSignal(str)  # the voice settings could not be applied ("" when they were)
    busy = pyqtSignal(bool)  # speaking an utterance (the window shows "thinking")

    def __init__(self, out_dir: str | Path) -> None:
        super().__init__()
        self.out_dir = Path(out_dir)
        self.setup: VoiceSetup | None = None
        self.pipeline = None
        self._loaded_dir: tuple[Path, str] | None = None  # (model dir, backend) the pipeline holds
        self._count = 0

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
            self.model_status.emit(True, f"Voice model loaded from {model_dir} ({engine}).")
        self.voice_problem.emit(apply_voice(self.pipeline, setup))
        return True

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
