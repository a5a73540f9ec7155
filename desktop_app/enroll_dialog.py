"""The enrollment wizard: a profile name, then prompts mouthed one at a time, then "Adapt".

Three pages in one dialog: the name (and the prompts: the model's own or a file), the recording
(one prompt at a time in large text; Space or Enter starts and stops recording it from the app's
camera or video source; Skip, Back, record again), and the adaptation (progress, Cancel). The
frames come from the capture job (``AppController.recording_frame`` while recording is on); every
recording is checked (the face must be found) and the adaptation run by the enrollment job on its
own thread: the dialog only shows what they report.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from imagintalk.enroll import default_prompts, read_prompts
from imagintalk.errors import ImaginTalkError

from .jobs.enroll import MIN_PROMPTS

PROMPT_COUNT = 25
MIN_FRAMES = 8  # a shorter recording holds too little of the mouth to learn from
MAX_RECORD_S = 12.0  # a recording stops by itself after this long


def _button(text: str, name: str, description: str) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.setAccessibleDescription(description)
    button.setToolTip(description)
    button.setAutoDefault(False)
    return button


def _label(name: str, text: str = "") -> QLabel:
    label = QLabel(text)
    label.setAccessibleName(name)
    label.setWordWrap(True)
    return label


class EnrollDialog(QDialog):
    """See the module docstring. ``adapt_settings`` (an AdaptSettings, None = the defaults) is what
    "Adapt" trains with; tests set a tiny one."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = c = controller
        self.setWindowTitle("Teach ImaginTalk your face")
        self.setAccessibleName("Teach it my face")
        self.setMinimumSize(760, 480)
        self.adapt_settings = None
        self.prompts: list[str] = []
        self.index = 0
        self.recorded: set[int] = set()  # prompts whose recording was checked and kept
        self.frames: list = []
        self.recording = False
        self.checking: int | None = None  # the prompt whose recording the job is checking
        self.adapting = False
        self.result_path = ""

        # page 1: name and prompts
        self.name_edit = QLineEdit(c.active_profile or c.settings.profile)
        self.name_edit.setAccessibleName("Profile name")
        self.name_edit.setAccessibleDescription("A name for your profile, e.g. your first name")
        self.prompts_info = _label("Prompts")
        self.prompts_button = _button(
            "Use a prompts &file…", "Use a prompts file", "A text file with one prompt per line"
        )
        self.start_button = _button("&Start (Enter)", "Start recording prompts", "Go on to the prompts")
        self.start_button.setDefault(True)
        self.start_problem = _label("Problem")
        form = QFormLayout()
        name_label = QLabel("Profile &name:")
        name_label.setBuddy(self.name_edit)
        form.addRow(name_label, self.name_edit)
        start_page = QWidget()
        box = QVBoxLayout(start_page)
        intro = (
            "You will see short sentences one at a time. For each one: press Space, mouth the words "
            "silently at the camera, press Space again. Then press Adapt: the lip reader learns your "
            "face (a few minutes)."
        )
        box.addWidget(_label("Introduction", intro))
        box.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.prompts_info, 1)
        row.addWidget(self.prompts_button)
        box.addLayout(row)
        box.addWidget(self.start_problem)
        box.addStretch(1)
        box.addWidget(self.start_button)

        # page 2: the prompts, one at a time
        self.count_label = _label("Prompt number")
        self.prompt_label = _label("Prompt to mouth")
        self.prompt_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prompt_label.setMinimumHeight(140)
        self.record_status = _label("Recording status")
        self.problem_label = _label("Problem")
        self.record_button = _button("● Record (Space)", "Record", "Start or stop recording this prompt")
        self.back_button = _button("&Back", "Previous prompt", "Go back to the previous prompt")
        self.skip_button = _button("&Skip", "Skip prompt", "Go on to the next prompt without recording it")
        self.adapt_button = _button("&Adapt now", "Adapt", "Learn your face from the recorded prompts")
        record_page = QWidget()
        box = QVBoxLayout(record_page)
        box.addWidget(self.count_label)
        box.addWidget(self.prompt_label, 1)
        box.addWidget(self.record_status)
        box.addWidget(self.problem_label)
        row = QHBoxLayout()
        for button in (self.back_button, self.record_button, self.skip_button, self.adapt_button):
            row.addWidget(button)
        box.addLayout(row)

        # page 3: adapting
        self.adapt_status = _label("Adaptation status")
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Adaptation progress")
        self.progress.setRange(0, 100)
        self.cancel_button = _button(
            "&Cancel adaptation (Esc)", "Cancel adaptation", "Stop; nothing is saved"
        )
        self.close_button = _button("C&lose", "Close", "Close this window")
        adapt_page = QWidget()
        box = QVBoxLayout(adapt_page)
        box.addWidget(self.adapt_status)
        box.addWidget(self.progress)
        box.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.cancel_button)
        row.addWidget(self.close_button)
        box.addLayout(row)

        self.pages = QStackedWidget()
        for page in (start_page, record_page, adapt_page):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)

        self.record_action = QAction(self)  # Space or Enter: start / stop recording (the prompts page)
        self.record_action.setShortcuts(
            [QKeySequence(Qt.Key.Key_Space), QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)]
        )
        self.record_action.triggered.connect(self.toggle_recording)
        self.addAction(self.record_action)

        self.prompts_button.clicked.connect(self.choose_prompts_file)
        self.start_button.clicked.connect(self.start)
        self.record_button.clicked.connect(self.toggle_recording)
        self.back_button.clicked.connect(lambda: self.go_to(self.index - 1))
        self.skip_button.clicked.connect(self.skip)
        self.adapt_button.clicked.connect(self.adapt)
        self.cancel_button.clicked.connect(self.cancel_adaptation)
        self.close_button.clicked.connect(self.accept)
        c.recording_frame.connect(self._on_frame)
        c.enroll_checked.connect(self._on_checked)
        c.enroll_progress.connect(self._on_progress)
        c.enroll_failed.connect(self._on_failed)
        c.enroll_cancelled.connect(self._on_cancelled)
        c.enrolled.connect(self._on_enrolled)

        self._set_big_font()
        self.use_prompts(self._model_prompts(), "the model's own")
        self.show_page(0)
        c.enroll_begin()

    # ------------------------------------------------------------------ page 1

    def _model_prompts(self) -> list[str]:
        try:
            return default_prompts(self.controller.cfg, PROMPT_COUNT)
        except ImaginTalkError as exc:
            self.start_problem.setText(
                f"⚠ The model's prompts could not be made ({exc}): choose a prompts file."
            )
            return []

    def use_prompts(self, prompts: list[str], where: str) -> None:
        self.prompts = list(prompts)
        self.recorded.clear()
        self.index = 0
        self.prompts_info.setText(f"{len(self.prompts)} prompts ({where}).")

    def choose_prompts_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Prompts, one per line", "", "Text (*.txt);;All files (*)"
        )
        if path:
            self.use_prompts_file(path)

    def use_prompts_file(self, path: str) -> bool:
        try:
            prompts = read_prompts(path)
        except ImaginTalkError as exc:
            self.start_problem.setText(f"⚠ {exc}")
            return False
        self.start_problem.setText("")
        self.use_prompts(prompts, path)
        return True

    def start(self) -> bool:
        if not self.controller.enroll_target(self.name_edit.text()):
            self.start_problem.setText("⚠ Give the profile a name first (letters or digits).")
            self.name_edit.setFocus()
            return False
        if not self.prompts:
            self.start_problem.setText("⚠ There are no prompts: choose a prompts file.")
            return False
        self.start_problem.setText("")
        self.show_page(1)
        self.go_to(0)
        return True

    # ------------------------------------------------------------------ page 2

    def go_to(self, index: int) -> None:
        if self.recording or self.checking is not None:
            return
        self.index = max(0, min(index, len(self.prompts)))
        self.problem_label.setText("")
        self._show_prompt()

    def skip(self) -> None:
        self.go_to(self.index + 1)

    def toggle_recording(self) -> None:
        if self.pages.currentIndex() != 1 or self.checking is not None:
            return
        if self.recording:
            self.stop_recording()
        elif self.index < len(self.prompts):
            self.start_recording()

    def start_recording(self) -> None:
        self.frames = []
        self.recording = True
        self.problem_label.setText("")
        self.controller.set_recording(True)
        self._show_prompt()

    def stop_recording(self) -> None:
        self.recording = False
        self.controller.set_recording(False)
        frames, self.frames = self.frames, []
        if len(frames) < MIN_FRAMES:
            self.problem_label.setText(
                "⚠ That recording was too short (or no picture came from the camera): press Space, mouth "
                "the words, then press Space again."
            )
            self._show_prompt()
            return
        self.checking = self.index
        self.recorded.discard(self.index)
        self.controller.enroll_record(self.index, frames, self.prompts[self.index])
        self._show_prompt()

    def _on_frame(self, frame, time_s: float) -> None:
        if not self.recording:
            return
        self.frames.append((frame, time_s))
        if time_s - self.frames[0][1] >= MAX_RECORD_S:
            self.stop_recording()
        elif len(self.frames) % 5 == 1:
            self._show_prompt()

    def _on_checked(self, index: int, problem: str) -> None:
        if index != self.checking:
            return
        self.checking = None
        if problem:
            self.recorded.discard(index)
            self.problem_label.setText(f"⚠ {problem}")
            self._show_prompt()
            return
        self.recorded.add(index)
        self.go_to(index + 1)

    def _show_prompt(self) -> None:
        n = len(self.prompts)
        done = len(self.recorded)
        need = f"at least {MIN_PROMPTS} needed" if done < MIN_PROMPTS else "enough to adapt"
        if self.index >= n:
            self.count_label.setText(f"All {n} prompts seen · {done} recorded ({need})")
            self.prompt_label.setText("Done: press Adapt now (Alt+A)")
            self.record_status.setText("Go back (Alt+B) to record a prompt again.")
        else:
            self.count_label.setText(f"Prompt {self.index + 1} of {n} · {done} recorded ({need})")
            self.prompt_label.setText(self.prompts[self.index])
            if self.recording:
                self.record_status.setText(f"● Recording ({len(self.frames)} frames)… press Space to stop.")
            elif self.checking is not None:
                self.record_status.setText("⋯ Checking the recording…")
            elif self.index in self.recorded:
                self.record_status.setText(
                    "✓ Recorded. Press Space to record it again, Alt+S for the next one."
                )
            else:
                self.record_status.setText("Press Space, mouth the words silently, press Space again.")
        self.record_button.setText("■ Stop (Space)" if self.recording else (
            "● Record again (Space)" if self.index in self.recorded else "● Record (Space)"))  # fmt: skip
        busy = self.recording or self.checking is not None
        self.record_button.setEnabled(self.index < n and self.checking is None)
        for button in (self.back_button, self.skip_button, self.adapt_button):
            button.setEnabled(not busy)

    def adapt(self) -> bool:
        if self.recording or self.checking is not None:
            return False
        if len(self.recorded) < MIN_PROMPTS:
            self.problem_label.setText(
                f"⚠ Record at least {MIN_PROMPTS} prompts first ({len(self.recorded)} recorded so far)."
            )
            return False
        if not self.controller.enroll_adapt(self.name_edit.text(), self.adapt_settings):
            return False
        self.adapting = True
        self.progress.setValue(0)
        self.adapt_status.setText("Learning your face… this takes a few minutes. Esc cancels.")
        self.cancel_button.setVisible(True)
        self.close_button.setVisible(False)
        self.show_page(2)
        return True

    # ------------------------------------------------------------------ page 3

    def cancel_adaptation(self) -> None:
        if self.adapting:
            self.controller.enroll_cancel()
            self.adapt_status.setText("Cancelling…")

    def _on_progress(self, text: str, fraction: float) -> None:
        if self.adapting:
            self.progress.setValue(round(100 * fraction))
            self.adapt_status.setText(text[:1].upper() + text[1:])

    def _on_failed(self, text: str) -> None:
        if self.adapting:
            self.adapting = False
            self.show_page(1)
        self.problem_label.setText(f"⚠ {text}")
        self._show_prompt()

    def _on_cancelled(self) -> None:
        if self.adapting:
            self.adapting = False
            self.show_page(1)
            self.problem_label.setText(
                "⚠ Cancelled: no profile was saved. Adapt again (Alt+A) or close (Esc)."
            )
            self._show_prompt()

    def _on_enrolled(self, path: str, name: str) -> None:
        if not self.adapting:
            return
        self.adapting = False
        self.result_path = path
        self.progress.setValue(100)
        self.adapt_status.setText(f"✓ Profile {name} is saved ({path}) and in use.")
        self.cancel_button.setVisible(False)
        self.close_button.setVisible(True)
        self.close_button.setFocus()

    # ------------------------------------------------------------------ showing, closing

    def show_page(self, number: int) -> None:
        self.pages.setCurrentIndex(number)
        self.record_action.setEnabled(number == 1)
        self.start_button.setDefault(number == 0)
        focus = (self.name_edit, self.record_button, self.cancel_button)[number]
        focus.setFocus()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.show_page(self.pages.currentIndex())  # focus given before the dialog was shown is lost

    def _set_big_font(self) -> None:
        size = round(2.5 * QApplication.instance().font().pointSize())
        self.prompt_label.setStyleSheet(f"font-size: {size}pt; font-weight: bold;")

    def reject(self) -> None:
        """Esc: while adapting, cancel it (the dialog stays until it has stopped); else close."""
        if self.adapting:
            self.cancel_adaptation()
            return
        super().reject()

    def done(self, result: int) -> None:
        self.recording = False
        self.controller.enroll_end()
        c = self.controller
        for signal, slot in (
            (c.recording_frame, self._on_frame), (c.enroll_checked, self._on_checked),
            (c.enroll_progress, self._on_progress), (c.enroll_failed, self._on_failed),
            (c.enroll_cancelled, self._on_cancelled), (c.enrolled, self._on_enrolled),
        ):  # fmt: skip
            try:
                signal.disconnect(slot)
            except TypeError:  # already disconnected
                pass
        super().done(result)
