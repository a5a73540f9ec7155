"""``imagintalk bench``: a quick run on a debug model writes a sane report; bad options are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_pipeline import make_debug_model

from imagintalk.cli import main
from imagintalk.pipeline.result import STAGES


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return make_debug_model(tmp_path_factory.mktemp("bench"))


def test_quick_bench_writes_one_sane_result_per_step_count(model, tmp_path, capsys) -> None:
    out = tmp_path / "reports" / "bench.json"
    command = ["bench", "--quick", "--model", str(model), "--steps", "2,1", "--sampler", "confidence"]
    assert main([*command, "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    machine = report["machine"]
    assert machine["cores"] >= 1 and machine["threads"] >= 1 and machine["torch"]
    assert machine["peak_gflops_fp32"] > 0 and machine["peak_gflops_bf16"] > 0
    results = report["results"]
    assert [(r["backend"], r["sampler"], r["steps"]) for r in results] == [
        ("torch", "confidence", 2),
        ("torch", "confidence", 1),
    ]
    for r in results:
        assert r["rtf"] > 0 and r["latency_s"] > 0 and r["peak_rss_mb"] > 0
        assert r["dit_gflops"] > 0 and r["peak_gflops"] == machine["peak_gflops_fp32"]
        assert r["utterance_s"] == pytest.approx(3.0)
        assert 2.5 <= r["live_utterance_s"] <= 3.0  # the latency is that of one utterance over the clip
        assert set(r["stage_s"]) == set(r["live_stage_s"]) == {*STAGES, "total"}
        assert r["latency_s"] > r["live_stage_s"]["sampling"] > 0  # the latency includes the live sampling
        assert r["stage_s"]["total"] >= r["stage_s"]["sampling"] > 0
        assert r["rtf"] == pytest.approx(r["stage_s"]["total"] / r["utterance_s"])
        assert 0 < r["rtf_best"] <= r["rtf"] and 0 < r["latency_s_best"] <= r["latency_s"]
        assert r["dit_gflops_best"] >= r["dit_gflops"]
        assert 0 < r["load_peak_rss_mb"] <= r["peak_rss_mb"]
        # the sampler calls the DiT once per step, plus at most one final denoising call
        assert r["steps"] <= r["dit_forward_calls"] <= r["steps"] + 1
        assert list(r["peak_rss_mb_by_utterance_s"]) == ["3"]
        assert r["peak_rss_mb"] > 100  # a process that loaded torch and a model: far above a bare Python
    # the DiT's work is the same per call whatever the step count: its FLOPs do not depend on steps
    assert results[0]["dit_gflop_per_call"] == pytest.approx(results[1]["dit_gflop_per_call"])
    printed = capsys.readouterr().out
    assert (
        "| backend | sampler | steps | RTF (best) |" in printed
        and "| torch | confidence | 2 |" in printed
        and "| torch | confidence | 1 |" in printed
    )
    assert not list(out.parent.glob("*.partial"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--backend", "tensorrt"], "unknown backend 'tensorrt'"),
        (["--backend", "torch,"], "--backend takes a comma-separated list"),
        (["--steps", "0"], "--steps takes whole numbers >= 1"),
        (["--steps", "8,x"], "--steps takes whole numbers >= 1"),
        (["--repeats", "0"], "--repeats must be at least 1"),
        (["--sampler", "heun"], "unknown sampler 'heun'"),
        (["--json", "{tmp}/report.txt"], "--json names a .json file"),
        (["--json", "{tmp}/file/report.json"], "is a file, not a folder"),
    ],
)
def test_bad_options_are_refused_in_one_line_before_the_model_loads(argv, message, tmp_path, capsys) -> None:
    (tmp_path / "file").write_text("not a folder")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    # a model directory that does not exist: the option's own error comes first, so nothing loaded
    code = main(["bench", "--quick", "--model", str(tmp_path / "no_model"), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and message in err and "\n" not in err
    assert not (tmp_path / "report.txt").exists()


def test_the_onnx_backend_without_an_export_names_the_export_command(model, capsys) -> None:
    assert main(["bench", "--quick", "--model", str(model), "--backend", "torch,onnx"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith(f"error: no ONNX export at {model / 'onnx'}: run imagintalk export")
        and "\n" not in err
    )


def test_a_missing_model_is_refused_in_one_line(tmp_path, capsys) -> None:
    assert main(["bench", "--quick", "--model", str(tmp_path / "no_model")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: no model at {tmp_path / 'no_model'} (config.json missing)"
