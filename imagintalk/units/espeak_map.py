"""espeak-ng (en-us) phoneme mnemonics -> ARPAbet units.

The table covers every mnemonic of espeak-ng's ``base1``, ``en`` and ``en-us`` phoneme
tables (read from its compiled ``phontab``) and was checked against ``espeak-ng -v en-us
-x`` over the GRID vocabulary and the ~125k words of CMUdict. A diphthong, affricate or
r-coloured vowel is ONE unit (``aI`` -> ay, ``dZ`` -> jh, ``A@`` -> aa), following
CMUdict's spelling of the same words (e.g. "fire" = ``f aI3 r-`` -> f ay er).

Stress and length marks (``' , % = :`` prefixes / suffixes) are removed first.
Unknown mnemonics never raise; the documented fallback is, in order:
  1. strip trailing variant marks (``# 2 / ; . - ~ :``) and retry the table;
  2. the unit of the mnemonic's first character, if that is a known mnemonic;
  3. ``ah`` (the neutral vowel).
Each unknown mnemonic is counted in :data:`UNKNOWN_MNEMONICS` and logged once.
"""

from __future__ import annotations

import logging
from collections import Counter

from .inventory import SILENCE

log = logging.getLogger(__name__)

# None = a modifier with no sound of its own: its time goes to the previous unit
ABSORB = None

ESPEAK_TO_ARPABET: dict[str, str | None] = {
    # --- consonants
    "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "g": "g",
    "t#": "t",  # flapped t ("water"): ARPAbet-39 has no flap; CMUdict writes T
    "t2": "t", "t[": "t", "d#": "d", "d[": "d", "?": "t",  # glottal stop ("button") -> T as in CMUdict
    "tS": "ch", "dZ": "jh", "tS;": "ch", "dZ;": "jh",
    "f": "f", "v": "v", "v#": "v", "T": "th", "D": "dh", "s": "s", "z": "z", "z#": "z", "z/2": "z",
    "S": "sh", "Z": "zh", "s;": "sh", "z;": "zh", "S;": "sh", "Z;": "zh", "s.": "s", "z.": "z",
    "h": "hh", "x": "k", "X": "hh", "C": "hh", "Q": "g", "Q^": "g", 'Q"': "g", "q": "k", "c": "k",
    "J": "g", "B": "v",
    "m": "m", "n": "n", "N": "ng", "m-": "m", "n-": "n", "N-": "ng", "n.": "n", "n^": "n", "J^": "n",
    "l": "l", "l#": "l", "l/": "l", "l/2": "l", "l/3": "l", "l^": "l", "l.": "l", "L/": "l", "L": "l",
    "l-": "l", "@L": "l",  # syllabic l ("able" = ey b ah l): one event, one unit
    "r": "r", "r/": "r", "R": "r", "R2": "r", "R3": "r", 'r"': "r", "r.": "r", "**": "r",
    "r-": "er",  # r-colouring after a vowel ("3 r-", "aI3 r-"): CMUdict spells it ER
    "j": "y", "w": "w", "w#": "w",
    # --- monophthongs
    "i:": "iy", "i": "iy", "i::": "iy", "e:": "ey", "e": "eh", "e#": "eh",
    "I": "ih", "I#": "ih", "I2": "ih", "I2#": "ih",
    "E": "eh", "E#": "eh", "E2": "eh",
    "a": "ae", "aa": "ae", "a2": "ae", "a#": "ah", "a#2": "ah",
    "A:": "aa", "A#": "aa", "0": "aa", "0#": "aa", "02": "aa",  # US "lot" vowel = AA
    "O:": "ao", "O": "ao", "O2": "ao", "o:": "ao", "o": "ow",
    "V": "ah", "@": "ah", "@-": "ah", "@2": "ah", "@5": "ah", "@#": "ah",
    "3": "er", "3:": "er", "IR": "er", "VR": "er",
    "U": "uh", "u:": "uw", "u": "uw",
    # --- diphthongs and r-coloured vowels: one unit each
    "eI": "ey", "aI": "ay", "OI": "oy", "aU": "aw", "oU": "ow", "oU#": "ow",
    "A@": "aa", "O@": "ao", "o@": "ao", "e@": "eh", "i@": "iy", "i@3": "ih", "U@": "uh",
    "aI@": "ay", "aI3": "ay", "aU@": "aw",
    # --- nasalised vowels of French loans
    "A~": "aa", "O~": "ao",
    # --- reduced vowels written with a leading "#"
    "#@": "ah", "#a": "ah", "#e": "eh", "#i": "ih", "#o": "ao", "#u": "uh",
    # --- modifiers without a sound of their own
    ";": ABSORB, ":": ABSORB, "!": ABSORB, "-": ABSORB, "*": ABSORB, "#X1": ABSORB, "1": ABSORB,
}  # fmt: skip

STRESS_MARKS = "'\",%="
VARIANT_MARKS = "#2/;.-~:"
FALLBACK_UNIT = "ah"
UNKNOWN_MNEMONICS: Counter[str] = Counter()


def is_silence_mnemonic(mnemonic: str) -> bool:
    """``_``, ``_:``, ``_!``, ``||``, ``_^_`` ... and the empty name are pauses."""
    return mnemonic == "" or mnemonic[0] in "_|"


def espeak_to_unit(mnemonic: str) -> str | None:
    """An espeak-ng mnemonic -> unit name, or ``None`` for a modifier (absorbed by its neighbour)."""
    name = mnemonic.strip()
    if name and not name.lstrip(STRESS_MARKS):  # a bare stress mark ("%%", "''") has no sound
        return ABSORB
    name = name.lstrip(STRESS_MARKS)
    if is_silence_mnemonic(name):
        return SILENCE
    if name in ESPEAK_TO_ARPABET:
        return ESPEAK_TO_ARPABET[name]
    stripped = name.rstrip(VARIANT_MARKS + STRESS_MARKS)
    if stripped in ESPEAK_TO_ARPABET and ESPEAK_TO_ARPABET[stripped] is not None:
        unit = ESPEAK_TO_ARPABET[stripped]
    elif ESPEAK_TO_ARPABET.get(name[:1]):
        unit = ESPEAK_TO_ARPABET[name[:1]]
    else:
        unit = FALLBACK_UNIT
    if mnemonic not in UNKNOWN_MNEMONICS:
        log.warning("unknown espeak-ng mnemonic %r mapped to unit %r", mnemonic, unit)
    UNKNOWN_MNEMONICS[mnemonic] += 1
    return unit
