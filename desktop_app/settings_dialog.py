"""The settings dialog: voice, profile, quality vs speed, model, camera, output device, accessibility."""

from __future__ import annotations

from dataclasses import replace

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from imagintalk.diffusion.sampling import SAMPLERS

from .settings import AppSettings, list_profiles, profiles_root

DEFAULT_DEVICE_TEXT = "System default"
NO_PROFILE_TEXT = "None (the model as shipped)"


def _named(widget: QWidget, name: str, description: str = "") -> QWidget:
    """Give a control its accessible name (what a screen reader says) and a tooltip."""
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
        widget.setToolTip(description)
    return widget


class SettingsDialog(QDialog):
    """Edits a copy of AppSettings; ``result_settings()`` after exec() == Accepted."""

    def __init__(self, settings: AppSettings, devices: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("ImaginTalk settings")
        self.setAccessibleName("Settings")
        self._base = settings
        form = QFormLayout()

        self.face_voice = _named(QRadioButton("&Face voice (from your face)"), "Face-derived voice")
        self.reference_voice = _named(
            QRadioButton("&My recorded voice"), "Fixed voice from my recording",
            "Speak in the voice of a recording you provide, e.g. of your own voice from before",
        )  # fmt: skip
        group = QButtonGroup(self)
        group.addButton(self.face_voice)
        group.addButton(self.reference_voice)
        (self.reference_voice if settings.voice_mode == "reference" else self.face_voice).setChecked(True)
        self.reference_path = _named(QLineEdit(settings.reference_wav), "Reference recording file")
        browse_ref = _named(QPushButton("Choose &recording…"), "Choose reference recording")
        browse_ref.clicked.connect(self._choose_reference)
        voice_box = QVBoxLayout()
        voice_box.addWidget(self.face_voice)
        voice_box.addWidget(self.reference_voice)
        row = QHBoxLayout()
        row.addWidget(self.reference_path)
        row.addWidget(browse_ref)
        voice_box.addLayout(row)
        form.addRow(QLabel("Voice:"), voice_box)

        self.profile = _named(
            QComboBox(), "Profile", "Whose face the lip reader is adapted to (made with Teach it my face)"
        )
        self.profiles_dir = _named(
            QLineEdit(settings.profiles_dir), "Profiles folder", f"Empty: {profiles_root(AppSettings())}"
        )
        self.profiles_dir.setPlaceholderText(str(profiles_root(AppSettings())))
        self.profiles_dir.editingFinished.connect(self._list_profiles)
        browse_profiles = _named(QPushButton("Choose p&rofiles folder…"), "Choose profiles folder")
        browse_profiles.clicked.connect(self._choose_profiles_dir)
        self._list_profiles()
        label = QLabel("&Profile:")
        label.setBuddy(self.profile)
        form.addRow(label, self.profile)
        row = QHBoxLayout()
        row.addWidget(self.profiles_dir)
        row.addWidget(browse_profiles)
        label = QLabel("Profiles &folder:")
        label.setBuddy(self.profiles_dir)
        form.addRow(label, row)

        self.expressiveness = _named(
            QSlider(Qt.Orientation.Horizontal), "Expressiveness",
            "How much your facial expression shapes the speech melody, 0 to 200 percent",
        )  # fmt: skip
        self.expressiveness.setRange(0, 200)
        self.expressiveness.setSingleStep(10)
        self.expressiveness.setPageStep(25)
        self.expressiveness.setValue(round(100 * settings.expressiveness))
        self.expressiveness_value = QLabel()
        self.expressiveness.valueChanged.connect(lambda v: self.expressiveness_value.setText(f"{v} %"))
        self.expressiveness_value.setText(f"{self.expressiveness.value()} %")
        row = QHBoxLayout()
        row.addWidget(self.expressiveness)
        row.addWidget(self.expressiveness_value)
        label = QLabel("&Expressiveness:")
        label.setBuddy(self.expressiveness)
        form.addRow(label, row)

        self.steps = _named(QSpinBox(), "Quality steps", "Fewer steps speak sooner, more sound better")
        self.steps.setRange(1, 256)
        self.steps.setValue(settings.steps)
        self.steps.setSuffix(" steps")
        label = QLabel("&Quality (steps):")
        label.setBuddy(self.steps)
        form.addRow(label, self.steps)

        self.sampler = _named(QComboBox(), "Sampler", "Confidence is best at few steps")
        for name in SAMPLERS:
            self.sampler.addItem(name, name)
        self.sampler.setCurrentIndex(max(0, self.sampler.findData(settings.sampler)))
        label = QLabel("Sa&mpler:")
        label.setBuddy(self.sampler)
        form.addRow(label, self.sampler)

        self.model_dir = _named(QLineEdit(settings.model_dir), "Model folder", "Empty: the shipped model")
        self.model_dir.setPlaceholderText("the shipped model")
        browse_model = _named(QPushButton("Choose &folder…"), "Choose model folder")
        browse_model.clicked.connect(self._choose_model)
        row = QHBoxLayout()
        row.addWidget(self.model_dir)
        row.addWidget(browse_model)
        label = QLabel("&Model:")
        label.setBuddy(self.model_dir)
        form.addRow(label, row)

        self.backend = _named(QComboBox(), "Engine", "ONNX Runtime needs the model exported first")
        self.backend.addItem("PyTorch", "torch")
        self.backend.addItem("ONNX Runtime (imagintalk export)", "onnx")
        self.backend.setCurrentIndex(max(0, self.backend.findData(settings.backend)))
        label = QLabel("E&ngine:")
        label.setBuddy(self.backend)
        form.addRow(label, self.backend)

        self.camera = _named(QSpinBox(), "Camera number", "0 is the first camera")
        self.camera.setRange(0, 63)
        self.camera.setValue(settings.camera)
        label = QLabel("&Camera:")
        label.setBuddy(self.camera)
        form.addRow(label, self.camera)

        self.device = _named(QComboBox(), "Output device")
        self.device.addItem(DEFAULT_DEVICE_TEXT, "")
        for name in devices:
            self.device.addItem(name, name)
        if settings.output_device and settings.output_device not in devices:
            self.device.addItem(f"{settings.output_device} (not found)", settings.output_device)
        self.device.setCurrentIndex(max(0, self.device.findData(settings.output_device)))
        label = QLabel("&Output device:")
        label.setBuddy(self.device)
        form.addRow(label, self.device)

        self.large_text = _named(QCheckBox("&Larger text"), "Larger text")
        self.large_text.setChecked(settings.large_text)
        self.high_contrast = _named(QCheckBox("&High contrast"), "High contrast")
        self.high_contrast.setChecked(settings.high_contrast)
        form.addRow(QLabel("Display:"), self.large_text)
        form.addRow(QLabel(""), self.high_contrast)

        ok_cancel = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        buttons = QDialogButtonBox(ok_cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _choose_reference(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Your voice recording", "", "Audio (*.wav *.flac *.ogg)")
        if path:
            self.reference_path.setText(path)
            self.reference_voice.setChecked(True)

    def _list_profiles(self) -> None:
        """Offer the profiles in the profiles folder (and the chosen one, said missing when it is)."""
        chosen = self.profile.currentData() if self.profile.count() else self._base.profile
        root = profiles_root(replace(self._base, profiles_dir=self.profiles_dir.text().strip()))
        names = list_profiles(root)
        self.profile.clear()
        self.profile.addItem(NO_PROFILE_TEXT, "")
        for name in names:
            self.profile.addItem(name, name)
        if chosen and chosen not in names:
            self.profile.addItem(f"{chosen} (not found)", chosen)
        self.profile.setCurrentIndex(max(0, self.profile.findData(chosen)))

    def _choose_profiles_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Profiles folder")
        if path:
            self.profiles_dir.setText(path)
            self._list_profiles()

    def _choose_model(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Model folder")
        if path:
            self.model_dir.setText(path)

    def result_settings(self) -> AppSettings:
        return replace(
            self._base,
            voice_mode="reference" if self.reference_voice.isChecked() else "face",
            reference_wav=self.reference_path.text().strip(),
            expressiveness=self.expressiveness.value() / 100.0,
            steps=self.steps.value(),
            sampler=self.sampler.currentData(),
            model_dir=self.model_dir.text().strip(),
            backend=self.backend.currentData() or "torch",
            camera=self.camera.value(),
            output_device=self.device.currentData() or "",
            large_text=self.large_text.isChecked(),
            high_contrast=self.high_contrast.isChecked(),
            profile=self.profile.currentData() or "",
            profiles_dir=self.profiles_dir.text().strip(),
        ).checked()
