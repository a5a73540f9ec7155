"""A video source that exists but cannot be played (random bytes, an empty file, a wav) ends the app
the way a missing one does: the reason on stderr and exit code 2, never a hang.

Every run of the app is bounded by a timeout, so a hang fails the test instead of holding up CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from app_helpers import make_window

CLI_TIMEOUT_S = 60  # the app starts, says why and exits in a few seconds; a hang is cut off here


def _bad_source(kind: str, folder: Path) -> Path:
    """A file that exists but holds no playable video."""
    if kind == "random_bytes":
        path = folder / "random_bytes.mp4"
        path.write_bytes(np.random.default_rng(0).bytes(200_000))
    elif kind == "empty":
        path = folder / "empty.mp4"
        path.write_bytes(b"")
    else:  # a sound file given as the video
        path = folder / "speech.wav"
        t = np.arange(16000) / 16000
        sf.write(str(path), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    return path


BAD_KINDS = ["random_bytes", "empty", "wav"]


def _run_cli(source: Path, tmp_path: Path, model: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("ALSA_CONFIG_PATH", None)
    cmd = [
        sys.executable, "-m", "desktop_app.main", "--source", str(source), "--model", str(model),
        "--steps", "4", "--settings", str(tmp_path / "s.ini"), *extra,
    ]  # fmt: skip
    # subprocess.run kills the app and raises TimeoutExpired (failing the test) if it hangs
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_unattended_cli_on_an_unreadable_source_exits_2_with_the_reason(kind, tmp_path, assets) -> None:
    source = _bad_source(kind, tmp_path)
    record = tmp_path / "record"
    done = _run_cli(source, tmp_path, assets["model"], "--record-dir", str(record), "--exit-at-end")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()  # one line in plain words, nothing from ffmpeg above it
    assert len(lines) == 1 and lines[0].startswith("error: Cannot play the video") and source.name in lines[0]
    assert done.stdout == "" and not list(record.glob("*.wav"))


def test_missing_and_unreadable_sources_end_alike_without_exit_at_end(tmp_path, assets) -> None:
    """Without --exit-at-end too: a missing file is refused at start (exit 2), and so is a bad one."""
    missing = _run_cli(tmp_path / "nowhere.mp4", tmp_path, assets["model"])
    unreadable = _run_cli(_bad_source("random_bytes", tmp_path), tmp_path, assets["model"])
    assert missing.returncode == unreadable.returncode == 2
    assert missing.stderr.startswith("error: ") and unreadable.stderr.startswith("error: ")


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_unattended_window_given_an_unreadable_source_finishes_with_code_2(qtbot, kind, tmp_path, assets):
    """The controller's own path (a source chosen after the start, or one that turned bad between the
    CLI's check and the capture thread opening it): the problem is shown and, unattended, the app ends."""
    source = _bad_source(kind, tmp_path)
    window, controller = make_window(
        qtbot, tmp_path, str(source), exit_at_end=True, model_dir=str(assets["model"])
    )
    with qtbot.waitSignal(controller.all_done, timeout=60_000) as done:
        pass
    assert done.args == [2]
    assert "Cannot play the video" in controller.exit_error and source.name in controller.exit_error
    assert "Cannot play the video" in window.problems_label.text()
    assert window.current_state == "no_source" and controller.history.rowCount() == 0


def test_attended_window_survives_an_unreadable_source_and_plays_the_next(qtbot, tmp_path, assets) -> None:
    """With someone at the window the app keeps running: the problem is said, no retry loop, and a
    good source chosen next plays."""
    source = _bad_source("random_bytes", tmp_path)
    window, controller = make_window(qtbot, tmp_path, str(source), model_dir=str(assets["model"]))
    qtbot.waitUntil(lambda: "Cannot play the video" in window.problems_label.text(), timeout=60_000)
    controller.set_source(str(assets["clips"][0]))
    qtbot.waitUntil(
        lambda: window.preview.frames_shown > 5 and not window.problems_label.isVisible(), timeout=60_000
    )
