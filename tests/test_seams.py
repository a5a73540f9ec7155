"""The seam measure (eval.seams): it reads ~0 on smooth sound, flags planted clicks, steps and gaps,
and the tool runs end to end on a debug model with a small window so that there are joins."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf
from test_pipeline import make_clips, make_debug_model

from imagintalk.eval import seams
from imagintalk.eval.seams import MEASURES, SeamMeter, control_positions, summarize
from imagintalk.pipeline.windows import assemble

SR = 16000


def voiced(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """A steady vowel-like sound: harmonics of 100 Hz (whole periods in 20 ms) and a little noise."""
    t = np.arange(int(seconds * SR)) / SR
    wav = sum(0.08 / k * np.sin(2 * np.pi * 100 * k * t + k) for k in range(1, 12))
    return (wav + 0.002 * np.random.default_rng(seed).standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def meter() -> SeamMeter:
    return SeamMeter(SR)


def test_smooth_sound_reads_no_seam(meter):
    m = meter.measure(voiced(), SR)
    assert m["level_20ms"] < 0.5 and m["level_200ms"] < 0.5
    assert m["spectrum_32ms"] < 4 and m["spectrum_200ms"] < 2  # the noise bands fluctuate a little
    assert m["click"] < 18 and m["dip"] < 0.5  # voiced sound has peaky sample steps


def test_planted_seams_are_flagged(meter):
    wav, pos = voiced(), SR
    step = wav.copy()
    step[pos:] *= 0.25  # 12 dB quieter from the join on
    m = meter.measure(step, pos)
    assert m["level_20ms"] == pytest.approx(12.04, abs=0.3)
    assert m["level_200ms"] == pytest.approx(12.04, abs=0.3)
    assert m["spectrum_32ms"] > 5

    click = wav.copy()
    click[pos] += 0.5
    assert meter.measure(click, pos)["click"] > 25

    gap = wav.copy()
    gap[pos - 80 : pos + 80] = 0  # 10 ms of silence between two halves of one sound
    assert meter.measure(gap, pos)["dip"] > 20

    other = wav.copy()
    other[pos:] = voiced(seed=1)[pos:] * 0  # speech stops dead at the join
    other[pos:] += np.sin(2 * np.pi * 3000 * np.arange(len(wav) - pos) / SR).astype(np.float32) * 0.05
    assert meter.measure(other, pos)["spectrum_32ms"] > 10

    silence = np.zeros_like(wav)
    assert all(v == 0 for v in meter.measure(silence, pos).values())
    dc = silence.copy()
    dc[pos:] = 0.05  # a step out of silence: a click
    assert meter.measure(dc, pos)["click"] > 25
    # a span that leaves the signal is not measured
    assert math.isnan(meter.measure(wav, 100)["level_200ms"])


def test_assemble_of_one_continuous_sound_reads_no_seam(meter):
    """Two windows cut from one continuous sound and joined again: the join is judged as within."""
    wav = voiced(3.0)
    pos = 24 * 640  # a frame boundary
    joined = assemble([(0, wav[:pos]), (pos, wav[pos:])], len(wav), SR)
    m = meter.measure(joined, pos)
    assert m["level_20ms"] < 1.0 and m["click"] < 12
    assert m["dip"] < 3.0  # the cross-fade at the join must not leave a gap
    outside = np.r_[0 : pos - 80, pos + 80 : len(wav)]  # beyond the 2 x 5 ms: the pieces' own samples
    assert np.array_equal(joined[outside], wav[outside])


def test_assemble_of_two_different_sounds_has_no_click(meter):
    """Joined end to end, two unrelated sounds click; assemble's cross-fade removes the step."""
    wav, pos = voiced(3.0), 24 * 640
    other = 0.8 * np.roll(voiced(3.0, seed=1), 37)
    spliced = np.concatenate([wav[:pos], other[pos:]])
    assert meter.measure(spliced, pos)["click"] > 25
    joined = assemble([(0, wav[:pos]), (pos, other[pos:])], len(wav), SR)
    m = meter.measure(joined, pos)
    assert m["click"] < 18 and m["dip"] < 3.0


def test_controls_keep_away_from_joins():
    rng = np.random.default_rng(0)
    positions = control_positions(10 * SR, [3 * SR, 7 * SR], SR // 5, 50, rng)
    assert len(positions) == 100
    p = np.asarray(positions)
    assert (p >= SR // 5).all() and (p < 10 * SR - SR // 5).all()
    assert (np.abs(p[:, None] - np.array([3 * SR, 7 * SR])[None]) >= SR // 5).all()


def points(join_values, within_values, truth=0.0):
    def point(group, v):
        generated, ground_truth = dict.fromkeys(MEASURES, v), dict.fromkeys(MEASURES, truth)
        return {"group": group, "generated": generated, "ground_truth": ground_truth}

    return [point("joins", v) for v in join_values] + [point("within", v) for v in within_values]


def test_summary_verdict_can_go_either_way():
    rng = np.random.default_rng(0)
    same = summarize(points(rng.normal(2, 1, 40), rng.normal(2, 1, 200)))
    assert all(same[m]["verdict"] == "not worse at the joins" for m in MEASURES)
    worse = summarize(points(rng.normal(6, 1, 40), rng.normal(2, 1, 200)))
    assert all(worse[m]["verdict"] == "worse at the joins" for m in MEASURES)
    d = worse["click"]
    assert d["join_minus_within"]["mean"] == pytest.approx(4, abs=0.6)
    assert d["joins_generated"]["n"] == 40 and d["within_ground_truth"]["n"] == 200
    assert d["joins_generated"]["median"] <= d["joins_generated"]["p90"]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("seams")
    model = make_debug_model(root)
    make_clips(root, count=3)
    return {"root": root, "model": model, "data": root / "synth"}


def test_tool_end_to_end(env, capsys):
    out = env["root"] / "seams.json"
    wavs = env["root"] / "wavs"
    argv = [str(env["data"]), "--model", str(env["model"]), "--mix-speakers", "--max-window-s", "2",
            "--steps", "2", "--controls", "3", "--json", str(out), "--wavs", str(wavs)]  # fmt: skip
    assert seams.main(argv) == 0
    printed = capsys.readouterr().out
    assert "| level_20ms |" in printed and "| dip |" in printed
    report = json.loads(out.read_text())
    (item,) = report["inputs"]
    assert len(item["clips"]) == 3 and item["seconds"] > 4
    joins = [p for p in item["points"] if p["group"] == "joins"]
    within = [p for p in item["points"] if p["group"] == "within"]
    assert len(joins) >= 1 and len(within) == 3 * len(joins)
    starts = {w["start_frame"] * 640 for w in item["windows"][1:]}
    assert {p["sample"] for p in joins} <= starts
    assert all(math.isfinite(p["generated"]["level_20ms"]) for p in joins)
    assert set(report["summary"]) == set(MEASURES)
    generated, rate = sf.read(wavs / f"{item['name']}_generated.wav")
    truth, _ = sf.read(wavs / f"{item['name']}_truth.wav")
    assert rate == SR and len(generated) == len(truth) == round(item["seconds"] * SR)


def test_tool_errors_are_one_line(env, tmp_path, capsys):
    assert seams.main([str(tmp_path), "--model", str(env["model"])]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    # one clip of ~2 s never reaches the window limit: no join to measure, said before any work
    argv = [str(env["data"]), "--model", str(env["model"]), "--max-window-s", "30"]
    assert seams.main(argv) == 2
    assert "no input" in capsys.readouterr().err
