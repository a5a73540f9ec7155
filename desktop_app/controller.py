"""AppController: owns the worker threads and jobs; the window talks to it only through signals/slots.

Threads: capture (source -> front door -> visual VAD), speech (Pipeline), audio (sounddevice),
enrollment (its own Pipeline: recorded prompts -> a profile, only while the wizard is used).
The controller lives in the GUI thread, forwards work to the jobs with queued signals and turns
their reports into what the window shows (one display state, a problems line, history entries).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import replace
from pathlib import Path

from PyQt6.QtCore import QMetaObject, QObject, QSettings, Qt, QThread, pyqtSignal, pyqtSlot

from imagintalk.errors import ImaginTalkError
from imagintalk.models.bundle import load_config_of
from imagintalk.settings import Config, load_config
from imagintalk.settings.speak import SpeakOptions

from .history import HistoryEntry, HistoryModel, export_entry
from .jobs.audio import AudioJob
from .jobs.capture import CaptureJob
from .jobs.enroll import EnrollmentJob, folder_name
from .jobs.speech import SynthesisJob, VoiceSetup, default_model_dir
from .settings import (
    PHRASE_KEYS,
    AppSettings,
    load_phrases,
    profile_path,
    profiles_root,
    save_phrases,
    save_settings,
)

log = logging.getLogger(__name__)

PROBLEM_ORDER = ("source", "model", "voice", "profile", "speech", "audio")

# Started controllers not yet shut down. Holding them here means a running controller is never
# garbage-collected: destroying it would destroy its QThreads while they run, and Qt aborts the
# process for that ("QThread: Destroyed while thread ... is still running", SIGABRT).
_RUNNING: set[AppController] = set()


def stream_config(model_dir: str) -> Config:
    """The model's own config (its front-door settings), or the default preset without a model."""
    path = Path(model_dir) if model_dir else default_model_dir()
    try:
        return load_config_of(path)
    except (ImaginTalkError, OSError):
        return load_config("synth")


class AppController(QObject):
    preview = pyqtSignal(object, object, object)  # rgb [h, w, 3], face box | None, mouth box | None
    state_changed = pyqtSignal(str)  # a key of theme.STATE_TEXT
    problems_changed = pyqtSignal(str)  # every current problem in plain words; "" when none
    message = pyqtSignal(str)  # a passing note for the status bar
    entry_added = pyqtSignal(object)  # HistoryEntry
    played = pyqtSignal(int)  # a history entry was played to its end on the output device
    all_done = pyqtSignal(int)  # --exit-at-end: the file ended and every utterance was written (exit code)
    profile_changed = pyqtSignal(str)  # the active profile's name ("" = none)
    phrases_changed = pyqtSignal(object)  # list[str]: the phrase bank
    recording_frame = pyqtSignal(object, float)  # while recording: a source frame (BGR) and its time
    # the enrollment job's reports, re-emitted in the GUI thread (the wizard connects to these)
    enroll_checked = pyqtSignal(int, str)
    enroll_progress = pyqtSignal(str, float)
    enroll_failed = pyqtSignal(str)
    enroll_cancelled = pyqtSignal()
    enrolled = pyqtSignal(str, str)  # (profile folder, name): saved and made the active profile

    # queued requests to the jobs (each connected to a slot in the job's thread)
    _capture_start = pyqtSignal()
    _capture_source = pyqtSignal(object)
    _capture_mode = pyqtSignal(str)
    _talk_press = pyqtSignal()
    _talk_release = pyqtSignal()
    _speech_configure = pyqtSignal(object)
    _speech_speak = pyqtSignal(object, str)
    _speech_say = pyqtSignal(str)
    _capture_recording = pyqtSignal(bool)
    _enroll_begin = pyqtSignal(str)
    _enroll_record = pyqtSignal(int, object, str)
    _enroll_drop = pyqtSignal(int)
    _enroll_adapt = pyqtSignal(str, str, object)
    _enroll_release = pyqtSignal()
    _audio_play = pyqtSignal(int, object, int)
    _audio_device = pyqtSignal(str)

    def __init__(
        self,
        settings: AppSettings,
        store: QSettings,
        source: str | int | None = None,
        record_dir: str | Path | None = None,
        exit_at_end: bool = False,
    ) -> None:
        super().__init__()
        self.settings, self.store = settings.checked(), store
        self.source: str | int = source if source is not None else self.settings.camera
        self.exit_at_end = exit_at_end
        self.history = HistoryModel()
        self.problems: dict[str, str] = {}
        self.pending = 0  # utterances sent to the speech job, not yet spoken or failed
        self.playing = 0  # entries sent to the audio job, not yet played or failed
        self.source_ended = False
        self.written: list[Path] = []
        self.exit_error = ""  # --exit-at-end: why it ends with code 2 (no model, a source it cannot play)
        # latency: the monotonic time each queued utterance was cut by the VAD (in speaking order), and
        # per history entry the seconds from that cut to "saved" (wav written) and "heard" (playback start)
        self._cut_at: deque[float] = deque()
        self._cut_of_entry: dict[int, float] = {}
        self.latency: dict[int, dict[str, float]] = {}
        self._stream_state, self._speaking, self._preparing = "starting", False, False
        out_dir = Path(record_dir) if record_dir else default_history_dir()
        self.threads: list[QThread] = []
        self._shut_down = False
        self.phrases: list[str] = load_phrases(store)
        self.active_profile = ""  # the name of the profile the speech job has set ("" = none)

        self.cfg = cfg = stream_config(self.settings.model_dir)  # the model's config (enrollment prompts too)
        self.capture = CaptureJob(cfg, self.source, self.settings.speak_mode)
        self.speech = SynthesisJob(out_dir)
        self.audio = AudioJob()
        self.enroller = EnrollmentJob()
        jobs = (
            (self.capture, "capture"),
            (self.speech, "speech"),
            (self.audio, "audio"),
            (self.enroller, "enroll"),
        )
        for job, name in jobs:
            thread = QThread(self)
            thread.setObjectName(f"imagintalk-{name}")
            job.moveToThread(thread)
            self.threads.append(thread)

        self._capture_start.connect(self.capture.start)
        self._capture_source.connect(self.capture.set_source)
        self._capture_mode.connect(self.capture.set_speak_mode)
        self._talk_press.connect(self.capture.press_talk)
        self._talk_release.connect(self.capture.release_talk)
        self.capture.preview.connect(self.preview)
        self.capture.state_changed.connect(self._on_stream_state)
        self.capture.utterance.connect(self._on_utterance)
        self.capture.error.connect(self._on_source_error)
        self.capture.source_ended.connect(self._on_source_ended)
        self.capture.source_failed.connect(self._on_source_failed)
        self.capture.talk_rejected.connect(self.message)
        self._capture_recording.connect(self.capture.set_recording)
        self.capture.frame.connect(self.recording_frame)

        self._speech_configure.connect(self.speech.configure)
        self._speech_speak.connect(self.speech.speak)
        self._speech_say.connect(self.speech.say)
        self.speech.profile_status.connect(self._on_profile_status)
        self.speech.spoken.connect(self._on_spoken)
        self.speech.failed.connect(self._on_speech_failed)
        self.speech.model_status.connect(self._on_model_status)
        self.speech.busy.connect(self._on_busy)
        self.speech.voice_problem.connect(self._on_voice_problem)

        self._audio_play.connect(self.audio.play)
        self._audio_device.connect(self.audio.set_device)
        # bound methods (not lambdas): PyQt then queues the call into this, the GUI, thread
        self.audio.started.connect(self._on_audio_started)
        self.audio.finished.connect(self._on_audio_finished)
        self.audio.failed.connect(self._on_audio_failed)

        self._enroll_begin.connect(self.enroller.begin)
        self._enroll_record.connect(self.enroller.add_recording)
        self._enroll_drop.connect(self.enroller.drop)
        self._enroll_adapt.connect(self.enroller.adapt)
        self._enroll_release.connect(self.enroller.release)
        self.enroller.checked.connect(self.enroll_checked)
        self.enroller.progress.connect(self.enroll_progress)
        self.enroller.failed.connect(self.enroll_failed)
        self.enroller.cancelled.connect(self.enroll_cancelled)
        self.enroller.finished.connect(self._on_enrolled)

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        _RUNNING.add(self)
        for thread in self.threads:
            thread.start()
        self._audio_device.emit(self.settings.output_device)
        self._speech_configure.emit(self.voice_setup())
        self._capture_start.emit()

    def shutdown(self) -> None:
        """Stop the jobs and join their threads (an utterance being spoken is finished first).

        Must run before the controller is destroyed: Qt aborts the process (qFatal) when a QThread
        object dies while its thread runs. Safe to call more than once.
        """
        if self._shut_down:
            return
        self._shut_down = True
        self.audio.stop()
        self.enroller.cancel()  # an adaptation stops after its current epoch
        if self.threads[0].isRunning():
            QMetaObject.invokeMethod(self.capture, "stop", Qt.ConnectionType.BlockingQueuedConnection)
        for thread in self.threads:
            thread.quit()
        for thread in self.threads:
            thread.wait()
        _RUNNING.discard(self)

    def voice_setup(self, settings: AppSettings | None = None) -> VoiceSetup:
        """The speech job's setup from the app's settings (default: the current ones)."""
        s = settings or self.settings
        options = SpeakOptions(steps=s.steps, sampler=s.sampler, seed=s.seed, expressiveness=s.expressiveness)
        profile = profile_path(s)
        return VoiceSetup(s.model_dir, options, s.voice_mode, s.reference_wav, s.backend, str(profile or ""))

    def profile_text(self) -> str:
        """What the window says about the profile."""
        if self.active_profile:
            return f"Profile: {self.active_profile}"
        if self.settings.profile and not self.problems.get("profile"):
            return f"Profile: {self.settings.profile} (loading…)"
        return "Profile: none"

    # ------------------------------------------------------------------ requests from the window

    @pyqtSlot()
    def press_talk(self) -> None:
        self._talk_press.emit()

    @pyqtSlot()
    def release_talk(self) -> None:
        self._talk_release.emit()

    def replay(self, entry: HistoryEntry | None) -> None:
        if entry is None:
            self.message.emit("Nothing to replay yet.")
            return
        self._play(entry)

    def repeat_last(self) -> None:
        self.replay(self.history.latest())

    def export(self, entry: HistoryEntry, target: str | Path) -> Path | None:
        try:
            path = export_entry(entry, target)
        except OSError as exc:
            self.message.emit(f"Could not export to {target}: {exc}")
            return None
        self.message.emit(f"Saved {path}")
        return path

    def apply_settings(self, new: AppSettings) -> None:
        """Store the settings and hand the changed parts to the jobs."""
        old, new = self.settings, new.checked()
        self.settings = new
        save_settings(self.store, new)
        if new.output_device != old.output_device:
            self._audio_device.emit(new.output_device)
        if new.speak_mode != old.speak_mode:
            self._capture_mode.emit(new.speak_mode)
        if self.voice_setup() != self.voice_setup(old):
            self._speech_configure.emit(self.voice_setup())
        if isinstance(self.source, int) and new.camera != old.camera:
            self.set_source(new.camera)

    def set_source(self, source: str | int) -> None:
        self.source, self.source_ended = source, False
        self._capture_source.emit(source)

    # ------------------------------------------------------------------ typed speech and the phrase bank

    def say(self, text: str) -> bool:
        """Speak typed ``text`` (queued behind any utterance being spoken); False when there is nothing."""
        text = " ".join(str(text).split())
        if not text:
            self._set_problem("speech", "Nothing to say: type some words first.")
            return False
        self.pending += 1
        self._cut_at.append(time.monotonic())  # latency from the request, as from an utterance's cut
        self._speech_say.emit(text)
        return True

    def say_phrase(self, index: int) -> bool:
        """Speak the phrase on key ``PHRASE_KEYS[index]``."""
        if not 0 <= index < len(self.phrases):
            key = PHRASE_KEYS[index] if 0 <= index < len(PHRASE_KEYS) else str(index + 1)
            self.message.emit(f"No phrase is saved on {key}: add one in the phrase bank.")
            return False
        return self.say(self.phrases[index])

    def set_phrases(self, phrases: list[str]) -> None:
        """Store the phrase bank (blank ones dropped, at most one per key)."""
        cleaned = [" ".join(p.split()) for p in phrases if p and p.strip()][: len(PHRASE_KEYS)]
        if cleaned != self.phrases:
            self.phrases = cleaned
            save_phrases(self.store, cleaned)
        self.phrases_changed.emit(list(self.phrases))

    # ------------------------------------------------------------------ enrollment (the wizard's requests)

    def set_recording(self, on: bool) -> None:
        """Have the capture job hand out its source frames (``recording_frame``) or stop."""
        self._capture_recording.emit(on)

    def enroll_begin(self) -> None:
        self._enroll_begin.emit(self.settings.model_dir)

    def enroll_record(self, index: int, frames: list, text: str) -> None:
        self._enroll_record.emit(index, frames, text)

    def enroll_drop(self, index: int) -> None:
        self._enroll_drop.emit(index)

    def enroll_target(self, name: str) -> Path | None:
        """The folder a profile called ``name`` is saved in (None: no usable name)."""
        folder = folder_name(name)
        return profiles_root(self.settings) / folder if folder else None

    def enroll_adapt(self, name: str, settings=None) -> bool:
        target = self.enroll_target(name)
        if target is None:
            self.enroll_failed.emit("Give the profile a name first (letters or digits).")
            return False
        self.enroller.arm()
        self._enroll_adapt.emit(name.strip(), str(target), settings)
        return True

    def enroll_cancel(self) -> None:
        self.enroller.cancel()

    def enroll_end(self) -> None:
        self.set_recording(False)
        self.enroller.cancel()
        self._enroll_release.emit()

    def _on_enrolled(self, path: str, name: str) -> None:
        folder = Path(path)
        chosen = folder.name if folder.parent == profiles_root(self.settings) else str(folder)
        self.apply_settings(replace(self.settings, profile=chosen))
        self._speech_configure.emit(self.voice_setup())  # again: a re-enrolled profile has new files
        self.message.emit(f"Profile {name} saved in {folder} and in use.")
        self.enrolled.emit(path, name)

    # ------------------------------------------------------------------ reports from the jobs

    def _on_stream_state(self, state: str) -> None:
        self._stream_state = state
        self._emit_state()

    def _on_utterance(self, utterance) -> None:
        trigger = "push_to_talk" if utterance.reason == "push_to_talk" else "automatic"
        self.pending += 1
        self._cut_at.append(time.monotonic())
        self._speech_speak.emit(utterance, trigger)

    def _on_spoken(self, entry: HistoryEntry) -> None:
        self.pending -= 1
        # (an exception in a slot aborts a PyQt app: never popleft an empty deque)
        cut = self._cut_at.popleft() if self._cut_at else time.monotonic()
        self._cut_of_entry[entry.entry_id] = cut
        self.latency[entry.entry_id] = {"saved": time.monotonic() - cut}
        log.info("%s: %.2f s of speech, saved %.2f s after the utterance was cut",
                 entry.wav_path.name, entry.duration_s, self.latency[entry.entry_id]["saved"])  # fmt: skip
        self.written.append(entry.wav_path)
        self.history.add(entry)
        self.entry_added.emit(entry)
        self._set_problem("speech", "")
        self.message.emit(f"Spoke {entry.duration_s:.1f} s ({entry.wav_path.name})")
        self._play(entry)

    def _play(self, entry: HistoryEntry) -> None:
        self.playing += 1
        self._audio_play.emit(entry.entry_id, entry.wav, entry.sample_rate)

    def _on_speech_failed(self, text: str) -> None:
        self.pending -= 1
        if self._cut_at:
            self._cut_at.popleft()
        self._set_problem("speech", text)
        self._check_done()

    def _on_model_status(self, loaded: bool, text: str) -> None:
        self._set_problem("model", "" if loaded else text)
        if loaded:
            self.message.emit(text)
        if not loaded and self.exit_at_end:
            self._give_up(text)  # unattended: nothing can be spoken without a model

    def _on_voice_problem(self, text: str) -> None:
        self._set_problem("voice", text)

    def _on_profile_status(self, name: str, problem: str) -> None:
        self.active_profile = name
        self._set_problem("profile", problem)
        self.profile_changed.emit(name)

    def _on_busy(self, busy: bool) -> None:
        self._preparing = busy
        self._emit_state()

    def _on_source_error(self, text: str) -> None:
        self._set_problem("source", text)

    def _on_audio_started(self, entry_id: int) -> None:
        cut = self._cut_of_entry.pop(entry_id, None)  # first playback only, not replays
        if cut is not None:
            heard = self.latency[entry_id]["heard"] = time.monotonic() - cut
            log.info("entry %d: heard %.2f s after the utterance was cut", entry_id, heard)
        self._set_speaking(True)

    def _on_audio_finished(self, entry_id: int) -> None:
        self.playing -= 1
        self._set_speaking(False)
        self.played.emit(entry_id)
        self._check_done()

    def _on_audio_failed(self, entry_id: int, text: str) -> None:
        self._cut_of_entry.pop(entry_id, None)
        self.playing -= 1
        self._set_speaking(False)
        self._set_problem("audio", text)
        self._check_done()

    def _set_speaking(self, speaking: bool) -> None:
        self._speaking = speaking
        if speaking:
            self._set_problem("audio", "")
        self._emit_state()

    def _on_source_failed(self, text: str) -> None:
        # a file that cannot be played (shown as the source problem already); unattended, nobody will
        # choose another one: end as a missing file does at start-up (code 2), not wait forever
        if self.exit_at_end:
            self._give_up(text)

    def _give_up(self, text: str) -> None:
        self.exit_error = self.exit_error or text
        self.all_done.emit(2)

    def _on_source_ended(self) -> None:
        self.source_ended = True
        self.message.emit("The video ended.")
        self._check_done()

    def _check_done(self) -> None:
        # unattended: done when the file ended and every utterance was written and played (or failed)
        if self.exit_at_end and self.source_ended and self.pending == 0 and self.playing == 0:
            self.all_done.emit(0 if self.written else 1)

    def _emit_state(self) -> None:
        if self._speaking:
            state = "speaking"
        elif self._preparing:
            state = "preparing"
        elif self.problems.get("source"):
            state = "no_source"
        else:
            state = self._stream_state
        self.state_changed.emit(state)

    def _set_problem(self, kind: str, text: str) -> None:
        if self.problems.get(kind, "") == text:
            return
        self.problems[kind] = text
        self.problems_changed.emit("\n".join(self.problems[k] for k in PROBLEM_ORDER if self.problems.get(k)))
        self._emit_state()


def default_history_dir() -> Path:
    """A new folder per session under the user's data folder."""
    from datetime import datetime

    from PyQt6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".imagintalk") / "history" / datetime.now().strftime("%Y%m%d-%H%M%S")
