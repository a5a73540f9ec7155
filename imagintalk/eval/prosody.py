"""Prosody descriptors and the emotion scores built on them (no trained model).

Emotion in speech shows mostly in prosody: pitch level, range and movement, loudness
and its dynamics, voicing and tempo (the eGeMAPS parameter families). SynthTalk
expresses its emotions through exactly these (espeak-ng pitch, range, speed and
amplitude), and the model must carry them from the face to the voice. So:

* ``emo_sim``: the mean over descriptors of ``exp(-|d_gen - d_ref| / scale)``, in 0..1
  (1 = the same prosody). The scales are fixed (below), not fitted to any data set,
  so a score means the same on every corpus and for every system.
* ``emo_acc``: a nearest-reference-prosody classifier. The references are the
  ground-truth clips of the evaluated split (leave-one-out: never the clip itself);
  descriptors are taken relative to the speaker's mean and standardised by their
  spread over those references; an output counts as right when its nearest reference
  has the clip's emotion label.
"""

from __future__ import annotations

import numpy as np

from .judge import ClipPair, Score
from .signal import Signal

# descriptor name -> scale at which a difference costs 1/e of the similarity
DESCRIPTOR_SCALES: dict[str, float] = {
    "f0_median_st": 2.0,  # F0 level, semitones re 55 Hz
    "f0_range_st": 3.0,  # 90th - 10th percentile of F0, semitones
    "f0_std_st": 1.5,  # F0 standard deviation, semitones
    "f0_slope_st_s": 5.0,  # linear trend of F0 over voiced frames, semitones / s
    "level_db": 6.0,  # mean frame level of active frames, dBFS
    "level_std_db": 3.0,  # its standard deviation (loudness dynamics)
    "voiced_ratio": 0.15,  # voiced frames / active frames
    "onset_rate": 1.0,  # voiced-segment onsets per second of active speech (tempo proxy)
}
DESCRIPTORS = tuple(DESCRIPTOR_SCALES)
ACTIVE_DB_BELOW_PEAK = 40.0  # frames within 40 dB of the loudest count as active


def prosody_descriptors(signal: Signal) -> np.ndarray | None:
    """float64 [len(DESCRIPTORS)], or None when the signal is silent or never voiced."""
    if "prosody" in signal.cache:
        return signal.cache["prosody"]
    desc = None
    f0 = signal.f0
    if not signal.silent and np.count_nonzero(f0) >= 3:
        energy = signal.energy_db[: len(f0)]
        n = min(len(f0), len(energy))
        f0, energy = f0[:n], energy[:n]
        active = energy > energy.max() - ACTIVE_DB_BELOW_PEAK
        voiced = f0 > 0
        st = 12.0 * np.log2(f0[voiced] / 55.0)
        t = np.flatnonzero(voiced) * 0.01
        slope = float(np.polyfit(t, st, 1)[0]) if np.ptp(t) > 0 else 0.0
        onsets = np.count_nonzero(np.diff(voiced.astype(np.int8)) == 1) + int(voiced[0])
        active_seconds = max(np.count_nonzero(active) * 0.01, 0.01)
        desc = np.array(
            [
                np.median(st),
                np.percentile(st, 90) - np.percentile(st, 10),
                np.std(st),
                slope,
                energy[active].mean(),
                energy[active].std(),
                np.count_nonzero(voiced & active) / max(np.count_nonzero(active), 1),
                onsets / active_seconds,
            ]
        )
    signal.cache["prosody"] = desc
    return desc


def prosody_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Mean of exp(-|a - b| / scale) over the descriptors: 1 = identical prosody, -> 0."""
    scales = np.array([DESCRIPTOR_SCALES[d] for d in DESCRIPTORS])
    return float(np.mean(np.exp(-np.abs(a - b) / scales)))


def emotion_similarity(pair: ClipPair, judges: object = None) -> Score:
    ref = prosody_descriptors(pair.reference)
    if ref is None:
        return Score.undefined("reference silent or unvoiced")
    gen = prosody_descriptors(pair.generated)
    if gen is None:
        return Score.undefined("output silent or unvoiced")
    return Score(prosody_similarity(ref, gen))


class NearestProsodyClassifier:
    """Emotion of the nearest ground-truth clip in speaker-normalised, standardised prosody space.

    Prosody mixes speaker and emotion (a high voice is not a happy one), so when clips
    carry speaker labels every descriptor vector is taken relative to the mean of its
    speaker's OTHER ground-truth clips (all other references when the speaker has none).
    Leave-one-out throughout: a clip is never compared with its own reference.
    """

    def __init__(self, references: dict[str, tuple[np.ndarray, str, str | None]]) -> None:
        """``references``: clip id -> (descriptors [D], emotion label, speaker or None)."""
        self.ids = list(references)
        self.labels = [references[i][1] for i in self.ids]
        self.speakers = [references[i][2] for i in self.ids]
        self.raw = (
            np.stack([references[i][0] for i in self.ids]) if self.ids else np.zeros((0, len(DESCRIPTORS)))
        )
        normed = np.stack(
            [self.raw[k] - self._offset(i, sp) for k, (i, sp) in enumerate(zip(self.ids, self.speakers))]
        )
        self.std = normed.std(axis=0) + 1e-6 if len(normed) > 1 else np.ones(len(DESCRIPTORS))
        self.feats = normed / self.std

    def _offset(self, clip_id: str, speaker: str | None) -> np.ndarray:
        others = [k for k, i in enumerate(self.ids) if i != clip_id]
        same = [k for k in others if speaker is not None and self.speakers[k] == speaker]
        pool = same or others
        return self.raw[pool].mean(axis=0) if pool else np.zeros(len(DESCRIPTORS))

    def predict(self, descriptors: np.ndarray, clip_id: str, speaker: str | None = None) -> str | None:
        keep = [k for k, i in enumerate(self.ids) if i != clip_id]
        if not keep:
            return None
        x = (descriptors - self._offset(clip_id, speaker)) / self.std
        return self.labels[keep[int(np.argmin(np.linalg.norm(self.feats[keep] - x, axis=1)))]]

    def score(
        self, clip_id: str, descriptors: np.ndarray | None, emotion: str | None, speaker: str | None = None
    ) -> Score:
        if emotion is None:
            return Score.undefined("no emotion label in the manifest")
        if descriptors is None:
            return Score.undefined("output silent or unvoiced")
        if len(set(self.labels)) < 2:
            return Score.undefined("fewer than two emotions among the references")
        predicted = self.predict(descriptors, clip_id, speaker)
        if predicted is None:
            return Score.undefined("no other reference clip")
        return Score(float(predicted == emotion))
