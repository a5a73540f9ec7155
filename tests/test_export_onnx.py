"""ONNX export + onnxruntime backend on a debug model: per-network parity at two (batch, time) shapes,
``imagintalk export`` errors, and ``speak --backend onnx`` end to end against torch (same seed).

The debug model's networks are "woken" (seeded values in their zero-initialised adaLN / output
tensors): untrained, the DiT's heads are zero and its output would not depend on any input, so a
broken graph would still pass.
"""

from __future__ import annotations

import argparse
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
from test_pipeline import SPF, make_clips, make_debug_model
from test_speak import _wake

from imagintalk.commands import export, speak
from imagintalk.errors import CheckpointError, InputError
from imagintalk.export import choose_providers, onnx_bundle
from imagintalk.export.networks import specs_for
from imagintalk.models.bundle import COMPONENTS, build_bundle, load_bundle, load_config_of, save_component
from imagintalk.pipeline import Pipeline
from imagintalk.video.frontdoor import process_video

# float32 graphs of the same weights: onnxruntime fuses and reorders sums, nothing more. Measured max
# |onnx - torch| on this model: 3e-8 (lip vectors ~0.35), 2e-7 (mlm logits ~0.9), 8e-7 (style c_id ~1.9),
# 8e-6 (dit log-scores ~23), 6e-7 (fine residual ~3.4): the bound leaves >100x headroom and is still far
# below what a wrong axis, a dropped input or a missing layer produces.
RTOL, ATOL = 1e-4, 1e-4
SHAPES = ((1, 7), (3, 12))  # (batch, video frames): neither is the (2, 5) the graphs were traced with


def parse(module, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="imagintalk")
    module.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    """A debug model whose DiT makes 2 of the codec's 4 levels (so the fine completer is exported too),
    every network awake, exported by the command; one clip."""
    root = tmp_path_factory.mktemp("onnx")
    cfg = load_config_of(make_debug_model(root / "base"))
    cfg.dit.num_codebooks = 2
    bundle = build_bundle(cfg)
    for seed, name in enumerate(COMPONENTS):
        _wake(bundle.module(name), seed)
        save_component(root / "model", name, bundle.module(name), cfg)
    out = root / "model" / "onnx"
    args = parse(export, ["export", "--format", "onnx", "--model", str(root / "model"), "--out", str(out)])
    assert args.func(args) == 0
    return {"root": root, "model": root / "model", "onnx": out, "clip": make_clips(root, 1)[0]}


@pytest.fixture(scope="module")
def bundles(env) -> tuple:
    return load_bundle(env["model"]), onnx_bundle(env["model"], env["onnx"])


def test_every_network_is_exported(env, bundles) -> None:
    torch_bundle, (_, provider) = bundles
    assert set(specs_for(torch_bundle)) == {"lip", "mlm", "style", "dit", "fine"}
    assert {p.name for p in env["onnx"].glob("*.onnx")} == {f"{n}.onnx" for n in specs_for(torch_bundle)}
    assert provider == "CPUExecutionProvider"  # this machine's onnxruntime offers no GPU provider


@pytest.mark.parametrize("name", ["lip", "mlm", "style", "dit", "fine"])
def test_onnx_matches_torch_at_two_shapes(bundles, name) -> None:
    torch_bundle, (ort_bundle, _) = bundles
    spec = specs_for(torch_bundle)[name]
    generator = torch.Generator().manual_seed(7)
    for batch, frames in SHAPES:
        args = spec.example(torch_bundle, batch, frames, generator)
        with torch.no_grad():
            want, got = spec.wrap(torch_bundle)(*args), spec.wrap(ort_bundle)(*args)
        want, got = (
            (want,) if isinstance(want, torch.Tensor) else want,
            (got,) if isinstance(got, torch.Tensor) else got,
        )
        assert len(want) == len(got) == len(spec.outputs)
        for output, a, b in zip(spec.outputs, want, got):
            assert a.shape == b.shape and a.shape[0] == batch, (name, output)
            assert a.float().abs().max() > 0, (name, output)  # an all-zero output would prove nothing
            torch.testing.assert_close(b.to(a.dtype), a, rtol=RTOL, atol=ATOL, msg=f"{name}.{output}")


def test_providers_are_taken_in_order_of_preference() -> None:
    offered = [
        "AzureExecutionProvider",
        "CPUExecutionProvider",
        "CUDAExecutionProvider",
        "TensorrtExecutionProvider",
    ]
    assert choose_providers(offered) == [
        "TensorrtExecutionProvider",
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert choose_providers(["CPUExecutionProvider", "CUDAExecutionProvider"])[0] == "CUDAExecutionProvider"
    assert choose_providers([]) == ["CPUExecutionProvider"]


def test_export_refuses_a_non_empty_out_dir_before_loading(env, tmp_path) -> None:
    weightless = tmp_path / "weightless"  # loading it would fail with a CheckpointError
    weightless.mkdir()
    shutil.copy(env["model"] / "config.json", weightless)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    args = parse(export, ["export", "--model", str(weightless), "--out", str(tmp_path / "out")])
    with pytest.raises(InputError, match="not empty; give --overwrite"):
        args.func(args)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
    args = parse(export, ["export", "--model", str(tmp_path / "nowhere"), "--out", str(tmp_path / "new")])
    with pytest.raises(CheckpointError, match="no model at"):
        args.func(args)
    assert not (tmp_path / "new").exists()


def test_graphs_of_other_weights_are_refused(env, tmp_path) -> None:
    changed = tmp_path / "model"
    shutil.copytree(env["model"], changed, ignore=shutil.ignore_patterns("onnx"))
    with open(changed / "config.json", "a") as handle:
        handle.write("\n")  # any byte of the config or the weights
    with pytest.raises(CheckpointError, match="exported from other weights: run imagintalk export"):
        onnx_bundle(changed, env["onnx"])


def test_speak_backend_onnx_without_an_export_says_what_to_run(env, tmp_path) -> None:
    argv = ["speak", str(env["clip"]), "-o", str(tmp_path / "a.wav"), "--model", str(env["model"])]
    args = parse(speak, [*argv, "--backend", "onnx", "--onnx-dir", str(tmp_path / "none")])
    with pytest.raises(InputError, match="no ONNX export at .*run imagintalk export --format onnx"):
        args.func(args)
    assert not (tmp_path / "a.wav").exists()


def test_speak_backend_onnx_end_to_end_speaks_the_tokens_torch_speaks(env, bundles, capsys) -> None:
    """Same seed, same clip: the ONNX backend's tokens equal torch's (the graphs' ~1e-6 differences
    would have to move a categorical draw across a boundary to change one; measured: none do)."""
    out = env["root"] / "onnx.wav"
    argv = ["speak", str(env["clip"]), "-o", str(out), "--model", str(env["model"]), "--steps", "4"]
    args = parse(speak, [*argv, "--seed", "2", "--backend", "onnx"])
    assert args.func(args) == 0
    assert "backend: onnxruntime, CPUExecutionProvider" in capsys.readouterr().out
    wav, rate = sf.read(out, dtype="float32")
    assert rate == 16000 and len(wav) == process_video(env["clip"]).num_frames * SPF
    ort = Pipeline.from_dir(env["model"], bundle=bundles[1][0], steps=4, seed=2).speak_file(env["clip"])
    ref = Pipeline.from_dir(env["model"], steps=4, seed=2).speak_file(env["clip"])
    assert ort.tokens.shape == ref.tokens.shape == (4, ref.units.shape[0])  # 2 DiT + 2 completed levels
    assert np.array_equal(ort.units, ref.units) and np.array_equal(ort.tokens, ref.tokens)
    # the file is 16-bit PCM: samples past full scale (the debug model peaks near 1.8) are clipped
    assert np.allclose(wav, np.clip(ort.wav, -1, 1), atol=1e-4) and np.allclose(ort.wav, ref.wav, atol=1e-4)


def test_the_ros_node_runs_its_backend_parameter(env, bundles, tmp_path) -> None:
    """The node's backend / onnx_dir parameters (imagintalk_ros.backend; no rclpy needed to load)."""
    from imagintalk_ros.backend import load_pipeline
    from imagintalk_ros.params import NodeParams

    with pytest.raises(InputError, match="parameter backend='tensorrt'"):
        NodeParams(backend="tensorrt").check()
    lines: list[str] = []
    params = NodeParams(model_dir=str(env["model"]), backend="onnx", steps=4, seed=2).check()
    pipe = load_pipeline(params, lines.append)
    assert lines == [f"backend: onnxruntime, CPUExecutionProvider ({env['onnx']})"]
    assert pipe.bundle.dit.forward.__qualname__.startswith("_dit")  # the session's adapter, not StyleDiT's
    missing = NodeParams(model_dir=str(env["model"]), backend="onnx", onnx_dir=str(tmp_path)).check()
    with pytest.raises(CheckpointError, match="no ONNX export at .*run imagintalk export"):
        load_pipeline(missing, lines.append)


def test_a_damaged_graph_is_one_line(env, tmp_path) -> None:
    broken = tmp_path / "onnx"
    shutil.copytree(env["onnx"], broken)
    (broken / "fine.onnx").write_bytes(b"not a graph")
    with pytest.raises(CheckpointError, match="cannot load .*fine.onnx as an ONNX graph"):
        onnx_bundle(env["model"], broken)
