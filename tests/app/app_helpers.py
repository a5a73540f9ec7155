"""Helpers for the desktop-app tests: the sink's samples, a window on a source, waiting on it."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from alsa_sink import file_sink_conf  # tests/ is on sys.path (tests/app/conftest.py)

SINK_DIR = Path(tempfile.mkdtemp(prefix="imagintalk-sink-"))
SINK_WAV = SINK_DIR / "sink.wav"
SINK_NAME = "imagintalk_test_sink"
ALSA_CONF = file_sink_conf(SINK_NAME, SINK_WAV, "ImaginTalk test sink")  # a real ALSA output device
# Every window a test opened, held strongly until the conftest's teardown closes it. pytest-qt
# keeps only weak references: the window <-> controller cycle could then be collected by the
# garbage collector before its teardown, with the worker threads still running, and Qt aborts
# the process ("QThread: Destroyed while thread ... is still running", SIGABRT).
OPEN_WINDOWS: list = []
SPEAK_TIMEOUT_MS = 60_000  # a 2 s clip plays in 2 s and speaks in ~2 s; generous for a loaded machine


def read_sink() -> np.ndarray:
    """The samples last played on the sink, int16 [N]."""
    import soundfile as sf

    data, rate = sf.read(str(SINK_WAV), dtype="int16")
    assert rate == 16000
    return data


def as_played(wav: np.ndarray) -> np.ndarray:
    """What AudioJob writes to the device for float32 speech: int16 [N]."""
    return (np.clip(wav, -1.0, 1.0) * 32767).astype(np.int16)


def make_window(qtbot, tmp_path: Path, source, record_dir: Path | None = None, exit_at_end=False, **settings):
    """A shown MainWindow on ``source``, settings in tmp_path/settings.ini; closed after the test."""
    from desktop_app.controller import AppController
    from desktop_app.settings import AppSettings, open_store, save_settings
    from desktop_app.window import MainWindow

    store = open_store(str(tmp_path / "settings.ini"))
    base = replace(AppSettings(), **{"steps": 4, "output_device": SINK_NAME, **settings})
    save_settings(store, base)
    controller = AppController(base, store, source, record_dir or tmp_path / "spoken", exit_at_end)
    window = MainWindow(controller)
    qtbot.addWidget(window)
    OPEN_WINDOWS.append(window)
    window.resize(1000, 700)
    window.show()
    window.activateWindow()  # keyboard shortcuts act in the active window
    qtbot.waitActive(window, timeout=5000)
    controller.start()
    return window, controller
