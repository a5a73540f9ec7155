"""Phonological features of the units and the fixed initial unit-embedding table.

Each unit gets a feature vector (silence; consonant place, manner and voicing; vowel
height, backness, rounding, length / diphthong, r-colouring). The table is the feature
matrix reduced to ``dim`` by its principal directions (exact when ``dim`` >= its rank),
turned by a fixed seeded random orthogonal matrix, plus a small seeded per-unit
component so that no two units coincide, then L2-normalised. Similar phones get
similar vectors (cos(p, b) > cos(p, iy)); with the default jitter no two codewords are
more similar than ~0.88 (below the error detector's tau = 0.9). The lip aligner predicts vectors in this
space and decodes by the nearest codeword (cosine).
"""

from __future__ import annotations

import numpy as np

from .inventory import UNITS

PLACES = ("bilabial", "labiodental", "dental", "alveolar", "postalveolar", "palatal", "velar", "glottal")
MANNERS = ("stop", "fricative", "affricate", "nasal", "lateral", "rhotic", "glide")

# consonant: (place, manner, voiced); labial-velar /w/ is both bilabial and velar
CONSONANTS: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "p": (("bilabial",), "stop", False), "b": (("bilabial",), "stop", True),
    "t": (("alveolar",), "stop", False), "d": (("alveolar",), "stop", True),
    "k": (("velar",), "stop", False), "g": (("velar",), "stop", True),
    "f": (("labiodental",), "fricative", False), "v": (("labiodental",), "fricative", True),
    "th": (("dental",), "fricative", False), "dh": (("dental",), "fricative", True),
    "s": (("alveolar",), "fricative", False), "z": (("alveolar",), "fricative", True),
    "sh": (("postalveolar",), "fricative", False), "zh": (("postalveolar",), "fricative", True),
    "hh": (("glottal",), "fricative", False),
    "ch": (("postalveolar",), "affricate", False), "jh": (("postalveolar",), "affricate", True),
    "m": (("bilabial",), "nasal", True), "n": (("alveolar",), "nasal", True),
    "ng": (("velar",), "nasal", True),
    "l": (("alveolar",), "lateral", True), "r": (("postalveolar",), "rhotic", True),
    "w": (("bilabial", "velar"), "glide", True), "y": (("palatal",), "glide", True),
}  # fmt: skip

# vowel: (height 0 low .. 1 high, backness 0 front .. 1 back, rounded, diphthong, r-coloured)
VOWELS: dict[str, tuple[float, float, bool, bool, bool]] = {
    "iy": (1.0, 0.0, False, False, False), "ih": (0.8, 0.1, False, False, False),
    "ey": (0.6, 0.0, False, True, False), "eh": (0.5, 0.0, False, False, False),
    "ae": (0.2, 0.0, False, False, False), "aa": (0.0, 1.0, False, False, False),
    "ao": (0.3, 1.0, True, False, False), "ah": (0.4, 0.5, False, False, False),
    "ow": (0.5, 1.0, True, True, False), "uh": (0.8, 0.9, True, False, False),
    "uw": (1.0, 1.0, True, False, False), "er": (0.5, 0.5, True, False, True),
    "ay": (0.1, 0.4, False, True, False), "aw": (0.1, 0.6, True, True, False),
    "oy": (0.4, 0.8, True, True, False),
}  # fmt: skip

# lip configuration matters most for lip reading: closure, lip-teeth contact, rounding
FEATURES = (
    "silence", "consonant", "vowel", "voiced", *PLACES, *MANNERS,
    "height", "lowness", "front", "back", "rounded", "diphthong", "r_coloured",
)  # fmt: skip
_F = {name: i for i, name in enumerate(FEATURES)}


def unit_features() -> np.ndarray:
    """The phonological feature matrix, float32 [U, len(FEATURES)], rows in ``UNITS`` order."""
    table = np.zeros((len(UNITS), len(FEATURES)), dtype=np.float32)
    for row, unit in enumerate(UNITS):
        vec = table[row]
        if unit == "sil":
            vec[_F["silence"]] = 2.0  # far from every phone
        elif unit in CONSONANTS:
            places, manner, voiced = CONSONANTS[unit]
            vec[_F["consonant"]] = 1.0
            vec[_F["voiced"]] = 1.0 if voiced else 0.0
            for place in places:
                vec[_F[place]] = 1.0 / len(places) ** 0.5
            vec[_F[manner]] = 1.0
            if unit == "w":  # rounded lips like /uw/
                vec[_F["rounded"]] = 1.0
        else:
            height, back, rounded, diphthong, rhotic = VOWELS[unit]
            vec[_F["vowel"]] = 1.0
            vec[_F["voiced"]] = 1.0
            vec[_F["height"]], vec[_F["lowness"]] = height, 1.0 - height
            vec[_F["front"]], vec[_F["back"]] = 1.0 - back, back
            vec[_F["rounded"]] = float(rounded)
            vec[_F["diphthong"]] = 0.5 * float(diphthong)
            vec[_F["r_coloured"]] = float(rhotic)
    return table


def _random_orthogonal(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random orthogonal matrix [dim, dim] (QR of a Gaussian, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def unit_embeddings(dim: int = 32, seed: int = 0, jitter: float = 0.5) -> np.ndarray:
    """The fixed initial unit-embedding table, float32 [U, dim], rows L2-normalised."""
    if dim < 2:
        raise ValueError(f"embedding dim must be >= 2, got {dim}")
    feats = unit_features().astype(np.float64)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    # principal directions of the (uncentred) features keep cosines exactly when dim >= rank
    _, s, vt = np.linalg.svd(feats, full_matrices=False)
    k = min(dim, vt.shape[0])
    coords = np.zeros((len(UNITS), dim))
    coords[:, :k] = feats @ vt[:k].T
    rng = np.random.default_rng(seed)
    coords = coords @ _random_orthogonal(dim, rng)
    # a small per-unit direction keeps units with equal features (if any) apart
    noise = rng.standard_normal((len(UNITS), dim))
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    coords /= np.linalg.norm(coords, axis=1, keepdims=True)
    table = coords + jitter * noise
    table /= np.linalg.norm(table, axis=1, keepdims=True)
    return table.astype(np.float32)
