"""The GRID sentence grammar and the sentence split.

A GRID sentence is six words: command colour preposition letter digit adverb,
e.g. "bin blue at f two now" (4 x 4 x 4 x 25 x 10 x 4 = 64,000 sentences).
Letters are spoken as their names ("f" -> "eff"); the text keeps the single letter.
"""

from __future__ import annotations

import zlib

import numpy as np

COMMANDS = ("bin", "lay", "place", "set")
COLOURS = ("blue", "green", "red", "white")
PREPOSITIONS = ("at", "by", "in", "with")
LETTERS = tuple("abcdefghijklmnopqrstuvxyz")  # GRID has no "w"
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ADVERBS = ("again", "now", "please", "soon")
SLOTS = (COMMANDS, COLOURS, PREPOSITIONS, LETTERS, DIGITS, ADVERBS)
VOCABULARY = tuple(sorted({w for slot in SLOTS for w in slot}))

# One sentence in TEST_MODULUS is held out for the test split (by a stable hash of its
# text), so train/val and test never share a sentence whatever the seed.
TEST_MODULUS = 8


def sentence_split(text: str) -> str:
    """``"test"`` for held-out sentences, ``"trainval"`` for the others."""
    return "test" if zlib.crc32(text.encode()) % TEST_MODULUS == 0 else "trainval"


def random_sentence(rng: np.random.Generator) -> str:
    return " ".join(slot[rng.integers(len(slot))] for slot in SLOTS)


def sample_sentence(rng: np.random.Generator, split: str) -> str:
    """A random GRID sentence belonging to ``split`` (train and val share the trainval pool)."""
    want = "test" if split == "test" else "trainval"
    while True:
        text = random_sentence(rng)
        if sentence_split(text) == want:
            return text


def is_grid_sentence(text: str) -> bool:
    words = text.split()
    return len(words) == len(SLOTS) and all(w in slot for w, slot in zip(words, SLOTS))
