"""Units without a transcript: the pocketsphinx phone recogniser, ``prepare`` of a clip with neither
phonemes nor text, and the recognised-vs-aligned measurement (``imagintalk.eval.unit_recognition``)."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import soundfile as sf

from imagintalk.codec.train import train_world_rvq
from imagintalk.codec.world_rvq import WorldRVQCodec
from imagintalk.data.extract import ClipExtractor
from imagintalk.data.feature_file import read_features
from imagintalk.data.prepare import prepare_dataset
from imagintalk.errors import InputError
from imagintalk.eval import unit_recognition
from imagintalk.eval.unit_recognition import collapse, compare, mean_se
from imagintalk.settings import load_config
from imagintalk.synth.corpus import generate_corpus
from imagintalk.units import align_transcript, frame_units, units_from_manifest_entry
from imagintalk.units.recognise import PhoneRecognizer

ARCTIC_TEXT = "and you always want to see it in the superlative degree"


def arctic_wav() -> tuple[np.ndarray, int]:
    """CMU ARCTIC a0007 (real read speech, 16 kHz, 4 s) as pysptk ships it."""
    pysptk = pytest.importorskip("pysptk")
    path = os.path.join(os.path.dirname(pysptk.__file__), "example_audio_data", "arctic_a0007.wav")
    wav, sr = sf.read(path)
    return wav, sr


@pytest.fixture(scope="module")
def recogniser() -> PhoneRecognizer:
    return PhoneRecognizer()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> dict:
    """Two debug SynthTalk clips (one as shipped, one copied without 'phonemes' and 'text'),
    prepared with a freshly trained debug codec."""
    root = tmp_path_factory.mktemp("recognised")
    cfg = load_config("debug")
    data_dir = root / "data"
    generate_corpus(data_dir, 1, seed=0, split="train", cfg=cfg.synth, workers=1, progress=False)
    manifest = data_dir / "manifest.jsonl"
    shipped = json.loads(manifest.read_text().splitlines()[0])
    bare = {k: v for k, v in shipped.items() if k not in ("phonemes", "words")}
    bare.update(id="bare", text="")
    manifest.write_text("".join(json.dumps(e) + "\n" for e in (shipped, bare)))
    cfg.codec.train_cache = str(root / "codec_corpus")
    codec_dir = root / "codec"
    train_world_rvq(cfg.codec, seed=0, progress=False).save(codec_dir)
    cfg.codec.path = str(codec_dir)
    report = prepare_dataset(data_dir, cfg, workers=1, progress=False)
    return {"data": data_dir, "cfg": cfg, "codec": codec_dir, "report": report, "shipped": shipped}


def test_recognised_phones_follow_real_speech(recogniser) -> None:
    """On real read speech the recognised units are close to the transcript's alignment, and the
    same clip gets the same phones whatever the decoder heard before."""
    wav, sr = arctic_wav()
    num = int(round(len(wav) / sr * 50))
    first = recogniser.segments(wav, sr)
    assert all(a["end"] == pytest.approx(b["start"], abs=1e-9) for a, b in zip(first, first[1:]))
    assert first[0]["start"] == 0.0 and first[-1]["end"] == pytest.approx(len(wav) / sr, abs=0.02)
    recognised = frame_units(first, num, 50, source="arpabet")
    aligned = frame_units(align_transcript(wav, sr, ARCTIC_TEXT), num, 50, source="arpabet")
    scores = compare(recognised, aligned)
    assert scores["unit_error"] < 0.55 and scores["speech_agreement"] > 0.6  # measured 0.41, 0.70
    noise = np.random.default_rng(0).standard_normal(sr).astype(np.float64) * 0.3
    recogniser.segments(noise, sr)  # something else in between
    assert recogniser.segments(wav, sr) == first
    with pytest.raises(InputError, match="too short"):
        recogniser.segments(wav[: sr // 20], sr)


def test_a_clip_without_phonemes_or_text_prepares_with_recognised_units(prepared) -> None:
    report, data = prepared["report"], prepared["data"]
    assert (report.prepared, report.failed) == (2, 0)
    bare = read_features(data / "features" / "bare.npz")
    shipped = read_features(data / "features" / f"{prepared['shipped']['id']}.npz")
    assert bare["unit_source"] == "recognised" and shipped["unit_source"] == "phonemes"
    assert bare["units"].shape == (2 * bare["num_frames"],) and bare["units"].dtype == np.int16
    assert bare["units"].shape == shipped["units"].shape
    truth = units_from_manifest_entry(prepared["shipped"], 50)
    # the recogniser hears speech where espeak-ng spoke and silence where it did not
    assert np.mean((bare["units"] > 0) == (truth > 0)) > 0.7  # measured 0.79
    assert np.mean(bare["units"] == truth) > 0.4  # and many of its phones (measured 0.58)


def test_refuse_setting_and_bad_value(prepared) -> None:
    cfg = load_config("debug", overrides=["units.without_transcript=refuse"])
    codec = WorldRVQCodec.load(prepared["codec"])
    extractor = ClipExtractor(cfg, codec)
    wav = np.zeros(16000, dtype=np.float32)
    with pytest.raises(InputError, match=r"neither 'phonemes' nor 'text'.*without_transcript = refuse"):
        extractor.units({"id": "x", "text": " "}, wav, 16000, 100)
    cfg.units.without_transcript = "guess"
    with pytest.raises(InputError, match="units.without_transcript must be one of recognise, refuse"):
        ClipExtractor(cfg, codec)


def test_collapse_compare_and_mean_se() -> None:
    assert collapse([0, 0, 3, 3, 0, 3, 5, 5, 0]) == [3, 3, 5]  # a pause splits a repeated unit
    ref = np.array([0, 3, 3, 5, 5, 0])
    hyp = np.array([0, 3, 4, 4, 5, 5])
    scores = compare(hyp, ref)
    assert scores["frame_agreement"] == pytest.approx(3 / 6)
    assert scores["speech_agreement"] == pytest.approx(2 / 4)
    assert scores["unit_error"] == pytest.approx(1 / 2)  # [3, 5] -> [3, 4, 5]: one insertion
    silent = compare(np.zeros(4, int), np.zeros(4, int))
    assert silent["frame_agreement"] == 1.0 and math.isnan(silent["unit_error"])
    stats = mean_se([1.0, 2.0, 3.0, float("nan")])
    assert stats == {"mean": 2.0, "se": pytest.approx(1 / math.sqrt(3)), "n": 3}
    with pytest.raises(ValueError, match="differ in length"):
        compare(np.zeros(3, int), np.zeros(4, int))


def test_measurement_command_on_synthtalk(prepared, tmp_path, capsys) -> None:
    data = prepared["data"]
    out = tmp_path / "units.json"
    assert unit_recognition.main([str(data), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| recognised vs aligned |" in printed and "| aligned vs espeak |" in printed
    results = json.loads(out.read_text())
    assert results["num_clips"] == 1  # the bare clip has no transcript: not measurable
    pair = results["summary"]["aligned_vs_espeak"]
    assert pair["frame_agreement"]["n"] == 1 and pair["frame_agreement"]["mean"] > 0.5
    recognised = results["summary"]["recognised_vs_espeak"]["speech_agreement"]["mean"]
    assert 0.0 < recognised < 1.0
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "manifest.jsonl").write_text(json.dumps({"id": "a", "audio": "a.wav", "text": ""}) + "\n")
    assert unit_recognition.main([str(bare)]) == 2
    assert "error: no clip of" in capsys.readouterr().err and not (bare / "units.json").exists()
    assert unit_recognition.main([str(data), "--limit", "0"]) == 2
