"""The enrollment wizard driven by the keyboard in the real window (issue 20).

The prompts are recorded from the app's own source: a debug SynthTalk clip played through the
file source (restarted for each prompt), its frames handed out by the capture job between two
presses of Space (start, stop). The enrollment job checks each recording,
adapts with a tiny AdaptSettings and saves the profile, which becomes the active one.
"""

from __future__ import annotations

import numpy as np
from app_helpers import SPEAK_TIMEOUT_MS, as_played, make_window, read_sink
from PyQt6.QtCore import Qt

from desktop_app.jobs.enroll import MIN_PROMPTS
from desktop_app.settings import load_settings, open_store
from imagintalk.enroll.adapt import AdaptSettings

ENROLL_TIMEOUT_MS = 120_000


def _record(qtbot, dialog, controller, source: str, frames: int = 20) -> None:
    """Play ``source`` from its start and record ``frames`` of it for the current prompt (Space twice)."""
    controller.set_source(source)
    qtbot.keyClick(dialog, Qt.Key.Key_Space)
    assert dialog.recording
    qtbot.waitUntil(lambda: len(dialog.frames) >= frames, timeout=ENROLL_TIMEOUT_MS)
    qtbot.keyClick(dialog, Qt.Key.Key_Space)
    assert not dialog.recording


def test_wizard_records_prompts_adapts_cancels_and_activates_the_profile(qtbot, tmp_path, assets, sink):
    clip = str(assets["clips"][0])
    profiles = tmp_path / "profiles"
    window, controller = make_window(
        qtbot, tmp_path, clip, model_dir=str(assets["model"]), speak_mode="push_to_talk",
        profiles_dir=str(profiles),
    )  # fmt: skip
    assert window.profile_label.text() == "Profile: none" and window.profile_label.accessibleName()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)  # keys go to the active window
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)  # Ctrl+P: the wizard
    qtbot.waitUntil(lambda: window.enroll_dialog is not None and window.enroll_dialog.isVisible())
    dialog = window.enroll_dialog
    qtbot.waitActive(dialog, timeout=5000)
    qtbot.waitUntil(dialog.name_edit.hasFocus, timeout=5000)
    assert len(dialog.prompts) == 25

    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)  # no name yet
    assert "name" in dialog.start_problem.text() and dialog.pages.currentIndex() == 0
    qtbot.keyClicks(dialog.name_edit, "Ada")
    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)
    assert dialog.pages.currentIndex() == 1 and dialog.prompt_label.text() == dialog.prompts[0]

    dialog.adapt()  # nothing recorded yet: said, not started
    assert f"at least {MIN_PROMPTS}" in dialog.problem_label.text() and dialog.pages.currentIndex() == 1

    for number in range(MIN_PROMPTS):
        _record(qtbot, dialog, controller, clip)
        qtbot.waitUntil(lambda n=number: n in dialog.recorded, timeout=ENROLL_TIMEOUT_MS)
        assert dialog.index == number + 1  # on to the next prompt
    qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)  # skip one (a mnemonic)
    qtbot.waitUntil(lambda: dialog.index == MIN_PROMPTS + 1)
    assert dialog.recorded == set(range(MIN_PROMPTS))

    # adapt for "ever", then cancel with Esc: nothing is saved, the prompts stay recorded
    dialog.adapt_settings = AdaptSettings(max_epochs=100_000, patience=100_000)
    with qtbot.waitSignal(controller.enroll_progress, timeout=ENROLL_TIMEOUT_MS):
        qtbot.keyClick(dialog, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: "epoch" in dialog.adapt_status.text(), timeout=ENROLL_TIMEOUT_MS)
    assert dialog.pages.currentIndex() == 2
    with qtbot.waitSignal(controller.enroll_cancelled, timeout=ENROLL_TIMEOUT_MS):
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert (
        dialog.isVisible() and dialog.pages.currentIndex() == 1 and "Cancelled" in dialog.problem_label.text()
    )
    assert not profiles.exists() or not any(profiles.iterdir())

    # adapt for real (tiny): the profile is saved, made active and shown
    dialog.adapt_settings = AdaptSettings(max_epochs=2)
    with qtbot.waitSignal(controller.enrolled, timeout=ENROLL_TIMEOUT_MS) as enrolled:
        qtbot.keyClick(dialog, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    assert enrolled.args == [str(profiles / "Ada"), "Ada"]
    assert (profiles / "Ada" / "profile.json").is_file()
    qtbot.waitUntil(lambda: controller.active_profile == "Ada", timeout=ENROLL_TIMEOUT_MS)
    assert window.profile_label.text() == "Profile: Ada" and "Re-enrol" in window.enroll_button.text()
    assert load_settings(open_store(str(tmp_path / "settings.ini"))).profile == "Ada"
    assert controller.speech.pipeline.profile.name == "Ada"
    assert "saved" in dialog.adapt_status.text() and dialog.progress.value() == 100
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()

    # typed speech now speaks with the profile's face (push to talk: no utterance, no live face)
    assert controller.speech.face is None
    window.say_edit.setText("place green in k zero please")
    with qtbot.waitSignal(controller.played, timeout=SPEAK_TIMEOUT_MS):
        qtbot.keyClick(window.say_edit, Qt.Key.Key_Return)
    entry = controller.history.latest()
    assert entry.trigger == "typed" and entry.duration_s > 0.5
    assert np.array_equal(read_sink(), as_played(entry.wav))

    # the settings dialog offers the profile; choosing none takes it off
    settings_dialog = window.open_settings()
    qtbot.addWidget(settings_dialog)
    assert settings_dialog.profile.currentData() == "Ada" and settings_dialog.profile.findData("") == 0
    settings_dialog.profile.setCurrentIndex(0)
    settings_dialog.accept()
    qtbot.waitUntil(lambda: controller.speech.pipeline.profile is None, timeout=ENROLL_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.profile_label.text() == "Profile: none", timeout=ENROLL_TIMEOUT_MS)
    assert load_settings(open_store(str(tmp_path / "settings.ini"))).profile == ""


def test_a_damaged_profile_is_said_and_speaking_goes_on_without_it(qtbot, tmp_path, assets, faceless_clip):
    profiles = tmp_path / "profiles"
    (profiles / "broken").mkdir(parents=True)
    (profiles / "broken" / "profile.json").write_text("{ not json")
    window, controller = make_window(
        qtbot, tmp_path, str(faceless_clip), model_dir=str(assets["model"]), profiles_dir=str(profiles),
        profile="broken",
    )  # fmt: skip
    qtbot.waitUntil(lambda: "broken could not be used" in window.problems_label.text(), timeout=90_000)
    assert "speaking without it" in window.problems_label.text()
    assert window.profile_label.text() == "Profile: none" and controller.speech.pipeline.profile is None


def test_a_recording_without_a_face_is_said_and_can_be_redone(qtbot, tmp_path, assets, faceless_clip):
    window, controller = make_window(
        qtbot, tmp_path, str(faceless_clip), model_dir=str(assets["model"]), speak_mode="push_to_talk",
        profiles_dir=str(tmp_path / "profiles"),
    )  # fmt: skip
    dialog = window.open_enrollment()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)  # keys go to the active window
    qtbot.keyClicks(dialog.name_edit, "bob")
    assert dialog.start()
    _record(qtbot, dialog, controller, str(faceless_clip), frames=12)
    qtbot.waitUntil(lambda: dialog.checking is None, timeout=ENROLL_TIMEOUT_MS)
    assert "No face was found" in dialog.problem_label.text()
    assert dialog.index == 0 and not dialog.recorded and dialog.record_button.isEnabled()
    assert "Record" in dialog.record_button.text()
    dialog.reject()
    assert not dialog.isVisible() and controller.active_profile == ""
