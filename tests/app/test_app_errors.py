"""Error states shown in the window in plain words, and the recovery when the cause goes away."""

from __future__ import annotations

import gc
import os
import shutil
import weakref
from dataclasses import replace

from app_helpers import OPEN_WINDOWS, SPEAK_TIMEOUT_MS, make_window
from PyQt6.QtCore import Qt

MISSING_CAMERA = 47  # no /dev/video47 on a test machine


def test_no_camera_is_said_in_words_then_another_source_recovers(qtbot, tmp_path, assets) -> None:
    window, controller = make_window(qtbot, tmp_path, MISSING_CAMERA, model_dir=str(assets["model"]))
    qtbot.waitUntil(lambda: "No camera was found at index 47" in window.problems_label.text(), timeout=60_000)
    assert window.problems_label.isVisible() and window.current_state == "no_source"
    assert "No picture" in window.state_label.text()  # words, not only a colour
    controller.set_source(str(assets["clips"][0]))  # the cause goes away: a source that works
    qtbot.waitUntil(
        lambda: window.preview.frames_shown > 5 and not window.problems_label.isVisible(), timeout=60_000
    )
    assert window.current_state in ("no_face", "ready", "listening", "preparing", "speaking")


def _arrive(source, clip) -> None:
    """``source`` appears at ``clip`` at once (copied beside it, then renamed), as a mounted drive would."""
    shutil.copy(source, clip.with_suffix(".part"))
    os.replace(clip.with_suffix(".part"), clip)


def test_a_video_that_goes_away_is_said_and_plays_again_when_it_comes_back(qtbot, tmp_path, assets) -> None:
    """Like a camera plugged in late, unplugged and plugged back in: nobody touches the app, the 2 s
    retry recovers each time."""
    clip = tmp_path / "drive" / "clip.mp4"
    clip.parent.mkdir()
    window, controller = make_window(qtbot, tmp_path, str(clip), model_dir=str(assets["model"]))
    qtbot.waitUntil(lambda: "is not there" in window.problems_label.text(), timeout=60_000)
    assert window.current_state == "no_source"
    _arrive(assets["clips"][0], clip)
    qtbot.waitUntil(lambda: window.preview.frames_shown >= 1, timeout=90_000)
    clip.unlink()  # the drive is pulled out while the video plays
    qtbot.waitUntil(lambda: "went away" in window.problems_label.text(), timeout=60_000)
    assert window.problems_label.isVisible() and "Trying again" in window.problems_label.text()
    assert window.current_state == "no_source" and "No picture" in window.state_label.text()
    shown = window.preview.frames_shown

    with qtbot.waitSignal(controller.entry_added, timeout=SPEAK_TIMEOUT_MS):
        _arrive(assets["clips"][0], clip)  # it comes back: played from the start and spoken
    assert window.preview.frames_shown > shown + 10 and not window.problems_label.isVisible()
    assert controller.history.rowCount() >= 1


def test_missing_model_is_said_then_choosing_one_recovers(qtbot, tmp_path, assets) -> None:
    window, controller = make_window(
        qtbot, tmp_path, str(assets["clips"][0]), model_dir=str(tmp_path / "no_model_here")
    )
    qtbot.waitUntil(lambda: "No voice model could be loaded" in window.problems_label.text(), timeout=60_000)
    assert "Settings" in window.problems_label.text()  # says what to do
    controller.apply_settings(replace(controller.settings, model_dir=str(assets["model"])))
    qtbot.waitUntil(lambda: "No voice model" not in window.problems_label.text(), timeout=60_000)
    with qtbot.waitSignal(controller.entry_added, timeout=SPEAK_TIMEOUT_MS):
        controller.set_source(str(assets["clips"][0]))  # play it again: now it is spoken
    assert controller.history.rowCount() == 1


def test_no_face_shows_the_state_and_push_to_talk_speaks_nothing(
    qtbot, tmp_path, assets, faceless_clip
) -> None:
    window, controller = make_window(qtbot, tmp_path, str(faceless_clip), model_dir=str(assets["model"]))
    qtbot.waitUntil(lambda: window.preview.frames_shown >= 5, timeout=60_000)
    assert window.current_state == "no_face" and "No face" in window.state_label.text()
    assert window.preview._face is None  # no box drawn
    qtbot.keyPress(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.preview.frames_shown >= 20, timeout=60_000)
    qtbot.keyRelease(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: "Nothing to speak" in window.message_label.text(), timeout=60_000)
    assert controller.history.rowCount() == 0


def test_unknown_output_device_is_said_and_the_speech_still_saved(qtbot, tmp_path, assets) -> None:
    window, controller = make_window(
        qtbot,
        tmp_path,
        str(assets["clips"][1]),
        model_dir=str(assets["model"]),
        output_device="unplugged-usb-speaker",
    )
    with qtbot.waitSignal(controller.entry_added, timeout=SPEAK_TIMEOUT_MS) as added:
        pass
    qtbot.waitUntil(
        lambda: "Could not play on 'unplugged-usb-speaker'" in window.problems_label.text(), timeout=60_000
    )
    assert "The speech was saved" in window.problems_label.text()
    assert added.args[0].wav_path.is_file()


def _start_then_drop(qtbot, tmp_path, source: str, model: str):
    """A running window whose last strong references go away (pytest-qt keeps weak ones) -> weakref."""
    window, controller = make_window(qtbot, tmp_path, source, model_dir=model)
    qtbot.waitUntil(lambda: window.preview.frames_shown >= 1, timeout=90_000)
    OPEN_WINDOWS.remove(window)
    return weakref.ref(controller)


def test_a_running_app_dropped_without_closing_is_kept_alive_not_aborted(
    qtbot, tmp_path, assets, faceless_clip
) -> None:
    """Qt aborts the process when a QThread object dies while its thread runs: a started controller
    stays alive until shutdown(), even when nothing refers to it any more (a forced collection here)."""
    alive = _start_then_drop(qtbot, tmp_path, str(faceless_clip), str(assets["model"]))
    gc.collect()
    qtbot.wait(100)
    controller = alive()
    assert controller is not None and all(thread.isRunning() for thread in controller.threads)
    controller.shutdown()
    assert not any(thread.isRunning() for thread in controller.threads)
