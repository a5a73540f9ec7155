"""The canonical (mean) face that every frame is aligned to, and the similarity fit.

The template is derived from standard adult facial proportions (anthropometric means in
millimetres, Farkas-style measurements: biocular width ex-ex 90, intercanthal width
en-en 32, nasal height n-sn 48, nose width al-al 34, mouth width ch-ch 50, subnasale to
stomion 22, subnasale to chin 70, bizygomatic width 134), written below as points in a
face-centred millimetre frame (origin between the eyes, x right in the image, y down)
and mapped into the aligned face crop, whose side covers 170 mm centred 40 mm below the
eye line. Only points that expression barely moves (eye corners, nose) are used to fit
the alignment; the mouth, brows and jaw are free to move in the aligned frame.
"""

from __future__ import annotations

import numpy as np

# dlib 68-point indices (iBUG 300-W layout) -> (x, y) in millimetres
_TEMPLATE_MM: dict[int, tuple[float, float]] = {
    36: (-45.0, 0.0),  # outer corner of the eye on the image's left
    39: (-16.0, 0.0),  # inner corner
    42: (16.0, 0.0),
    45: (45.0, 0.0),
    27: (0.0, 0.0),  # nasion, at eye-line height between the eyes
    28: (0.0, 13.0),
    29: (0.0, 26.0),
    30: (0.0, 40.0),  # nose tip as seen from the front
    31: (-17.0, 44.0),  # alar base
    33: (0.0, 48.0),  # subnasale
    35: (17.0, 44.0),
    48: (-25.0, 70.0),  # mouth corners (used only to place the mouth ROI, not in the fit)
    54: (25.0, 70.0),
    8: (0.0, 118.0),  # chin
}
CROP_SPAN_MM = 170.0  # side of the aligned face crop
CROP_CENTRE_MM = (0.0, 40.0)  # where the crop centre sits in the millimetre frame

# points fitted by the similarity transform: eye corners, nose bridge, nose base
STABLE_POINTS = np.array([36, 39, 42, 45, 27, 28, 29, 30, 31, 33, 35])
MOUTH_POINTS = np.arange(48, 68)


def _to_unit(xy_mm: tuple[float, float]) -> tuple[float, float]:
    return (
        0.5 + (xy_mm[0] - CROP_CENTRE_MM[0]) / CROP_SPAN_MM,
        0.5 + (xy_mm[1] - CROP_CENTRE_MM[1]) / CROP_SPAN_MM,
    )


def canonical_points(indices: np.ndarray = STABLE_POINTS) -> np.ndarray:
    """Template positions [len(indices), 2] in unit crop coordinates (0..1, top-left origin)."""
    return np.array([_to_unit(_TEMPLATE_MM[int(i)]) for i in indices], dtype=np.float64)


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift) taking src [N,2] to dst [N,2].

    Closed form (Umeyama without reflection). Returns the 2x3 matrix M with dst ~ M @ [x, y, 1].
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var_s = (s**2).sum()
    if var_s < 1e-12:
        raise ValueError("degenerate landmarks: all points coincide")
    # a = sum(s . d), b = sum(s x d): the rotation angle is atan2(b, a)
    a = (s * d).sum()
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()
    c, sn = a / var_s, b / var_s  # scale * cos, scale * sin
    rot = np.array([[c, -sn], [sn, c]])
    shift = mu_d - rot @ mu_s
    return np.hstack([rot, shift[:, None]])


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2x3 matrix to points [..., 2]."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def align_matrix(landmarks: np.ndarray) -> np.ndarray:
    """2x3 similarity from frame pixels to unit crop coordinates, fitted on STABLE_POINTS.

    landmarks: [68, 2] in frame pixels.
    """
    return fit_similarity(landmarks[STABLE_POINTS], canonical_points())


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """2x3 matrix of ``outer(inner(x))``."""
    o = np.vstack([outer, [0, 0, 1]])
    i = np.vstack([inner, [0, 0, 1]])
    return (o @ i)[:2]


def invert(matrix: np.ndarray) -> np.ndarray:
    return np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
