"""Typed speech and the phrase bank in the real window (issue 20).

The speech job learns the voice from the face in view: a debug SynthTalk clip is played through
the app's file source first, its utterance spoken, then text is typed (Enter) or a phrase key
(F1..F12) pressed; the typed speech goes into the history and plays on the ALSA test sink.
"""

from __future__ import annotations

import numpy as np
from app_helpers import SPEAK_TIMEOUT_MS, as_played, make_window, read_sink
from PyQt6.QtCore import Qt

from desktop_app.settings import DEFAULT_PHRASES, load_phrases, open_store


def _settled(controller) -> bool:
    return controller.source_ended and controller.pending == 0 and controller.playing == 0


def test_typed_text_and_a_phrase_key_are_spoken_in_the_face_voice(qtbot, tmp_path, assets, sink):
    window, controller = make_window(qtbot, tmp_path, str(assets["clips"][0]), model_dir=str(assets["model"]))
    qtbot.waitUntil(
        lambda: _settled(controller) and controller.history.rowCount() >= 1, timeout=SPEAK_TIMEOUT_MS
    )
    assert controller.speech.face is not None  # the face's identity and mean expression were kept
    lip_entries = controller.history.rowCount()

    sink.unlink(missing_ok=True)
    text = "bin blue at f two now"
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # Ctrl+L: the text box
    assert window.say_edit.hasFocus()
    qtbot.keyClicks(window.say_edit, text)  # spaces type, they do not hold Speak
    assert window.say_edit.text() == text and not window._talk_held
    with qtbot.waitSignal(controller.played, timeout=SPEAK_TIMEOUT_MS) as played:
        qtbot.keyClick(window.say_edit, Qt.Key.Key_Return)
    entry = controller.history.latest()
    assert played.args == [entry.entry_id] and controller.history.rowCount() == lip_entries + 1
    assert entry.trigger == "typed" and entry.text == text and entry.wav_path.name.startswith("typed_")
    assert 0.8 <= entry.duration_s <= 6.0  # a short sentence, not silence or a minute
    assert np.array_equal(read_sink(), as_played(entry.wav))
    assert "typed" in entry.label() and text in entry.label()
    assert window.say_edit.text() == ""  # emptied once on its way
    assert controller.latency[entry.entry_id]["saved"] > 0

    # the phrase bank: F2 says the second phrase at once
    assert controller.phrases == list(DEFAULT_PHRASES)
    sink.unlink()
    window.history_view.setFocus()
    with qtbot.waitSignal(controller.played, timeout=SPEAK_TIMEOUT_MS):
        qtbot.keyClick(window, Qt.Key.Key_F2)
    phrase = controller.history.latest()
    assert phrase.trigger == "typed" and phrase.text == DEFAULT_PHRASES[1]
    assert phrase.duration_s > 0.2 and np.array_equal(read_sink(), as_played(phrase.wav))
    assert not window.problems_label.isVisible()


def test_empty_text_no_voice_and_phrase_bank_editing(qtbot, tmp_path, assets, faceless_clip):
    window, controller = make_window(qtbot, tmp_path, str(faceless_clip), model_dir=str(assets["model"]))
    qtbot.waitUntil(lambda: controller.speech.pipeline is not None, timeout=90_000)

    window.say_edit.setFocus()
    qtbot.keyClick(window.say_edit, Qt.Key.Key_Return)  # nothing typed
    assert "type some words" in window.problems_label.text() and window.problems_label.isVisible()
    assert controller.pending == 0

    qtbot.keyClicks(window.say_edit, "hello there")  # no face seen, no profile, no recording
    with qtbot.waitSignal(controller.speech.failed, timeout=SPEAK_TIMEOUT_MS):
        qtbot.keyClick(window.say_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Show your face once, or choose a profile" in window.problems_label.text())
    assert controller.history.rowCount() == 0 and controller.pending == 0

    # add the typed text as a phrase (Alt+A), edit one in place, remove one (Delete): all persisted
    window.say_edit.setText("please open the window")
    qtbot.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)  # a mnemonic: clicks after 100 ms
    store = str(tmp_path / "settings.ini")
    expected = [*DEFAULT_PHRASES, "please open the window"]
    qtbot.waitUntil(lambda: controller.phrases == expected)
    assert controller.phrases == expected == load_phrases(open_store(store))
    assert window.phrase_bank.table.item(len(DEFAULT_PHRASES), 0).text() == f"F{len(expected)}"
    window.phrase_bank.table.item(0, 1).setText("Yes please")  # what the in-place editor commits
    window.phrase_bank.table.setFocus()
    window.phrase_bank.table.setCurrentCell(1, 1)
    qtbot.keyClick(window.phrase_bank.table, Qt.Key.Key_Delete)
    expected = ["Yes please", *DEFAULT_PHRASES[2:], "please open the window"]
    assert controller.phrases == expected == load_phrases(open_store(store))
    assert window.phrase_bank.phrases() == expected

    qtbot.keyClick(window, Qt.Key.Key_F12)  # no phrase on that key: said, nothing queued
    assert "No phrase is saved on F12" in window.message_label.text() and controller.pending == 0
    keys = " ".join(label.text() for label in window.findChildren(type(window.message_label)))
    assert "F1…F12" in keys and "Ctrl+L" in keys and "Ctrl+P" in keys
