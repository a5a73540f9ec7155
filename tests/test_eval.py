"""Evaluation metrics on known cases: identical, white noise, silence, other voice, pitch shift."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from imagintalk.eval.asr import Recognizer, grid_jsgf, word_error_rate
from imagintalk.eval.audio import load_wav
from imagintalk.eval.judge import ClipPair, Score
from imagintalk.eval.judges import Judges
from imagintalk.eval.metrics import METRICS
from imagintalk.eval.prosody import NearestProsodyClassifier
from imagintalk.eval.signal import Signal
from imagintalk.synth.grid import VOCABULARY

SR = 16000
GRID_TEXT = "lay red with y zero again"  # pocketsphinx's grammar search gets this espeak-ng clip right
LONG_A = "the quick brown fox jumps over the lazy dog while the farmer watches from his old wooden porch"
LONG_B = "she sells sea shells by the sea shore and the shells she sells are surely sea shells"
CLIP_METRICS = [name for name, m in METRICS.items() if m.fn is not None]

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def espeak(tmp: Path, text: str, voice: str = "en-us") -> np.ndarray:
    path = tmp / f"{abs(hash((text, voice)))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    return load_wav(path, SR)  # espeak-ng writes 22050 Hz; resampled to 16 kHz


@pytest.fixture(scope="module")
def judges() -> Judges:
    return Judges()  # pocketsphinx decoders and resemblyzer load once for the module


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    tmp = tmp_path_factory.mktemp("espeak")
    return {
        "grid": espeak(tmp, GRID_TEXT),
        "long_a": espeak(tmp, LONG_A),
        "long_b": espeak(tmp, LONG_B),
        "long_a_f4": espeak(tmp, LONG_A, "en-us+f4"),
    }


def score_all(ref: np.ndarray, gen: np.ndarray, judges: Judges, text: str = GRID_TEXT) -> dict[str, Score]:
    pair = ClipPair("clip", Signal(ref, SR), Signal(gen, SR), text)
    return {name: METRICS[name].fn(pair, judges) for name in CLIP_METRICS}


def world_pitch_shift(wav: np.ndarray, cents: float) -> np.ndarray:
    """WORLD analysis / resynthesis with F0 scaled by 2^(cents/1200): float32 [N]."""
    import pyworld

    x = wav.astype(np.float64)
    f0, t = pyworld.harvest(x, SR, frame_period=5.0)
    sp, ap = pyworld.cheaptrick(x, f0, t, SR), pyworld.d4c(x, f0, t, SR)
    y = pyworld.synthesize(f0 * 2.0 ** (cents / 1200.0), sp, ap, SR, 5.0)
    return np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)].astype(np.float32)


def test_identical_audio_scores_the_ceiling(audio, judges) -> None:
    s = score_all(audio["grid"], audio["grid"], judges)
    assert s["stoi"].value > 0.999 and s["estoi"].value > 0.999
    assert s["pesq"].value > 4.5
    assert s["spk_sim"].value > 0.999
    assert s["f0_rmse"].value == 0.0 and s["vuv_error"].value == 0.0
    assert s["emo_sim"].value == pytest.approx(1.0)
    assert s["wer_grammar"].value == 0.0
    assert s["wer_open"].valid  # open vocabulary misreads espeak-ng speech, but it is defined


def test_white_noise_scores_low(audio, judges) -> None:
    ref = audio["grid"]
    noise = 0.1 * np.random.default_rng(0).standard_normal(len(ref)).astype(np.float32)
    s = score_all(ref, noise, judges)
    assert s["stoi"].value < 0.45 and s["estoi"].value < 0.2  # STOI of unrelated signals is ~0.35
    assert s["pesq"].value < 1.5
    assert s["wer_grammar"].value >= 0.5
    assert s["emo_sim"].value < 0.8


def test_silence_is_handled_with_reasons(audio, judges) -> None:
    ref, silence = audio["grid"], np.zeros_like(audio["grid"])
    s = score_all(ref, silence, judges)
    for name in ("pesq", "spk_sim", "f0_rmse", "emo_sim"):
        assert math.isnan(s[name].value) and s[name].reason, name
    assert "silent" in s["pesq"].reason
    assert s["wer_grammar"].value == 1.0  # every word deleted
    assert 0.2 < s["vuv_error"].value < 1.0  # = the reference's voiced fraction
    assert s["stoi"].value < 0.1
    r = score_all(silence, silence, judges)
    assert all(math.isnan(r[n].value) for n in ("stoi", "estoi", "pesq", "spk_sim", "f0_rmse", "emo_sim"))
    assert r["vuv_error"].value == 0.0


def test_speaker_similarity_separates_voices(audio, judges) -> None:
    same_voice = score_all(audio["long_a"], audio["long_b"], judges, LONG_A)["spk_sim"].value
    other_voice = score_all(audio["long_a"], audio["long_a_f4"], judges, LONG_A)["spk_sim"].value
    assert same_voice > other_voice + 0.05, (same_voice, other_voice)


def test_pitch_shift_gives_its_f0_rmse(audio, judges) -> None:
    base = world_pitch_shift(audio["grid"], 0.0)
    pair = lambda y: ClipPair("c", Signal(base, SR), Signal(y, SR), GRID_TEXT)  # noqa: E731
    up = pair(world_pitch_shift(audio["grid"], 300.0))
    rmse = METRICS["f0_rmse"].fn(up, judges).value
    assert 270.0 < rmse < 420.0  # the shift, plus a few frames where harvest tracks differently
    assert METRICS["vuv_error"].fn(up, judges).value < 0.05
    small = METRICS["emo_sim"].fn(pair(world_pitch_shift(audio["grid"], 100.0)), judges).value
    large = METRICS["emo_sim"].fn(pair(world_pitch_shift(audio["grid"], 600.0)), judges).value
    assert 1.0 > small > large > 0.0


def test_word_error_rate_and_grammar() -> None:
    assert word_error_rate("a b c", ["a", "x", "c", "d"]) == pytest.approx(2 / 3)
    assert word_error_rate("Bin BLUE, at f!", ["bin", "blue", "at", "f"]) == 0.0
    assert word_error_rate("bin blue", []) == 1.0
    assert math.isnan(word_error_rate("", ["bin"]))
    jsgf = grid_jsgf()
    assert all(f" {w} " in jsgf.replace(";", " ;").replace("=", "= ") for w in VOCABULARY)


def test_open_vocabulary_asr_on_real_speech(judges) -> None:
    import soundfile as sf

    pysptk = pytest.importorskip("pysptk")
    wav, sr = sf.read(
        os.path.join(os.path.dirname(pysptk.__file__), "example_audio_data", "arctic_a0007.wav")
    )
    hyp = judges.recognizer("open").transcribe(wav, sr)
    assert word_error_rate("And you always want to see it in the superlative degree.", hyp) <= 0.1
    assert isinstance(judges.recognizer("open"), Recognizer) and judges.recognizer(
        "open"
    ) is judges.recognizer("open")


def test_a_clip_is_recognised_the_same_whatever_was_decoded_before(audio) -> None:
    recognizer = Recognizer("grammar")  # a fresh decoder: nothing decoded yet
    first = recognizer.transcribe(audio["grid"], SR)
    state = recognizer.decoder.get_cmn(False)  # the cepstral mean the clip left behind
    for other in ("long_a", "long_a_f4", "long_b"):
        recognizer.transcribe(audio[other], SR)
    assert recognizer.decoder.get_cmn(False) != state  # other clips move the mean ...
    assert recognizer.transcribe(audio["grid"], SR) == first  # ... but not this clip's words
    assert recognizer.decoder.get_cmn(False) == state
    assert word_error_rate(GRID_TEXT, first) == 0.0


def test_nearest_prosody_classifier_leaves_one_out() -> None:
    refs = {
        "a": (np.array([0.0, 0.0]), "sad", None),
        "b": (np.array([0.1, 0.0]), "sad", None),
        "c": (np.array([5.0, 5.0]), "happy", None),
        "d": (np.array([5.1, 5.0]), "happy", None),
    }
    clf = NearestProsodyClassifier(refs)
    assert clf.predict(np.array([0.0, 0.0]), clip_id="a") == "sad"  # b, not a itself
    assert clf.score("c", np.array([5.0, 5.0]), "happy").value == 1.0
    assert clf.score("c", np.array([0.0, 0.1]), "happy").value == 0.0
    assert math.isnan(clf.score("c", None, "happy").value)
    assert math.isnan(clf.score("c", np.zeros(2), None).value)


def test_nearest_prosody_classifier_normalises_speakers() -> None:
    """A high voice's sad clip sits where a low voice's happy clips are, in raw prosody."""
    values = {"low": (-1.0, 1.0, -0.98, 1.02), "high": (1.1, 3.1, 1.12, 3.12)}
    emotions = ("sad", "happy", "sad", "happy")
    refs = {
        f"{spk}{k}": (np.array([v]), emotions[k], spk)
        for spk, vals in values.items()
        for k, v in enumerate(vals)
    }
    output = np.array([1.0])  # a system's output for clip high0 (sad), slightly off its reference
    assert NearestProsodyClassifier(refs).predict(output, "high0", "high") == "sad"
    unlabelled = {i: (d, e, None) for i, (d, e, _) in refs.items()}
    assert NearestProsodyClassifier(unlabelled).predict(output, "high0") == "happy"  # raw: low1 at 1.0
