"""The history of what was said: entries (time, duration, wav) in a Qt list model."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QAbstractListModel, QModelIndex, Qt


@dataclass
class HistoryEntry:
    """One spoken utterance; ``wav`` float32 [N] at ``sample_rate``, also saved at ``wav_path``."""

    entry_id: int
    created: datetime
    wav: np.ndarray
    sample_rate: int
    wav_path: Path
    trigger: str  # "automatic" | "push_to_talk" | "typed" (typed text or a phrase of the phrase bank)
    start_s: float = 0.0  # the utterance's span in the source's time
    end_s: float = 0.0
    summary: dict = field(default_factory=dict)
    text: str = ""  # typed speech: the text that was spoken

    @property
    def duration_s(self) -> float:
        return len(self.wav) / self.sample_rate

    def label(self) -> str:
        """One line for the list, readable by a screen reader."""
        how = {"automatic": "auto", "push_to_talk": "push to talk"}.get(self.trigger, self.trigger)
        if self.text:
            how = f"{how}: “{self.text}”"
        return f"{self.created:%H:%M:%S}  ·  {self.duration_s:.1f} s  ·  {how}  ·  {self.wav_path.name}"


class HistoryModel(QAbstractListModel):
    """Newest entry first, as a list view shows it."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[HistoryEntry] = []

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return entry.label()
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(entry.wav_path)
        return None

    def add(self, entry: HistoryEntry) -> None:
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.entries.insert(0, entry)
        self.endInsertRows()

    def entry(self, row: int) -> HistoryEntry | None:
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def latest(self) -> HistoryEntry | None:
        return self.entries[0] if self.entries else None

    def find(self, entry_id: int) -> HistoryEntry | None:
        return next((e for e in self.entries if e.entry_id == entry_id), None)


def export_entry(entry: HistoryEntry, target: str | Path) -> Path:
    """Copy the entry's wav to ``target`` (a .wav is appended when missing)."""
    target = Path(target)
    if target.suffix.lower() != ".wav":
        target = target.with_name(target.name + ".wav")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(entry.wav_path, target)
    return target
