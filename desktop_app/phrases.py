"""The phrase bank: saved phrases, each on a key (F1..F12), said at once when the key is pressed."""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .settings import PHRASE_KEYS


def _button(text: str, name: str, description: str) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.setAccessibleDescription(description)
    button.setToolTip(description)
    return button


class PhraseBank(QWidget):
    """A two-column table (key, phrase); the phrase column is edited in place (F2 or a double click).

    It holds no state of its own beyond what it shows: ``changed`` carries the edited list to the
    controller, which stores it and sends it back (``set_phrases``).
    """

    changed = pyqtSignal(object)  # list[str]: the phrases, in key order
    speak = pyqtSignal(int)  # say the phrase in this row
    message = pyqtSignal(str)

    def __init__(self, phrases: list[str]) -> None:
        super().__init__()
        self.table = QTableWidget(0, 2)
        self.table.setAccessibleName("Phrase bank")
        self.table.setAccessibleDescription(
            "Saved phrases, each said at once by its key (F1 to F12). F2 edits the selected phrase, "
            "Enter says it."
        )
        self.table.setHorizontalHeaderLabels(["Key", "Phrase"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed | QAbstractItemView.EditTrigger.DoubleClicked
        )
        self.table.setTabKeyNavigation(False)  # Tab leaves the table, as everywhere else
        self.add_button = _button(
            "&Add phrase", "Add phrase", "Save the typed text (or a new phrase) in the bank"
        )
        self.remove_button = _button("Re&move phrase", "Remove phrase", "Remove the selected phrase")
        self.say_button = _button("Say phras&e", "Say selected phrase", "Say the selected phrase now")
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.say_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        remove = QAction(self.table)  # Delete in the table (not while a phrase is being edited)
        remove.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        remove.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        remove.triggered.connect(self.remove_selected)
        self.table.addAction(remove)
        self.table.itemChanged.connect(self._edited)
        self.table.itemActivated.connect(lambda item: self.speak.emit(item.row()))
        self.remove_button.clicked.connect(self.remove_selected)
        self.say_button.clicked.connect(self.say_selected)
        self.set_phrases(phrases)

    def phrases(self) -> list[str]:
        items = (self.table.item(row, 1) for row in range(self.table.rowCount()))
        return [item.text() for item in items if item is not None]

    def set_phrases(self, phrases: list[str]) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for text in phrases[: len(PHRASE_KEYS)]:
            self._append(text)
        self.table.blockSignals(False)

    def _append(self, text: str) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        key = QTableWidgetItem(PHRASE_KEYS[row])
        key.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        self.table.setItem(row, 0, key)
        self.table.setItem(row, 1, QTableWidgetItem(text))
        return row

    def add_phrase(self, text: str = "") -> bool:
        """Add ``text`` on the next free key; without text, a new row is opened for typing."""
        if self.table.rowCount() >= len(PHRASE_KEYS):
            self.message.emit(f"The phrase bank is full ({len(PHRASE_KEYS)} keys): remove or edit a phrase.")
            return False
        text = " ".join(text.split())
        self.table.blockSignals(True)
        row = self._append(text)
        self.table.blockSignals(False)
        self.table.setCurrentCell(row, 1)
        if text:
            self.changed.emit(self.phrases())
            self.message.emit(f"Saved on {PHRASE_KEYS[row]}: {text}")
        else:
            self.table.setFocus()
            self.table.editItem(self.table.item(row, 1))
        return True

    def remove_selected(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            self.message.emit("Select a phrase to remove first.")
            return
        self.table.removeRow(row)
        self.changed.emit(self.phrases())

    def say_selected(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            self.message.emit("Select a phrase to say first.")
            return
        self.speak.emit(row)

    def _edited(self, item: QTableWidgetItem) -> None:
        if item.column() == 1:
            self.changed.emit(self.phrases())
