"""The camera preview: the frame with the face box and mouth region drawn and labelled."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QImage, QPainter, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget


class PreviewWidget(QWidget):
    """Shows the last preview frame; the two boxes differ in line style and label, not only colour."""

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Camera preview")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self._image: QImage | None = None
        self._face: np.ndarray | None = None
        self._mouth: np.ndarray | None = None
        self.placeholder = "Waiting for the camera…"
        self.frames_shown = 0

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def show_frame(self, rgb: np.ndarray, face: np.ndarray | None, mouth: np.ndarray | None) -> None:
        """rgb uint8 [h, w, 3]; face / mouth boxes [4] x0, y0, x1, y1 in its pixels, or None."""
        rgb = np.ascontiguousarray(rgb)
        h, w = rgb.shape[:2]
        # copy(): the QImage must own its pixels once the numpy array goes away
        self._image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self._face, self._mouth = face, mouth
        self.frames_shown += 1
        self.setAccessibleDescription("A face is seen" if face is not None else "No face is seen")
        self.update()

    def clear(self, placeholder: str) -> None:
        self._image, self.placeholder = None, placeholder
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#000000"))
        if self._image is None:
            painter.setPen(QColor("#ffffff"))
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(self.rect(), flags, self.placeholder)
            return
        img = self._image
        scale = min(self.width() / img.width(), self.height() / img.height())
        target = QRectF(0, 0, img.width() * scale, img.height() * scale)
        target.moveCenter(QRectF(self.rect()).center())
        painter.drawImage(target, img)
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        for box, label, color, style in (
            (self._face, "face", "#00e5ff", Qt.PenStyle.SolidLine),
            (self._mouth, "mouth", "#ffd400", Qt.PenStyle.DashLine),
        ):
            if box is None:
                continue
            x0, y0, x1, y1 = (float(v) * scale for v in box)
            rect = QRectF(target.left() + x0, target.top() + y0, x1 - x0, y1 - y0)
            painter.setPen(QPen(QColor(color), 3, style))
            painter.drawRect(rect)
            painter.drawText(QPointF(rect.left() + 2, rect.top() - 6), label)
