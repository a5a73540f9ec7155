"""The main window: preview, state, Speak button, typed text, phrase bank, profile, history.

It only lays out widgets and wires signals."""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from .controller import AppController
from .enroll_dialog import EnrollDialog
from .jobs.audio import output_devices
from .phrases import PhraseBank
from .preview import PreviewWidget
from .settings import PHRASE_KEYS
from .settings_dialog import SettingsDialog
from .theme import STATE_TEXT, apply_theme, state_style

SHORTCUTS = (  # shown in the window, so that nobody has to guess them
    ("Space (hold)", "Speak"),
    ("Ctrl+R", "Repeat last"),
    ("Enter", "Replay selected"),
    ("Ctrl+E", "Export selected"),
    ("Ctrl+L", "Type text (Enter says it)"),
    ("F1…F12", "Say a saved phrase"),
    ("Ctrl+P", "Teach it my face"),
    ("Ctrl+1 / Ctrl+2", "Automatic / Push to talk"),
    ("Ctrl+T", "Larger text"),
    ("Ctrl+H", "High contrast"),
    ("Ctrl+,", "Settings"),
    ("Ctrl+Q", "Quit"),
)


def _button(text: str, name: str, description: str = "") -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.setAccessibleDescription(description or name)
    button.setToolTip(description or name)
    return button


class MainWindow(QMainWindow):
    def __init__(self, controller: AppController) -> None:
        super().__init__()
        self.controller = controller
        self.setWindowTitle("ImaginTalk: speak by mouthing words")
        self._talk_held = False
        s = controller.settings
        apply_theme(QApplication.instance(), s.large_text, s.high_contrast)  # before any widget exists

        self.preview = PreviewWidget()
        self.state_label = QLabel()
        self.state_label.setAccessibleName("State")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.problems_label = QLabel()
        self.problems_label.setAccessibleName("Problems")
        self.problems_label.setWordWrap(True)
        self.problems_label.setVisible(False)
        self.message_label = QLabel()
        self.message_label.setAccessibleName("Last message")
        self.message_label.setWordWrap(True)

        self.speak_button = _button(
            "Hold to SPEAK\n(Space)", "Speak", "Hold while you mouth the words; release to hear them"
        )
        self.speak_button.setMinimumHeight(120)
        self.speak_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.automatic = QRadioButton("Automatic (Ctrl+1)")
        self.automatic.setAccessibleName("Automatic mode: speak each utterance when it ends")
        self.push_to_talk = QRadioButton("Push to talk (Ctrl+2)")
        self.push_to_talk.setAccessibleName("Push to talk mode: speak only while Speak is held")
        modes = QButtonGroup(self)
        modes.addButton(self.automatic)
        modes.addButton(self.push_to_talk)
        self.repeat_button = _button("Repeat last (Ctrl+R)", "Repeat last", "Say the last utterance again")
        self.history_view = QListView()
        self.history_view.setAccessibleName("History of what was said")
        self.history_view.setModel(controller.history)
        self.replay_button = _button("Replay (Enter)", "Replay selected")
        self.export_button = _button("Export wav (Ctrl+E)", "Export selected as wav")
        self.settings_button = _button("Settings (Ctrl+,)", "Settings")
        self.say_edit = QLineEdit()
        self.say_edit.setAccessibleName("Text to say")
        self.say_edit.setAccessibleDescription("Type words and press Enter to have them spoken")
        self.say_edit.setPlaceholderText("Type here and press Enter to say it (Ctrl+L)")
        self.say_button = _button("Say (Enter)", "Say typed text", "Speak the typed text now")
        self.phrase_bank = PhraseBank(controller.phrases)
        self.profile_label = QLabel(controller.profile_text())
        self.profile_label.setAccessibleName("Active profile")
        self.profile_label.setAccessibleDescription("The profile the lip reader is adapted to, or none")
        self.enroll_button = _button(
            "Teach it my face (Ctrl+P)",
            "Teach it my face",
            "Record a few prompts to adapt the lip reader to you",
        )
        keys = QLabel("Keys: " + "   ".join(f"{k}: {what}" for k, what in SHORTCUTS))
        keys.setWordWrap(True)
        keys.setAccessibleName("Keyboard shortcuts")

        left = QVBoxLayout()
        left.addWidget(self.preview, 1)
        left.addWidget(self.state_label)
        left.addWidget(self.problems_label)
        right = QVBoxLayout()
        right.addWidget(self.speak_button)
        mode_row = QHBoxLayout()
        mode_row.addWidget(self.automatic)
        mode_row.addWidget(self.push_to_talk)
        right.addLayout(mode_row)
        right.addWidget(self.repeat_button)
        history_title = QLabel("&History:")
        history_title.setBuddy(self.history_view)
        right.addWidget(history_title)
        right.addWidget(self.history_view, 1)
        row = QHBoxLayout()
        row.addWidget(self.replay_button)
        row.addWidget(self.export_button)
        right.addLayout(row)
        say_row = QHBoxLayout()
        say_title = QLabel("T&ype:")
        say_title.setBuddy(self.say_edit)
        say_row.addWidget(say_title)
        say_row.addWidget(self.say_edit, 1)
        say_row.addWidget(self.say_button)
        right.addLayout(say_row)
        phrases_title = QLabel("Phrase &bank (F1…F12):")
        phrases_title.setBuddy(self.phrase_bank.table)
        right.addWidget(phrases_title)
        right.addWidget(self.phrase_bank, 1)
        profile_row = QHBoxLayout()
        profile_row.addWidget(self.profile_label, 1)
        profile_row.addWidget(self.enroll_button)
        right.addLayout(profile_row)
        right.addWidget(self.settings_button)
        top = QHBoxLayout()
        top.addLayout(left, 3)
        top.addLayout(right, 2)
        outer = QVBoxLayout()
        outer.addLayout(top, 1)
        outer.addWidget(self.message_label)
        outer.addWidget(keys)
        central = QWidget()
        central.setLayout(outer)
        self.setCentralWidget(central)

        menu = self.menuBar().addMenu("&Profile")
        # the menu item shows the key; the key itself is a window action (with the others in _wire)
        menu_enroll = QAction("&Teach it my face…\tCtrl+P", self)
        menu_enroll.triggered.connect(self.open_enrollment)
        menu.addAction(menu_enroll)
        settings_action = QAction("&Choose profile in Settings…", self)
        settings_action.triggered.connect(self.open_settings)
        menu.addAction(settings_action)
        self.enroll_dialog: EnrollDialog | None = None

        self._wire()
        self.show_profile(controller.active_profile)
        self._show_settings_state()
        self.show_state("starting")
        QApplication.instance().installEventFilter(self)  # Space anywhere in the window = Speak

    def _wire(self) -> None:
        c = self.controller
        c.preview.connect(self.preview.show_frame)
        c.state_changed.connect(self.show_state)
        c.problems_changed.connect(self.show_problems)
        c.message.connect(self.message_label.setText)
        c.entry_added.connect(lambda _e: self.history_view.setCurrentIndex(c.history.index(0)))
        self.speak_button.pressed.connect(self.talk_down)
        self.speak_button.released.connect(self.talk_up)
        self.automatic.toggled.connect(lambda on: on and self.set_speak_mode("automatic"))
        self.push_to_talk.toggled.connect(lambda on: on and self.set_speak_mode("push_to_talk"))
        self.repeat_button.clicked.connect(c.repeat_last)
        self.replay_button.clicked.connect(self.replay_selected)
        self.history_view.activated.connect(lambda _i: self.replay_selected())
        self.export_button.clicked.connect(self.export_selected)
        self.settings_button.clicked.connect(self.open_settings)
        self.say_edit.returnPressed.connect(self.say_typed)
        self.say_button.clicked.connect(self.say_typed)
        self.enroll_button.clicked.connect(self.open_enrollment)
        self.phrase_bank.changed.connect(c.set_phrases)
        self.phrase_bank.speak.connect(c.say_phrase)
        self.phrase_bank.message.connect(self.message_label.setText)
        self.phrase_bank.add_button.clicked.connect(self.add_phrase)
        c.phrases_changed.connect(self.phrase_bank.set_phrases)
        c.profile_changed.connect(self.show_profile)
        c.problems_changed.connect(lambda _t: self.show_profile(c.active_profile))
        for index, key in enumerate(PHRASE_KEYS):
            action = QAction(self)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(lambda _checked=False, i=index: c.say_phrase(i))
            self.addAction(action)
        for keys, slot in (
            ("Ctrl+R", c.repeat_last),
            ("Ctrl+E", self.export_selected),
            ("Ctrl+1", lambda: self.automatic.setChecked(True)),
            ("Ctrl+2", lambda: self.push_to_talk.setChecked(True)),
            ("Ctrl+T", lambda: self.toggle_display("large_text")),
            ("Ctrl+H", lambda: self.toggle_display("high_contrast")),
            ("Ctrl+,", self.open_settings),
            ("Ctrl+L", self.focus_typing),
            ("Ctrl+P", self.open_enrollment),
            ("Ctrl+Q", self.close),
        ):
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            self.addAction(action)

    # ------------------------------------------------------------------ showing

    def show_state(self, state: str) -> None:
        symbol, words = STATE_TEXT.get(state, ("", state))
        self.state_label.setText(f"{symbol}  {words}")
        self.state_label.setAccessibleDescription(words)
        self.state_label.setStyleSheet(
            state_style(state, self.controller.settings.high_contrast, self._big_pt())
        )
        self.current_state = state

    def show_problems(self, text: str) -> None:
        self.problems_label.setText(f"⚠ {text}" if text else "")
        self.problems_label.setVisible(bool(text))
        if text and self.preview.frames_shown == 0:
            self.preview.clear(text)

    def show_profile(self, name: str) -> None:
        self.profile_label.setText(self.controller.profile_text())
        self.profile_label.setAccessibleDescription(self.controller.profile_text())
        active = bool(name)
        self.enroll_button.setText("Re-enrol (Ctrl+P)" if active else "Teach it my face (Ctrl+P)")
        self.enroll_button.setAccessibleName("Re-enrol" if active else "Teach it my face")

    def _show_settings_state(self) -> None:
        s = self.controller.settings
        (self.automatic if s.speak_mode == "automatic" else self.push_to_talk).setChecked(True)
        app = QApplication.instance()
        apply_theme(app, s.large_text, s.high_contrast)
        font = app.font()
        for widget in self.findChildren(QWidget):  # widgets made earlier keep their old font
            widget.setFont(font)
        # widget style sheets (they win over setFont once a style sheet is in use)
        self.speak_button.setStyleSheet(f"font-size: {self._big_pt()}pt; font-weight: bold;")

    def _big_pt(self) -> int:
        return round(1.5 * QApplication.instance().font().pointSize())

    # ------------------------------------------------------------------ actions

    def talk_down(self) -> None:
        if not self._talk_held:
            self._talk_held = True
            self.speak_button.setDown(True)
            self.show_state("listening")
            self.controller.press_talk()

    def talk_up(self) -> None:
        if self._talk_held:
            self._talk_held = False
            self.speak_button.setDown(False)
            self.controller.release_talk()

    def focus_typing(self) -> None:
        self.say_edit.setFocus()
        self.say_edit.selectAll()

    def say_typed(self) -> None:
        """Enter in the text box: speak the text (the box is emptied once it is on its way)."""
        if self.controller.say(self.say_edit.text()):
            self.say_edit.clear()

    def add_phrase(self) -> None:
        """Save the typed text in the phrase bank (an empty box: a new row to type the phrase in)."""
        text = self.say_edit.text()
        if self.phrase_bank.add_phrase(text) and text.strip():
            self.say_edit.clear()

    def open_enrollment(self) -> EnrollDialog:
        """The enrollment wizard (one at a time; window-modal, the preview keeps running)."""
        if self.enroll_dialog is not None and self.enroll_dialog.isVisible():
            self.enroll_dialog.raise_()
            self.enroll_dialog.activateWindow()
            return self.enroll_dialog
        if self.enroll_dialog is not None:  # a closed one: its signals are disconnected already
            self.enroll_dialog.deleteLater()
        self.enroll_dialog = EnrollDialog(self.controller, self)
        self.enroll_dialog.open()
        return self.enroll_dialog

    def set_speak_mode(self, mode: str) -> None:
        from dataclasses import replace

        if mode != self.controller.settings.speak_mode:
            self.controller.apply_settings(replace(self.controller.settings, speak_mode=mode))

    def toggle_display(self, name: str) -> None:
        from dataclasses import replace

        s = self.controller.settings
        self.controller.apply_settings(replace(s, **{name: not getattr(s, name)}))
        self._show_settings_state()
        self.show_state(self.current_state)

    def selected_entry(self):
        index = self.history_view.currentIndex()
        history = self.controller.history
        return history.entry(index.row()) if index.isValid() else history.latest()

    def replay_selected(self) -> None:
        self.controller.replay(self.selected_entry())

    def export_selected(self, target: str | None = None) -> None:
        entry = self.selected_entry()
        if entry is None:
            self.message_label.setText("Nothing to export yet.")
            return
        if not target:
            target, _ = QFileDialog.getSaveFileName(self, "Export", entry.wav_path.name, "Wave (*.wav)")
        if target:
            self.controller.export(entry, target)

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.controller.settings, output_devices(), self)
        dialog.accepted.connect(lambda: self.apply_dialog(dialog))
        dialog.open()  # window-modal, not a nested event loop: the preview keeps running
        return dialog

    def apply_dialog(self, dialog: SettingsDialog) -> None:
        self.controller.apply_settings(dialog.result_settings())
        self._show_settings_state()
        self.show_state(self.current_state)

    # ------------------------------------------------------------------ events

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        """Space pressed / released anywhere in this window (no dialog open) holds the Speak button."""
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and event.key() == Qt.Key.Key_Space:
            if isinstance(watched, QLineEdit):  # typing: the text box, a phrase being edited
                return super().eventFilter(watched, event)
            widget = watched if isinstance(watched, QWidget) else None
            if widget is not None and widget.window() is self and QApplication.activeModalWidget() is None:
                if not event.isAutoRepeat():
                    self.talk_down() if kind == QEvent.Type.KeyPress else self.talk_up()
                return True
        return super().eventFilter(watched, event)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        QApplication.instance().removeEventFilter(self)
        if self.enroll_dialog is not None and self.enroll_dialog.isVisible():
            self.enroll_dialog.done(0)  # not reject(): that waits for a running adaptation to stop
        self.controller.shutdown()
        super().closeEvent(event)
