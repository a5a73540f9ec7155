"""The steps curve (eval/steps_curve.py): the grid spoken on a debug model, its table / JSON, the
reference paired with itself, errors, and the --choose rule on hand-made rows."""

from __future__ import annotations

import json

import pytest
from test_pipeline import make_clips, make_debug_model

from imagintalk.errors import InputError
from imagintalk.eval import steps_curve


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("steps_curve")
    model_dir = make_debug_model(root)
    make_clips(root, 2)
    return {"root": root, "model": model_dir, "data": root / "synth"}


def test_the_grid_is_spoken_scored_and_paired_with_euler_64(env, tmp_path, capsys) -> None:
    out, path = tmp_path / "curve", tmp_path / "curve.json"
    argv = [str(env["data"]), "--model", str(env["model"]), "--samplers", "confidence", "euler"]
    argv += ["--steps", "4", "64", "--limit", "2", "--out", str(out), "--json", str(path), "--choose"]
    assert steps_curve.main(argv) == 0
    printed = capsys.readouterr().out
    curve = json.loads(path.read_text())
    names = [row["setting"] for row in curve["rows"]]
    assert names == ["euler-64", "confidence-4", "confidence-64", "euler-4"]  # reference first, no repeat
    assert curve["reference"] == "euler-64" and curve["num_clips"] == 2 and curve["skipped"] == {}
    for row in curve["rows"]:
        assert row["num_clips"] == 2
        assert 1 <= row["network_calls"] <= row["steps"] + 1  # a final denoising call at most
        assert row["sampling_s"] > 0
        assert row["wer_grammar"]["paired"]["num_paired"] == 2  # every clip scored in both
        assert len(list((out / row["setting"]).glob("*.wav"))) == 2
        assert f"| {row['sampler']} | {row['steps']} |" in printed
        assert set(curve["per_clip"][row["setting"]]) == {c for c in curve["per_clip"]["euler-64"]}
    reference = curve["rows"][0]
    for metric in steps_curve.METRICS:
        paired = reference[metric]["paired"]
        if paired["num_paired"] > 1:
            assert paired["mean"] == 0.0 and paired["se"] == 0.0, metric
    assert curve["rows"][3]["network_calls"] < reference["network_calls"]  # 4 steps call less than 64
    assert "Δ WER vs euler-64" in printed
    assert curve["choice"]["setting"] in names and f"chosen: {curve['choice']['setting']}" in printed


def test_errors_are_one_line(env, tmp_path, capsys) -> None:
    model = ["--model", str(env["model"]), "--out", str(tmp_path / "x")]
    assert steps_curve.main([str(env["data"]), *model, "--samplers", "nope"]) == 1
    assert capsys.readouterr().out.startswith("error: unknown sampler 'nope'")
    assert steps_curve.main([str(tmp_path / "missing"), *model]) == 1
    assert capsys.readouterr().out.startswith("error: no data directory")
    assert steps_curve.main([str(env["data"]), *model, "--reference", "euler"]) == 1
    assert "SAMPLER-STEPS" in capsys.readouterr().out
    assert steps_curve.main([str(env["data"]), *model, "--steps", "0"]) == 1
    assert not (tmp_path / "x").exists()  # refused before anything was spoken


def test_grid_adds_the_reference_once() -> None:
    assert steps_curve.grid(["analytic"], [8], "euler-64") == [("euler", 64), ("analytic", 8)]
    assert steps_curve.grid(["euler"], [8, 64], "euler-64") == [("euler", 64), ("euler", 8)]
    with pytest.raises(InputError, match="unknown sampler"):
        steps_curve.grid(["euler"], [8], "nope-64")


def row(setting: str, calls: float, seconds: float, wer: tuple, spk=(0.0, 0.01), stoi=(0.0, 0.01)) -> dict:
    """A hand-made summary row: paired (mean, se) per metric against the reference."""
    sampler, steps = setting.rsplit("-", 1)

    def cell(mean_se: tuple[float, float], level: float) -> dict:
        paired = {"mean": mean_se[0], "se": mean_se[1], "num_paired": 40}
        return {"mean": level + mean_se[0], "paired": paired}

    return {
        "setting": setting, "sampler": sampler, "steps": int(steps), "network_calls": calls,
        "sampling_s": seconds, "wer_grammar": cell(wer, 0.2), "stoi": cell(stoi, 0.7),
        "spk_sim": cell(spk, 0.8),
    }  # fmt: skip


def test_choose_takes_the_cheapest_setting_not_worse_than_the_reference() -> None:
    rows = [
        row("euler-64", 64, 2.4, (0.0, 0.0)),
        row("euler-2", 2, 0.1, (0.01, 0.02), spk=(-0.05, 0.01)),  # speaker similarity worse
        row("euler-4", 4, 0.2, (0.05, 0.04)),  # within 2 s.e., but beyond the 0.02 margin
        row("euler-8", 8, 0.3, (0.10, 0.02)),  # worse beyond noise
        row("confidence-16", 16, 0.7, (-0.01, 0.02)),
        row("analytic-16", 16, 0.6, (0.01, 0.02)),  # as many calls, less time: wins the tie
        row("analytic-32", 32, 1.1, (-0.03, 0.02)),
    ]
    assert steps_curve.choose(rows)["setting"] == "analytic-16"
    assert not steps_curve.acceptable(rows[3]) and steps_curve.acceptable(rows[4])
    assert steps_curve.choose(rows, margin=0.06)["setting"] == "euler-4"  # a looser margin
    assert steps_curve.choose(rows[:4])["setting"] == "euler-64"  # nothing cheaper qualifies
    rows[5]["stoi"]["paired"]["se"] = None  # an undefined difference is never acceptable
    assert steps_curve.choose(rows)["setting"] == "confidence-16"
    with pytest.raises(InputError, match="reference"):
        steps_curve.choose(rows[1:4])
