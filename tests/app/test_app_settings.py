"""Settings persist (QSettings) through the real dialog; accessibility: names, keys, text size, contrast."""

from __future__ import annotations

from dataclasses import replace

from app_helpers import SINK_NAME, make_window
from PyQt6.QtGui import QPalette
from PyQt6.QtWidgets import QAbstractButton, QApplication, QComboBox, QLineEdit, QListView, QSlider, QSpinBox

from desktop_app.settings import AppSettings, load_settings, open_store
from desktop_app.theme import LARGE_POINT_SIZE, NORMAL_POINT_SIZE
from imagintalk.settings.speak import LIVE_SAMPLER, LIVE_STEPS


def test_settings_dialog_changes_persist_and_reload(qtbot, tmp_path, assets, faceless_clip) -> None:
    window, controller = make_window(qtbot, tmp_path, str(faceless_clip), model_dir=str(assets["model"]))
    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    assert dialog.device.findData(SINK_NAME) >= 0  # the real output device is offered
    dialog.reference_voice.setChecked(True)
    dialog.reference_path.setText(str(tmp_path / "my_voice.wav"))
    dialog.expressiveness.setValue(150)
    dialog.steps.setValue(12)
    dialog.sampler.setCurrentIndex(dialog.sampler.findData("euler"))
    dialog.camera.setValue(2)
    dialog.device.setCurrentIndex(dialog.device.findData(SINK_NAME))
    dialog.large_text.setChecked(True)
    dialog.high_contrast.setChecked(True)
    dialog.accept()

    stored = load_settings(open_store(str(tmp_path / "settings.ini")))  # a fresh reader of the file
    assert stored == AppSettings(
        voice_mode="reference", reference_wav=str(tmp_path / "my_voice.wav"), expressiveness=1.5, steps=12,
        sampler="euler", model_dir=str(assets["model"]), camera=2, output_device=SINK_NAME,
        speak_mode="automatic", large_text=True, high_contrast=True,
    )  # fmt: skip
    app = QApplication.instance()
    assert app.font().pointSize() == LARGE_POINT_SIZE
    assert app.palette().color(QPalette.ColorRole.Window).name() == "#000000"
    assert (controller.voice_setup().options.steps, controller.voice_setup().options.sampler) == (12, "euler")

    # the keyboard toggles go back, and persist too
    window.toggle_display("large_text")
    window.toggle_display("high_contrast")
    assert app.font().pointSize() == NORMAL_POINT_SIZE
    assert app.palette().color(QPalette.ColorRole.Window).name() != "#000000"
    again = load_settings(open_store(str(tmp_path / "settings.ini")))
    assert (again.large_text, again.high_contrast, again.steps) == (False, False, 12)

    window.push_to_talk.setChecked(True)  # the speaking mode is a setting as well
    assert load_settings(open_store(str(tmp_path / "settings.ini"))).speak_mode == "push_to_talk"


def test_stored_garbage_falls_back_to_defaults(tmp_path) -> None:
    store = open_store(str(tmp_path / "bad.ini"))
    for key, value in (
        ("steps", "many"),
        ("expressiveness", "9"),
        ("voice_mode", "robot"),
        ("camera", "-3"),
        ("sampler", "heun"),
    ):
        store.setValue(f"app/{key}", value)
    settings = load_settings(store)
    assert (settings.steps, settings.sampler) == (LIVE_STEPS, LIVE_SAMPLER)
    assert (settings.expressiveness, settings.voice_mode, settings.camera) == (2.0, "face", 0)


def test_every_control_has_an_accessible_name_and_shortcuts_are_shown(qtbot, tmp_path, assets, faceless_clip):
    window, _ = make_window(qtbot, tmp_path, str(faceless_clip), model_dir=str(assets["model"]))
    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    controls = (QAbstractButton, QComboBox, QLineEdit, QListView, QSlider, QSpinBox)
    for root in (window, dialog):
        for widget in root.findChildren(controls):
            if (
                widget.isVisibleTo(root)
                and widget.parent() is not None
                and widget.objectName() != "qt_spinbox_lineedit"
            ):
                name = widget.accessibleName() or (isinstance(widget, QAbstractButton) and widget.text())
                assert name, f"{type(widget).__name__} without an accessible name"
    dialog.reject()
    text = " ".join(label.text() for label in window.findChildren(type(window.message_label)))
    for keys in ("Space (hold)", "Ctrl+R", "Ctrl+E", "Ctrl+T", "Ctrl+H", "Ctrl+,"):
        assert keys in text
    assert "(Space)" in window.speak_button.text() and "(Ctrl+R)" in window.repeat_button.text()
    assert window.state_label.text().strip()  # the state is in words


def test_reference_voice_from_a_recording_is_applied_and_a_bad_one_said(
    qtbot, tmp_path, assets, faceless_clip
):
    import os

    import pysptk

    recording = os.path.join(os.path.dirname(pysptk.__file__), "example_audio_data", "arctic_a0007.wav")
    window, controller = make_window(
        qtbot, tmp_path, str(faceless_clip), model_dir=str(assets["model"]), voice_mode="reference",
        reference_wav=recording, expressiveness=0.5,
    )  # fmt: skip
    qtbot.waitUntil(lambda: controller.speech.pipeline is not None, timeout=90_000)
    qtbot.waitUntil(lambda: controller.speech.pipeline.reference_voice is not None, timeout=90_000)
    assert controller.speech.pipeline.expressiveness == 0.5
    assert controller.speech.pipeline.options == controller.voice_setup().options  # set_options, checked
    assert not controller.problems.get("voice")

    (tmp_path / "not_audio.wav").write_text("this is no recording")
    controller.apply_settings(replace(controller.settings, reference_wav=str(tmp_path / "not_audio.wav")))
    qtbot.waitUntil(lambda: "could not be used" in window.problems_label.text(), timeout=90_000)
    assert "voice from your face" in window.problems_label.text()
