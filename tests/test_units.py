"""Semantic units: inventory, espeak-ng map, frame labelling, embeddings, alignment, CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from imagintalk.errors import InputError
from imagintalk.eval.codec_quality import arctic_a0007_path
from imagintalk.synth.grid import VOCABULARY
from imagintalk.units import (
    UNITS,
    UNKNOWN_MNEMONICS,
    align_transcript,
    espeak_to_unit,
    frame_units,
    run_length,
    unit_embeddings,
    unit_index,
    units_from_manifest_entry,
)
from imagintalk.units.espeak_map import ESPEAK_TO_ARPABET

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng not installed")


def arctic_wav() -> tuple[np.ndarray, int]:
    import soundfile as sf

    pysptk = pytest.importorskip("pysptk")
    wav, sr = sf.read(
        os.path.join(os.path.dirname(pysptk.__file__), "example_audio_data", "arctic_a0007.wav")
    )
    return wav, sr


def cmudict() -> dict[str, list[list[str]]]:
    from pocketsphinx import get_model_path

    prons: dict[str, list[list[str]]] = {}
    for line in Path(get_model_path("en-us/cmudict-en-us.dict")).read_text().splitlines():
        word, *phones = line.split()
        prons.setdefault(word.split("(")[0], []).append([p.lower() for p in phones])
    return prons


def espeak_mnemonics(words: list[str]) -> list[list[str]]:
    out = subprocess.run(
        [ESPEAK, "-q", "-v", "en-us", "-x", "--sep= "], input="\n".join(words), capture_output=True, text=True
    ).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


def test_inventory() -> None:
    assert len(UNITS) == 40 and UNITS[0] == "sil" and len(set(UNITS)) == 40
    assert unit_index("AH0") == unit_index("ah") == UNITS.index("ah")
    assert unit_index("SIL") == unit_index("+NSN+") == 0
    with pytest.raises(InputError):
        unit_index("xx")


def test_espeak_table_targets_are_units() -> None:
    assert all(u is None or u in UNITS for u in ESPEAK_TO_ARPABET.values())
    assert espeak_to_unit("'aI") == "ay" and espeak_to_unit("dZ") == "jh"  # diphthong / affricate: one unit
    assert espeak_to_unit("_:") == "sil" and espeak_to_unit("||") == "sil"
    assert espeak_to_unit(";") is None and espeak_to_unit("%%") is None  # modifier, bare stress mark


def test_unknown_mnemonic_falls_back_and_is_counted() -> None:
    before = UNKNOWN_MNEMONICS["k%%"]
    assert espeak_to_unit("k%%") == "k"  # first character
    assert espeak_to_unit("@@@7") in UNITS
    assert espeak_to_unit("€") == "ah"  # the neutral-vowel fallback
    assert UNKNOWN_MNEMONICS["k%%"] == before + 1


@needs_espeak
def test_espeak_vocabulary_maps_like_cmudict() -> None:
    """GRID words + a spread of CMUdict words: every mnemonic known; GRID words spelled like CMUdict."""
    prons = cmudict()
    sample = sorted(prons)[:: max(1, len(prons) // 400)]
    UNKNOWN_MNEMONICS.clear()
    words = list(VOCABULARY) + [w for w in sample if w.isalpha()]
    for tokens in espeak_mnemonics(words):
        assert all(espeak_to_unit(t) in UNITS or espeak_to_unit(t) is None for t in tokens)
    assert not UNKNOWN_MNEMONICS, dict(UNKNOWN_MNEMONICS)
    agree = 0
    for word, tokens in zip(VOCABULARY, espeak_mnemonics(list(VOCABULARY))):
        units = [u for u in map(espeak_to_unit, tokens) if u not in (None, "sil")]
        agree += any(units == [p.rstrip("012") for p in pron] for pron in prons[word])
    assert agree >= 0.85 * len(VOCABULARY)  # "four" (f ao vs f ao r) and "r" (aa vs aa r) differ


def test_frame_units_labels_frame_centres() -> None:
    segments = [
        {"phoneme": "_", "start": 0.0, "end": 0.04},
        {"phoneme": "b", "start": 0.04, "end": 0.08},
        {"phoneme": "'I", "start": 0.08, "end": 0.14},
        {"phoneme": ";", "start": 0.14, "end": 0.16},  # absorbed by the previous unit
        {"phoneme": "n", "start": 0.2, "end": 0.24},  # gap 0.16..0.2 -> sil
    ]
    units = frame_units(segments, 15, frame_rate=50)
    names = [UNITS[u] for u in units]
    assert units.dtype == np.int64 and units.shape == (15,)
    assert names[:8] == ["sil", "sil", "b", "b", "ih", "ih", "ih", "ih"]  # centres at 0.01, 0.03, ...
    assert names[8:] == ["sil", "sil", "n", "n", "sil", "sil", "sil"]  # frames past the end are sil
    assert frame_units([], 4).tolist() == [0, 0, 0, 0]
    arpabet = frame_units([{"phoneme": "AH1", "start": 0.0, "end": 0.04}], 3, source="arpabet")
    assert [UNITS[u] for u in arpabet] == ["ah", "ah", "sil"]
    with pytest.raises(InputError):
        frame_units([{"phoneme": "b"}], 3)


def test_units_from_manifest_entry_and_run_length() -> None:
    entry = {
        "id": "x",
        "fps": 25,
        "num_frames": 5,
        "phonemes": [
            {"phoneme": "_", "start": 0.0, "end": 0.04},
            {"phoneme": "aU", "start": 0.04, "end": 0.2},
        ],
    }
    units = units_from_manifest_entry(entry, 50)
    assert len(units) == 10  # 2 units per video frame
    assert run_length(units) == [("sil", 0, 2), ("aw", 2, 8)]
    assert run_length([]) == []
    with pytest.raises(InputError):
        units_from_manifest_entry({"id": "y"}, 50)


def test_unit_embeddings_follow_phonology() -> None:
    table = unit_embeddings(32, seed=0)
    assert table.shape == (40, 32) and table.dtype == np.float32
    assert np.allclose(np.linalg.norm(table, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(table, unit_embeddings(32, seed=0))
    assert not np.allclose(table, unit_embeddings(32, seed=1))
    sim = table @ table.T
    p, b, m, iy, ih, s = (unit_index(n) for n in ("p", "b", "m", "iy", "ih", "s"))
    assert sim[p, b] > sim[p, iy] and sim[p, m] > sim[p, iy] and sim[iy, ih] > sim[iy, s]
    np.fill_diagonal(sim, -1.0)
    assert sim.max() < 0.9  # every unit stays its own nearest codeword at tau = 0.9
    small = unit_embeddings(16, seed=0)
    assert small.shape == (40, 16) and (small @ small.T)[p, b] > (small @ small.T)[p, iy]


def test_align_transcript_on_real_speech() -> None:
    wav, sr = arctic_wav()
    segments = align_transcript(wav, sr, "And you always want to see it in the superlative degree.")
    words = [s["word"] for s in segments if s["phoneme"] != "SIL"]
    assert list(dict.fromkeys(words)) == "and you always want to see it in the superlative degree".split()
    assert all(a["end"] == pytest.approx(b["start"]) for a, b in zip(segments, segments[1:]))
    units = frame_units(segments, int(len(wav) / sr * 50), 50, source="arpabet")
    runs = [name for name, _, _ in run_length(units)]
    assert runs[0] == "sil" and runs[1] == "ae" and runs[-1] == "sil"
    assert {"p", "er", "l", "v", "d", "g", "r", "iy"} <= set(runs)  # "superlative degree"
    with pytest.raises(InputError):
        align_transcript(wav, sr, "  ,.  ")


@needs_espeak
def test_a_clip_aligns_the_same_whatever_was_aligned_before(tmp_path: Path) -> None:
    from imagintalk.units.align import _aligner

    wav, sr = arctic_wav()
    text = "And you always want to see it in the superlative degree."
    first = align_transcript(wav, sr, text)
    decoder, _ = _aligner(0)
    state = decoder.get_cmn(False)  # the cepstral mean this clip left behind
    other = tmp_path / "other.wav"
    subprocess.run([ESPEAK, "-v", "en-us+f4", "-w", str(other), "bin blue at f two now"], check=True)
    other_wav, other_sr = sf.read(other)
    align_transcript(other_wav, other_sr, "bin blue at f two now")
    assert decoder.get_cmn(False) != state  # another clip moves the mean ...
    assert align_transcript(wav, sr, text) == first  # ... but not this clip's alignment
    assert decoder.get_cmn(False) == state


def test_units_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from imagintalk.cli import main

    entry = {
        "id": "test_00001",
        "audio": "audio/test_00001.wav",
        "text": "bin",
        "fps": 25,
        "num_frames": 4,
        "phonemes": [
            {"phoneme": "_", "start": 0.0, "end": 0.04},
            {"phoneme": "b", "start": 0.04, "end": 0.08},
            {"phoneme": "I", "start": 0.08, "end": 0.12},
            {"phoneme": "n", "start": 0.12, "end": 0.16},
        ],
    }
    (tmp_path / "manifest.jsonl").write_text(json.dumps(entry) + "\n")
    assert main(["units", str(tmp_path), "--id", "test_00001"]) == 0
    out = capsys.readouterr().out
    assert "b    (2 frames)" in out and "ih" in out and "0.04-  0.08 s" in out
    assert main(["units", str(tmp_path), "--id", "nope"]) == 2
    assert "no clip 'nope'" in capsys.readouterr().err
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav")
    assert main(["units", str(bad), "--text", "hello"]) == 2
    assert "cannot read audio" in capsys.readouterr().err
    # a wav without its transcript: the phones are recognised (pocketsphinx allphone)
    assert main(["units", str(arctic_a0007_path())]) == 0
    out = capsys.readouterr().out
    assert "recognised phones" in out and out.count("frames)") > 10
