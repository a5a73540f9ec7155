"""Expressive SynthTalk (issue 21): emphasis, questions, pauses and intensity in voice and face;
the val split's own voices; and the plain corpus left exactly as it was."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from imagintalk.errors import InputError
from imagintalk.settings import preset
from imagintalk.synth.clip import render_clip, render_frames, sample_clip, speak_clip
from imagintalk.synth.expressive import word_position
from imagintalk.synth.speakers import speaker_ids

SEED = 0
WORDS = 6


def _cfg(expressive: bool = True, **changes):
    cfg = preset("synth").synth
    cfg.expressive = expressive
    cfg.image_size = 64
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


@pytest.fixture(scope="module")
def spoken():
    """Expressive train clips 0, 1, ... (at least 16, at least 4 questions): (spec, speech), no frames."""
    cfg = _cfg()
    out: list = []
    while len(out) < 16 or sum(spec.cues.contour == "question" for spec, _ in out) < 4:
        spec, _ = sample_clip(SEED, "train", len(out), cfg)
        out.append((spec, speak_clip(spec, cfg)))
    return out


def _f0(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    import pyworld

    x = audio.astype(np.float64) / 32768
    f0, t = pyworld.dio(x, sample_rate, f0_floor=60.0, f0_ceil=500.0, frame_period=5.0)
    return pyworld.stonemask(x, f0, t, sample_rate), t


def _word_stats(audio: np.ndarray, sample_rate: int, words: list[dict]) -> np.ndarray:
    """[words, 3]: mean F0 (semitones), energy (dB) and duration (s) over each word's span."""
    f0, t = _f0(audio, sample_rate)
    x = audio.astype(np.float64) / 32768
    rows = []
    for w in words:
        voiced = (t >= w["start"]) & (t < w["end"]) & (f0 > 0)
        span = x[int(w["start"] * sample_rate) : int(w["end"] * sample_rate)]
        pitch = 12 * np.log2(f0[voiced].mean()) if voiced.any() else np.nan
        rows.append((pitch, 20 * np.log10(np.sqrt(np.mean(span**2)) + 1e-9), w["end"] - w["start"]))
    return np.array(rows)


def test_cues_are_drawn_and_every_word_is_timed(spoken):
    from imagintalk.synth.speech import synthesize

    assert {spec.cues.contour for spec, _ in spoken} == {"statement", "question"}
    assert {spec.cues.emphasis is None for spec, _ in spoken} == {True, False}
    assert any(spec.cues.pauses for spec, _ in spoken)
    for spec, speech in spoken:
        assert [w["word"] for w in speech.words] == spec.text.split()  # SSML keeps the word events
        assert all(a["end"] <= b["start"] + 1e-4 for a, b in zip(speech.words, speech.words[1:]))
        ends = [p["end"] for p in speech.phonemes]
        assert ends == sorted(ends) and speech.phonemes[0]["start"] == 0.0
        # the same phonemes as the plain sentence (espeak-ng may drop a phoneme's event after a
        # prosody change: the markup is then simplified); pauses and "t#" / ";" marks may differ
        plain = synthesize(spec.text, spec.speaker, spec.emotion_params["prosody"], 16000, 25, 0.25)
        names = [
            [p["phoneme"].rstrip("#") for p in s.phonemes if p["phoneme"] not in ("_", ";")]
            for s in (speech, plain)
        ]
        assert names[0] == names[1]


def test_pauses_are_silences_between_the_words(spoken):
    checked = 0
    for spec, speech in spoken:
        for k in spec.cues.pauses:
            gap = [
                p
                for p in speech.phonemes
                if p["phoneme"] == "_"
                and p["start"] >= speech.words[k]["end"] - 1e-4
                and p["end"] <= speech.words[k + 1]["start"] + 1e-4
            ]
            ms = spec.cues.pause_ms[spec.cues.pauses.index(k)]
            assert gap and sum(p["end"] - p["start"] for p in gap) >= 0.5 * ms / 1000
            checked += 1
    assert checked >= 2


def test_the_emphasised_word_is_the_most_prominent(spoken):
    rises, top = [], 0
    for spec, speech in spoken:
        k = spec.cues.emphasis
        if k is None:
            continue
        stats = _word_stats(speech.audio, 16000, speech.words)
        others = [j for j in range(WORDS) if j != k]
        rises.append(stats[k] - np.nanmean(stats[others], 0))
        z = (stats[:, :2] - np.nanmean(stats[:, :2], 0)) / (np.nanstd(stats[:, :2], 0) + 1e-9)
        top += int(np.nanargmax(z.sum(1)) == k)
    rises = np.array(rises)
    assert len(rises) >= 8
    pitch, energy, duration = np.nanmean(rises, 0)
    assert pitch > 2.0, rises  # semitones above the sentence's other words
    assert energy > 2.5, rises  # dB
    assert duration > 0.03, rises  # seconds longer
    assert top >= 0.75 * len(rises)


def _final_movement(speech) -> float:
    """Semitones from the last word's lowest F0 to its last 20 ms of voicing (the final rise)."""
    from scipy.signal import medfilt

    f0, t = _f0(speech.audio, 16000)
    last = speech.words[-1]
    st = medfilt(12 * np.log2(f0[(t >= last["start"]) & (t < last["end"]) & (f0 > 0)]), 5)
    return float(st[-4:].mean() - st.min())


def test_a_question_ends_with_a_rise(spoken):
    moves = {"question": [], "statement": []}
    for spec, speech in spoken:
        moves[spec.cues.contour].append(_final_movement(speech))
    assert len(moves["question"]) >= 3
    assert min(moves["question"]) > 2.0, moves  # semitones
    assert np.mean(moves["question"]) > 2.0 + np.mean(moves["statement"]), moves


def test_the_face_shows_the_cues_when_the_voice_does(spoken):
    cfg = _cfg()
    from imagintalk.synth.clip import clip_face_cues, clip_intensity

    checked = 0
    for spec, speech in spoken:
        cues = clip_face_cues(spec, speech, cfg)
        frames = np.arange(speech.num_frames)
        if spec.cues.emphasis is not None and spec.cues.contour == "statement":
            w = speech.words[spec.cues.emphasis]
            inside = (frames / cfg.fps >= w["start"]) & (frames / cfg.fps <= w["end"])
            for key in ("brow_raise", "eye_open", "nod"):
                peak = int(np.argmax(cues[key]))
                assert inside[peak], (key, peak, w)
                assert cues[key][peak] > 0.3 and cues[key][~inside].max() < cues[key][peak]
            checked += 1
        if spec.cues.contour == "question":  # the brows rise over the last word
            start = int(np.ceil(speech.words[-1]["start"] * cfg.fps))
            end = int(speech.words[-1]["end"] * cfg.fps)
            assert cues["brow_raise"][end] > cues["brow_raise"][start] + 0.2
        if spec.cues.emphasis is None and spec.cues.contour == "statement":
            assert all(not c.any() for c in cues.values())
        # the face's intensity at each word's centre is the intensity that word is spoken with
        intensity = clip_intensity(spec, speech, np.random.default_rng(0), cfg)
        t = np.arange(speech.num_frames) / cfg.fps
        for k, w in enumerate(speech.words):
            centre = (w["start"] + w["end"]) / 2
            assert word_position(speech.words, WORDS, np.array([centre]))[0] == pytest.approx(
                (k + 0.5) / WORDS, abs=1e-4
            )
            assert np.interp(centre, t, intensity) == pytest.approx(spec.cues.word_intensity[k], abs=0.05)
    assert checked >= 3


def test_the_drawn_brows_rise_on_the_emphasised_word(spoken, monkeypatch):
    """The pixels: only the brow cue taken away, frames differ on the word only, above the eyes."""
    import imagintalk.synth.clip as clip

    cfg = _cfg(image_size=128, noise_std=0.0)
    index, (spec, speech) = next(
        (i, pair)
        for i, pair in enumerate(spoken)
        if pair[0].cues.emphasis is not None and pair[0].cues.contour == "statement"
    )
    frames, _, _ = render_frames(spec, speech, sample_clip(SEED, "train", index, cfg)[1], cfg)
    with_cues = clip.clip_face_cues

    def without_brows(*args):
        cues = with_cues(*args)
        return {**cues, "brow_raise": np.zeros_like(cues["brow_raise"])}

    monkeypatch.setattr(clip, "clip_face_cues", without_brows)
    flat, _, _ = render_frames(spec, speech, sample_clip(SEED, "train", index, cfg)[1], cfg)
    w = speech.words[spec.cues.emphasis]
    peak = int(round((w["start"] + w["end"]) / 2 * cfg.fps))
    far = 0 if w["start"] > 0.6 else speech.num_frames - 1
    assert np.array_equal(frames[far], flat[far])
    changed = np.abs(frames[peak].astype(int) - flat[peak].astype(int)).sum(2) > 30
    assert changed.sum() >= 10
    rows = np.nonzero(changed)[0]
    assert rows.mean() < 0.5 * cfg.image_size  # the upper face: brows (the head centre is at ~0.47)


def test_manifest_fields_are_recorded_and_reproducible(tmp_path):
    cfg = _cfg()
    records = []
    for out in ("a", "b"):
        record, _ = render_clip(tmp_path / out, SEED, "train", 3, cfg)
        records.append(record)
    assert records[0] == records[1]
    for name in ("video", "audio"):
        assert (tmp_path / "a" / records[0][name]).read_bytes() == (
            tmp_path / "b" / records[0][name]
        ).read_bytes()
    r = json.loads(json.dumps(records[0]))
    assert r["emphasis"] is None or 0 <= r["emphasis"] < WORDS
    assert r["contour"] in ("statement", "question")
    assert all(0 <= k < WORDS - 1 for k in r["pauses"])
    assert len(r["emotion_params"]["intensity_curve"]) == r["num_frames"]
    assert {len(v) for v in r["face_cues"].values()} == {r["num_frames"]}
    assert len(r["prosody_cues"]["word_intensity"]) == WORDS
    assert [w["word"] for w in r["words"]] == r["text"].split()


def _espeak_version() -> str:
    lib = ctypes.CDLL(ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1")
    lib.espeak_Info.restype = ctypes.c_char_p
    return lib.espeak_Info(None).decode()


# sha256[:16] of audio, frames and intensity of clips made by the code before the switch existed
# (commit acb56fc) at image_size 64, seed 5; they depend on espeak-ng's and OpenCV's versions
BEFORE = {
    ("cartoon", "train", 0): ("cd82a4df846baa9e", "f4b1daf195e228cf", "d4ccf8ef94b40e60"),
    ("portrait", "test", 1): ("398b391bad014c80", "6e7b576e985a727b", "33334a8b9e18a81a"),
}


@pytest.mark.parametrize("renderer, split, index", list(BEFORE))
def test_expressive_off_is_byte_identical_to_before(renderer, split, index):
    if (_espeak_version(), cv2.__version__) != ("1.51", "4.14.0"):
        pytest.skip("reference digests were made with espeak-ng 1.51 and OpenCV 4.14.0")
    cfg = _cfg(expressive=False, renderer=renderer)
    spec, rng = sample_clip(5, split, index, cfg)
    assert spec.cues is None
    speech = speak_clip(spec, cfg)
    frames, _, intensity = render_frames(spec, speech, rng, cfg)
    digests = tuple(hashlib.sha256(a.tobytes()).hexdigest()[:16] for a in (speech.audio, frames, intensity))
    assert digests == BEFORE[(renderer, split, index)]


def test_a_plain_record_has_no_new_keys(tmp_path):
    record, _ = render_clip(tmp_path, 5, "train", 0, _cfg(expressive=False))
    assert not {"emphasis", "contour", "pauses", "prosody_cues", "face_cues"} & set(record)


def test_val_speakers_are_held_out_from_train_and_test():
    base = _cfg(expressive=False)
    held = _cfg(expressive=False, num_val_speakers=4)
    train, val, test = (set(speaker_ids(s, held)) for s in ("train", "val", "test"))
    assert len(val) == 4 and not val & train and not val & test and not train & test
    assert test == set(speaker_ids("test", base))  # test's voices exactly as without it
    assert train | val == set(speaker_ids("train", base)) == set(speaker_ids("val", base))
    drawn = {sample_clip(SEED, "val", i, held)[0].speaker["index"] for i in range(30)}
    assert drawn <= val and len(drawn) >= 3
    with pytest.raises(InputError):
        speaker_ids("val", _cfg(num_val_speakers=base.num_speakers - base.num_test_speakers - 1))


def test_the_command_has_an_expressive_flag(tmp_path):
    from imagintalk.cli import main

    out = Path(tmp_path) / "c"
    argv = ["synth", "--out", str(out), "--clips", "1", "--workers", "1", "--no-progress", "--expressive"]
    assert main([*argv, "--set", "synth.image_size=64"]) == 0
    record = json.loads((out / "manifest.jsonl").read_text().splitlines()[0])
    assert "emphasis" in record and "contour" in record


def test_expressive_is_the_default_and_plain_turns_it_off(tmp_path):
    from imagintalk.cli import main
    from imagintalk.settings.synth import SynthConfig

    assert SynthConfig().expressive
    for flag, expressive in (([], True), (["--plain"], False)):
        out = Path(tmp_path) / f"c{len(flag)}"
        argv = ["synth", "--out", str(out), "--clips", "1", "--workers", "1", "--no-progress", *flag]
        assert main([*argv, "--set", "synth.image_size=64"]) == 0
        record = json.loads((out / "manifest.jsonl").read_text().splitlines()[0])
        assert ("emphasis" in record) == expressive
