"""Face-feature extractors chosen by name: the shipped defaults, and user-owned ONNX / TorchScript
files (small torch modules the tests export themselves) run on a real SynthTalk clip's front door."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from imagintalk.errors import CheckpointError, InputError
from imagintalk.features import extractors
from imagintalk.features.face_descriptor import clip_identity
from imagintalk.features.visual import expression_features_for, visual_features
from imagintalk.settings import load_config
from imagintalk.synth.corpus import generate_corpus
from imagintalk.video.frontdoor import process_video

SIZE = 32  # input side of the test models


class TinyFaceNet(nn.Module):
    """[N, 3, S, S] in [0, 1] -> [N, dim]: conv, mean pool, linear."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        torch.manual_seed(dim)
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.out = nn.Linear(8, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def export(kind: str, net: nn.Module, path: Path) -> Path:
    example = torch.rand(2, 3, SIZE, SIZE)
    with warnings.catch_warnings():  # torch 2.9+ deprecates both exporters beside torch.export
        warnings.simplefilter("ignore")
        if kind == "torchscript":
            torch.jit.save(torch.jit.trace(net, example), str(path))
        else:  # the TorchScript-based ONNX exporter: the dynamo one needs onnxscript (not installed)
            torch.onnx.export(
                net,
                (example,),
                str(path),
                input_names=["faces"],
                dynamic_axes={"faces": {0: "n"}},
                dynamo=False,
            )
    return path


def expected(net: nn.Module, faces: np.ndarray) -> np.ndarray:
    """The documented contract, computed independently: resize to S, RGB [0, 1], channels first."""
    crops = np.stack([cv2.resize(f, (SIZE, SIZE), interpolation=cv2.INTER_AREA) for f in faces])
    with torch.no_grad():
        return net(torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255.0).numpy()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """One debug SynthTalk clip: its front-door result (real aligned crops, landmarks) and its video."""
    root = tmp_path_factory.mktemp("extractors")
    cfg = load_config("debug")
    generate_corpus(root, 1, seed=3, split="train", cfg=cfg.synth, workers=1, progress=False)
    return process_video(next((root / "video").glob("*.mp4")), cfg.video), next(
        (root / "video").glob("*.mp4")
    )


def style_with(tmp_path: Path, kind: str, identity_dim: int = 16, expression_dim: int = 5):
    """A debug config whose identity and expression come from two exported files of ``kind``."""
    identity_net, expression_net = TinyFaceNet(identity_dim), TinyFaceNet(expression_dim)
    suffix = ".onnx" if kind == "onnx" else ".pt"
    overrides = [
        f"style.identity_extractor={kind}",
        f"style.identity_model={export(kind, identity_net, tmp_path / ('identity' + suffix))}",
        f"style.identity_input_size={SIZE}",
        f"style.descriptor_dim={identity_dim}",
        f"style.expression_extractor={kind}",
        f"style.expression_model={export(kind, expression_net, tmp_path / ('expression' + suffix))}",
        f"style.expression_input_size={SIZE}",
        f"style.expression_dim={expression_dim}",
    ]
    return load_config("debug", overrides=overrides), identity_net, expression_net


@pytest.fixture(scope="module")
def track(clip):
    return clip[0]


def test_the_defaults_are_the_shipped_extractors(track) -> None:
    for name in ("debug", "synth", "paper"):
        style = load_config(name).style
        assert (style.identity_extractor, style.expression_extractor) == ("dlib", "fer")
        assert isinstance(extractors.identity_extractor(style), extractors.DlibIdentity)
        assert extractors.expression_extractor(style).dim == style.expression_dim
    cfg = load_config("debug")
    cfg.data.identity_samples = 3
    visual = visual_features(track, cfg, cfg.data)
    landmarks_px = track.aligned_landmarks * cfg.video.face_size
    assert np.allclose(visual["identity"], clip_identity(track.face, landmarks_px, 3), atol=1e-6)
    assert np.allclose(visual["expression"], expression_features_for(track.face, 7), atol=1e-6)


@pytest.mark.parametrize("kind", ["onnx", "torchscript"])
def test_a_user_model_file_gives_identity_and_expression(track, tmp_path, kind) -> None:
    cfg, identity_net, expression_net = style_with(tmp_path, kind)
    cfg.data.identity_samples = 4
    visual = visual_features(track, cfg, cfg.data)
    assert visual["identity"].shape == (16,) and visual["expression"].shape == (track.num_frames, 5)
    assert np.allclose(visual["expression"], expected(expression_net, track.face), atol=1e-4)
    index = np.unique(np.linspace(0, track.num_frames - 1, 4).round().astype(int))
    mean = expected(identity_net, track.face[index]).mean(0)
    assert np.allclose(visual["identity"], mean / np.linalg.norm(mean), atol=1e-4)
    assert abs(float(np.linalg.norm(visual["identity"])) - 1.0) < 1e-5


def test_bad_names_files_and_widths_are_one_line_errors(tmp_path) -> None:
    cfg, _, _ = style_with(tmp_path, "onnx")
    style = cfg.style
    with pytest.raises(InputError, match=r"descriptor_dim is 32: set style\.descriptor_dim=16"):
        style.descriptor_dim = 32
        extractors.identity_extractor(style)
    with pytest.raises(InputError, match=r"expression_dim is 7: set style\.expression_dim=5"):
        style.expression_dim = 7
        extractors.expression_extractor(style)
    with pytest.raises(InputError, match="no model file at"):
        style.identity_model = str(tmp_path / "missing.onnx")
        extractors.check_extractors(style)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model at all")
    for kind in ("onnx", "torchscript"):
        style.identity_extractor, style.identity_model, style.descriptor_dim = kind, str(garbage), 16
        with pytest.raises(CheckpointError, match="cannot load") as info:
            extractors.identity_extractor(style)
        assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="choose one of dlib, onnx, torchscript"):
        style.identity_extractor = "arcface"
        extractors.identity_extractor(style)
    with pytest.raises(InputError, match="style.identity_model is empty"):
        style.identity_extractor, style.identity_model = "onnx", ""
        extractors.identity_extractor(style)
    with pytest.raises(InputError, match="not dlib"):  # a file given to the default is never ignored
        style.identity_extractor, style.identity_model = "dlib", str(garbage)
        extractors.identity_extractor(style)
    with pytest.raises(InputError, match="7 or 135"):
        extractors.expression_extractor(load_config("debug", overrides=["style.expression_dim=9"]).style)


def test_speak_refuses_a_missing_model_file_before_the_networks_load(clip, tmp_path) -> None:
    cfg = load_config("debug", overrides=["style.expression_extractor=onnx"])
    cfg.style.expression_model = str(tmp_path / "expression.onnx")  # not there
    model = tmp_path / "model"  # a config and no weights: loading any network would fail differently
    model.mkdir()
    (model / "config.json").write_text(json.dumps(cfg.to_dict()))
    argv = ["speak", str(clip[1]), "-o", str(tmp_path / "x.wav"), "--model", str(model)]
    done = subprocess.run(
        [sys.executable, "-m", "imagintalk", *argv], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == InputError.exit_code and not (tmp_path / "x.wav").exists()
    assert done.stderr.strip().splitlines() == [
        f"error: style.expression_model: no model file at {cfg.style.expression_model}"
    ]
