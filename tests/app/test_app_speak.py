"""The real window speaking from a video source: automatic mode, push to talk, replay, export, CLI.

Each test plays a debug SynthTalk clip (~2 s, a talking face) as the camera through the whole app:
capture thread -> LipStream (front door + visual VAD) -> speech thread (debug Pipeline) -> audio
thread -> the ALSA test sink, whose written samples are compared with the saved speech.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import soundfile as sf
from app_helpers import SPEAK_TIMEOUT_MS, as_played, make_window, read_sink
from PyQt6.QtCore import Qt


def test_file_source_speaks_into_history_record_dir_and_output_device(qtbot, tmp_path, assets, sink) -> None:
    record = tmp_path / "record"
    window, controller = make_window(
        qtbot, tmp_path, str(assets["clips"][0]), record, model_dir=str(assets["model"])
    )
    states: list[str] = []
    controller.state_changed.connect(states.append)
    with qtbot.waitSignal(controller.played, timeout=SPEAK_TIMEOUT_MS):
        pass  # the first utterance was spoken, saved and played to its end

    entry = controller.history.latest()
    assert controller.history.rowCount() >= 1 and entry.trigger == "automatic"
    assert entry.wav_path.parent == record and entry.wav_path.is_file()
    saved, rate = sf.read(str(entry.wav_path), dtype="float32")
    assert rate == entry.sample_rate == 16000
    assert 0.5 <= entry.duration_s <= 3.0 and len(saved) == len(entry.wav)
    assert np.array_equal(read_sink(), as_played(entry.wav))  # the device got exactly the speech
    latency = controller.latency[entry.entry_id]  # from the VAD's cut to the wav saved, then heard
    assert 0 < latency["saved"] <= latency["heard"] < SPEAK_TIMEOUT_MS / 1000
    assert {"ready", "listening", "preparing", "speaking"} <= set(states)
    assert window.preview.frames_shown > 10
    assert window.preview._face is not None and window.preview._mouth is not None  # boxes drawn
    assert "auto" in window.history_view.model().data(window.history_view.model().index(0))
    assert not window.problems_label.isVisible()


def test_replay_repeat_last_and_export(qtbot, tmp_path, assets, sink) -> None:
    window, controller = make_window(qtbot, tmp_path, str(assets["clips"][1]), model_dir=str(assets["model"]))
    with qtbot.waitSignal(controller.played, timeout=SPEAK_TIMEOUT_MS):
        pass
    entry = controller.history.latest()

    sink.unlink()
    with qtbot.waitSignal(controller.played, timeout=60_000) as played:
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # repeat last
    assert played.args == [entry.entry_id] and np.array_equal(read_sink(), as_played(entry.wav))

    sink.unlink()
    window.history_view.setCurrentIndex(controller.history.index(0))
    with qtbot.waitSignal(controller.played, timeout=60_000):
        qtbot.mouseClick(window.replay_button, Qt.MouseButton.LeftButton)
    assert np.array_equal(read_sink(), as_played(entry.wav))

    window.export_selected(str(tmp_path / "exported"))
    exported = tmp_path / "exported.wav"
    assert exported.read_bytes() == entry.wav_path.read_bytes()
    assert "Saved" in window.message_label.text()


def test_push_to_talk_speaks_the_held_span(qtbot, tmp_path, assets, sink) -> None:
    window, controller = make_window(
        qtbot, tmp_path, str(assets["clips"][0]), model_dir=str(assets["model"]), speak_mode="push_to_talk"
    )
    qtbot.waitUntil(lambda: window.preview._face is not None, timeout=90_000)  # a face is in view
    shown = window.preview.frames_shown
    qtbot.keyPress(window, Qt.Key.Key_Space)
    assert window.current_state == "listening" and window.speak_button.isDown()
    qtbot.waitUntil(lambda: window.preview.frames_shown >= shown + 25, timeout=90_000)  # ~1 s held
    with qtbot.waitSignal(controller.entry_added, timeout=SPEAK_TIMEOUT_MS) as added:
        qtbot.keyRelease(window, Qt.Key.Key_Space)
    entry = added.args[0]
    assert entry.trigger == "push_to_talk"
    assert 0.8 <= entry.duration_s <= 2.0  # the held second, not the whole clip
    qtbot.wait(500)
    # push-to-talk mode: the visual VAD's own utterances are not spoken
    assert [e.trigger for e in controller.history.entries] == ["push_to_talk"]


def test_unattended_cli_writes_every_utterance_and_exits(tmp_path, assets) -> None:
    """imagintalk-app --source FILE --record-dir DIR --exit-at-end, as a separate process."""
    record = tmp_path / "record"
    env = dict(os.environ)
    env.pop("ALSA_CONFIG_PATH")  # the machine's own sound setup (on the test machines: no sound card)
    cmd = [
        sys.executable, "-m", "desktop_app.main", "--source", str(assets["clips"][1]),
        "--record-dir", str(record), "--exit-at-end", "--model", str(assets["model"]), "--steps", "4",
        "--settings", str(tmp_path / "s.ini"),
    ]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = sorted(record.glob("*.wav"))
    assert written and [str(p) for p in written] == done.stdout.split()
    assert sf.info(str(written[0])).duration > 0.5
    probe = "import sounddevice as sd; print(sum(d['max_output_channels'] > 0 for d in sd.query_devices()))"
    has_device = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    if has_device.stdout.strip() == "0":  # no device: the app said so, and still saved the speech
        assert "No audio output device" in done.stderr
