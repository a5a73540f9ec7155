"""Prosody targets of the target speech, one value per token frame (50 Hz = 320 samples at 16 kHz).

Token frame j covers samples [j * hop, (j + 1) * hop), like the codec's frames:
* F0: WORLD (pyworld) harvest at half the hop, read at the frame centres (j + 1/2) * hop,
  so the F0 sample sits in the middle of the token's span (dio + stonemask is the fast option);
* voiced: F0 > 0 at that centre;
* energy: RMS of the frame's own samples, in dB.

Normalisation (docs/style_branch.md): the temporal path of the face-style adapter should
carry *relative* prosody (what the expression does to the voice), the global path the
speaker's level. So the targets are offsets from a reference level: the speaker's mean
(``speaker_levels`` over that speaker's utterances: keeps emotion-driven shifts such as
"happy speaks higher", removes the identity) or, without speaker labels, the utterance's
own mean. Units: log-F0 in octaves (log2 Hz), energy in units of 20 dB. Unvoiced frames
hold log-F0 0 (mask them with ``voiced``); energy is floored 60 dB below the level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DependencyError, InputError

ENERGY_UNIT_DB = 20.0
ENERGY_FLOOR_DB = -60.0  # relative to the level: silence is "very quiet", not -inf
ENERGY_CEIL_DB = 40.0
SPEECH_RANGE_DB = 40.0  # frames within this of the loudest count as speech for the level


@dataclass
class ProsodyContours:
    """Absolute contours at the token rate: f0_hz [T] (0 = unvoiced), energy_db [T]."""

    f0_hz: np.ndarray
    energy_db: np.ndarray


@dataclass
class ProsodyLevel:
    """A speaker's (or utterance's) level: mean log2 F0 over voiced frames, mean speech energy in dB."""

    log2_f0: float
    energy_db: float


def _check_audio(wav: np.ndarray, sr: int, frame_rate: int) -> tuple[np.ndarray, int]:
    audio = np.asarray(wav, np.float64)
    if audio.ndim != 1 or len(audio) == 0 or not np.isfinite(audio).all():
        raise InputError(f"speech must be a finite mono waveform [N] with N >= 1, got shape {audio.shape}")
    if sr <= 0 or frame_rate <= 0 or sr % (2 * frame_rate):
        raise InputError(f"sample rate {sr} must be a multiple of twice the frame rate {frame_rate}")
    return audio, sr // frame_rate


def prosody_contours(
    wav: np.ndarray, sr: int = 16000, frame_rate: int = 50, method: str = "harvest"
) -> ProsodyContours:
    """Absolute F0 (Hz) and energy (dB) per token frame, T = ceil(N / hop) frames."""
    audio, hop = _check_audio(wav, sr, frame_rate)
    try:
        import pyworld
    except ImportError:
        raise DependencyError("prosody targets need pyworld: pip install pyworld") from None
    num_frames = -(-len(audio) // hop)
    half_period_ms = 500.0 / frame_rate  # F0 every half hop: odd samples are the frame centres
    if method == "harvest":
        f0, _ = pyworld.harvest(audio, sr, frame_period=half_period_ms)
    elif method == "dio":
        f0, times = pyworld.dio(audio, sr, frame_period=half_period_ms)
        f0 = pyworld.stonemask(audio, f0, times, sr)
    else:
        raise InputError(f"unknown F0 method {method!r}; choose harvest or dio")
    centres = 2 * np.arange(num_frames) + 1  # F0 sample k sits at k * hop / 2
    f0_tok = np.where(centres < len(f0), f0[np.minimum(centres, len(f0) - 1)], 0.0)
    padded = np.zeros(num_frames * hop)
    padded[: len(audio)] = audio
    rms = np.sqrt(np.mean(padded.reshape(num_frames, hop) ** 2, axis=1))  # [T]
    energy_db = 20.0 * np.log10(rms + 1e-5)  # 1e-5: digital silence sits at -100 dB, not -inf
    return ProsodyContours(f0_tok.astype(np.float32), energy_db.astype(np.float32))


def contour_level(contours: ProsodyContours) -> ProsodyLevel:
    """The utterance's own level (log2 F0 is NaN when no frame is voiced)."""
    voiced = contours.f0_hz > 0
    log2_f0 = float(np.mean(np.log2(contours.f0_hz[voiced]))) if voiced.any() else float("nan")
    energy = contours.energy_db
    speech = energy >= energy.max() - SPEECH_RANGE_DB
    return ProsodyLevel(log2_f0, float(np.mean(energy[speech])))


def speaker_levels(levels: list[ProsodyLevel], speakers: list[str]) -> dict[str, ProsodyLevel]:
    """Per speaker, the mean of its utterances' levels (utterances without voiced frames skip F0)."""
    if len(levels) != len(speakers):
        raise InputError(f"{len(levels)} levels but {len(speakers)} speaker labels")
    out: dict[str, ProsodyLevel] = {}
    for speaker in sorted(set(speakers)):
        mine = [lv for lv, s in zip(levels, speakers) if s == speaker]
        f0s = [lv.log2_f0 for lv in mine if np.isfinite(lv.log2_f0)]
        out[speaker] = ProsodyLevel(
            float(np.mean(f0s)) if f0s else float("nan"), float(np.mean([lv.energy_db for lv in mine]))
        )
    return out


def targets_from_contours(
    contours: ProsodyContours, level: ProsodyLevel | None = None, num_frames: int | None = None
) -> dict[str, np.ndarray]:
    """Relative targets {log_f0, voiced, energy} float32 [num_frames] (padded / trimmed)."""
    level = level or contour_level(contours)
    voiced = contours.f0_hz > 0
    reference_f0 = level.log2_f0 if np.isfinite(level.log2_f0) else 0.0
    log_f0 = np.where(voiced, np.log2(np.maximum(contours.f0_hz, 1e-3)) - reference_f0, 0.0)
    energy = np.clip(contours.energy_db - level.energy_db, ENERGY_FLOOR_DB, ENERGY_CEIL_DB) / ENERGY_UNIT_DB
    targets = {"log_f0": log_f0, "voiced": voiced.astype(np.float64), "energy": energy}
    if num_frames is not None:
        if num_frames < 0:
            raise InputError(f"num_frames must be non-negative, got {num_frames}")
        # padding is silence: unvoiced, at the energy floor
        fill = {"log_f0": 0.0, "voiced": 0.0, "energy": ENERGY_FLOOR_DB / ENERGY_UNIT_DB}
        for name, values in targets.items():
            out = np.full(num_frames, fill[name])
            out[: min(num_frames, len(values))] = values[:num_frames]
            targets[name] = out
    return {name: values.astype(np.float32) for name, values in targets.items()}


def prosody_targets(
    wav: np.ndarray,
    sr: int = 16000,
    frame_rate: int = 50,
    num_frames: int | None = None,
    level: ProsodyLevel | None = None,
    method: str = "harvest",
) -> dict[str, np.ndarray]:
    """Speech float [N] -> {"log_f0", "voiced", "energy"}: float32 [num_frames] each (default ceil(N / hop)).

    ``level``: the speaker's level (``speaker_levels``); None = the utterance's own.
    """
    return targets_from_contours(prosody_contours(wav, sr, frame_rate, method), level, num_frames)


# --- relative prosody and word cues (issue 21): targets the face's expression path can follow ---

SEMITONES_PER_OCTAVE = 12.0


def relative_targets(f0_hz: np.ndarray, energy_db: np.ndarray) -> dict[str, np.ndarray]:
    """Speaker-free per-token targets from absolute contours [T] (``f0_hz`` 0 = unvoiced):

    * ``rel_f0``: semitones from the utterance's **median** voiced F0 (0 on unvoiced tokens;
      the median, unlike the mean, ignores a few octave errors of the tracker);
    * ``rel_energy``: dB from the utterance's mean speech energy (``contour_level``), clipped to
      [ENERGY_FLOOR_DB, ENERGY_CEIL_DB].

    Both are invariant to the speaker's pitch and the recording's gain: the same sentence spoken
    an octave higher, or 10 dB louder, gives the same targets. float32 [T] each.
    """
    f0 = np.asarray(f0_hz, np.float64)
    energy = np.asarray(energy_db, np.float64)
    if f0.shape != energy.shape or f0.ndim != 1:
        raise InputError(f"f0_hz and energy_db must be [T] alike, got {f0.shape} and {energy.shape}")
    voiced = f0 > 0
    rel_f0 = np.zeros_like(f0)
    if voiced.any():
        semitones = SEMITONES_PER_OCTAVE * np.log2(f0[voiced])
        rel_f0[voiced] = semitones - np.median(semitones)
    if energy.size:
        level = contour_level(ProsodyContours(f0.astype(np.float32), energy.astype(np.float32))).energy_db
        rel_energy = np.clip(energy - level, ENERGY_FLOOR_DB, ENERGY_CEIL_DB)
    else:
        rel_energy = energy
    return {"rel_f0": rel_f0.astype(np.float32), "rel_energy": rel_energy.astype(np.float32)}


def word_token_index(words: list[dict], num_tokens: int, frame_rate: float) -> np.ndarray:
    """int16 [num_tokens]: the 0-based index of the word whose span [start, end) (seconds, the
    manifest's ``words``) holds token j's centre (j + 1/2) / frame_rate, -1 between words."""
    if num_tokens < 0 or frame_rate <= 0:
        raise InputError(f"num_tokens must be >= 0 and frame_rate > 0, got {num_tokens}, {frame_rate}")
    centres = (np.arange(num_tokens) + 0.5) / float(frame_rate)
    index = np.full(num_tokens, -1, np.int16)
    for k, word in enumerate(words):
        start, end = float(word["start"]), float(word["end"])
        index[(centres >= start) & (centres < end)] = k
    return index


def cue_labels(word_index: np.ndarray, emphasis: int | None, question: bool) -> dict[str, np.ndarray]:
    """Per-token labels float32 [T] from ``word_token_index``: ``emphasis`` 1 on the emphasised
    word's tokens (none when ``emphasis`` is None / negative), ``question`` 1 on the last spoken
    word's tokens when the utterance is a question, 0 elsewhere."""
    word_index = np.asarray(word_index)
    emph = np.zeros(word_index.shape, np.float32)
    if emphasis is not None and emphasis >= 0:
        emph[word_index == emphasis] = 1.0
    rise = np.zeros(word_index.shape, np.float32)
    if question and (word_index >= 0).any():
        rise[word_index == word_index.max()] = 1.0
    return {"emphasis": emph, "question": rise}
