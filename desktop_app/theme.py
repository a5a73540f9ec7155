"""Look and feel for low vision: a large default font, a larger-text mode and a high-contrast theme."""

from __future__ import annotations

from PyQt6.QtGui import QColor, QFont, QPalette
from PyQt6.QtWidgets import QApplication

NORMAL_POINT_SIZE = 14  # larger than desktop defaults (9-10 pt): the users read from arm's length
LARGE_POINT_SIZE = 20

# the words and symbols of each state: the state is never told by colour alone
STATE_TEXT = {
    "starting": ("…", "Starting"),
    "no_face": ("○", "No face: look at the camera"),
    "ready": ("✓", "Ready: mouth your words"),
    "listening": ("●", "Listening"),
    "preparing": ("⋯", "Preparing speech"),
    "speaking": ("🔊", "Speaking"),
    "no_source": ("✕", "No picture"),
}
STATE_COLOR = {  # a second cue next to the symbol and words
    "no_face": "#b35900",
    "ready": "#1a7f37",
    "listening": "#0550ae",
    "preparing": "#6e40c9",
    "speaking": "#0550ae",
    "no_source": "#b3261e",
}
HIGH_CONTRAST_STATE_COLOR = "#ffff00"


def apply_theme(app: QApplication, large_text: bool, high_contrast: bool) -> None:
    """Font size and palette for the whole application (every window and dialog)."""
    font = QFont(app.font())
    font.setPointSize(LARGE_POINT_SIZE if large_text else NORMAL_POINT_SIZE)
    app.setFont(font)
    app.setStyle("Fusion")  # the same look on every platform, and a palette it fully honours
    palette = app.style().standardPalette()
    focus = "#0550ae"
    if high_contrast:
        black, white, yellow = QColor("#000000"), QColor("#ffffff"), QColor("#ffff00")
        for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base, QPalette.ColorRole.Button):
            palette.setColor(role, black)
        for role in (
            QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
            QPalette.ColorRole.ToolTipText,
        ):  # fmt: skip
            palette.setColor(role, white)
        palette.setColor(QPalette.ColorRole.AlternateBase, QColor("#1a1a1a"))
        palette.setColor(QPalette.ColorRole.ToolTipBase, black)
        palette.setColor(QPalette.ColorRole.Highlight, yellow)
        palette.setColor(QPalette.ColorRole.HighlightedText, black)
        focus = "#ffff00"
    app.setPalette(palette)
    # a thick focus frame: keyboard users must see where they are
    border = "#ffffff" if high_contrast else "#57606a"
    app.setStyleSheet(
        f"QPushButton, QComboBox, QSpinBox, QLineEdit, QListView, QCheckBox, QRadioButton, QSlider "
        f"{{ padding: 6px; }}"
        f"QPushButton {{ border: 2px solid {border}; border-radius: 6px; }}"
        f"*:focus {{ outline: none; border: 3px solid {focus}; }}"
    )


def state_style(state: str, high_contrast: bool, point_size: int) -> str:
    color = HIGH_CONTRAST_STATE_COLOR if high_contrast else STATE_COLOR.get(state, "#57606a")
    return (
        f"QLabel {{ color: {color}; font-size: {point_size}pt; font-weight: bold; "
        f"border: 3px solid {color}; padding: 8px; }}"
    )
