"""The fine-level completer: shapes, gradients, padding, ONNX, and the codec's code-vector space."""

from __future__ import annotations

import io
import warnings

import pytest
import torch

from imagintalk.codec.rvq import ResidualVQ
from imagintalk.codec.world_features import FeatureSpec
from imagintalk.codec.world_rvq import WorldRVQCodec
from imagintalk.errors import CheckpointError, InputError
from imagintalk.models.bundle import build_bundle, check_fine_codec, complete_fine_levels
from imagintalk.models.fine_levels import FineLevelCompleter
from imagintalk.settings import config_from_dict, preset
from imagintalk.settings.fine import FineConfig, fine_preset


def perturbed(cfg: FineConfig, seed: int = 0) -> FineLevelCompleter:
    """A completer whose zero-initialised output layer is set off zero (so outputs depend on inputs)."""
    torch.manual_seed(seed)
    model = FineLevelCompleter(cfg)
    with torch.no_grad():
        model.output.weight.normal_(0, 0.1)
    return model


def inputs(cfg: FineConfig, batch: int, steps: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.randn(batch, steps, cfg.vector_dim, generator=gen)  # [B, T, D]
    return coarse, torch.randn(batch, cfg.id_dim, generator=gen)


def small_codec(levels: int = 4, entries: int = 16) -> WorldRVQCodec:
    """A world_rvq codec with random codebooks (the vector arithmetic does not need trained ones)."""
    spec = FeatureSpec()
    gen = torch.Generator().manual_seed(1)
    books = torch.randn(levels, entries, spec.dim, generator=gen) / torch.arange(1, levels + 1)[:, None, None]
    return WorldRVQCodec(spec, ResidualVQ(books), torch.zeros(spec.dim).numpy(), torch.ones(spec.dim).numpy())


def test_untrained_completer_predicts_no_residual_and_shapes_hold() -> None:
    cfg = fine_preset("debug")
    model = FineLevelCompleter(cfg)
    coarse, c_id = inputs(cfg, 3, 11)
    out = model(coarse, c_id)
    assert out.shape == (3, 11, cfg.vector_dim) and torch.equal(out, torch.zeros_like(out))


def test_gradients_reach_every_parameter() -> None:
    cfg = fine_preset("debug")
    model = perturbed(cfg)
    coarse, c_id = inputs(cfg, 2, 9)
    model(coarse, c_id).square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_padding_does_not_leak_into_real_steps() -> None:
    cfg = fine_preset("debug")
    model = perturbed(cfg).eval()
    coarse, c_id = inputs(cfg, 1, 12)
    padding = torch.zeros(1, 12, dtype=torch.bool)
    padding[:, 8:] = True
    other = coarse.clone()
    other[:, 8:] = 100.0  # garbage in the padded steps
    a, b = model(coarse, c_id, padding), model(other, c_id, padding)
    assert torch.allclose(a[:, :8], b[:, :8]) and torch.equal(a[:, 8:], torch.zeros_like(a[:, 8:]))
    assert not torch.allclose(model(other, c_id)[:, :8], a[:, :8])  # without the mask it would leak


def test_config_is_validated_and_sized_to_the_style_adapter() -> None:
    with pytest.raises(InputError, match="kernel_size"):
        FineLevelCompleter(FineConfig(kernel_size=4))
    synth = preset("synth")
    assert synth.fine.id_dim == synth.style.id_dim and synth.completes_fine_levels
    assert not preset("paper").completes_fine_levels and not preset("debug").completes_fine_levels
    with pytest.raises(InputError, match="fine.id_dim"):
        cfg = preset("synth")
        cfg.fine.id_dim = 3
        cfg.check()


def test_models_saved_before_the_completer_load_without_it() -> None:
    old = preset("synth").to_dict()
    del old["fine"]
    assert not config_from_dict(old).completes_fine_levels
    assert config_from_dict(preset("synth").to_dict()).completes_fine_levels


def test_codec_vectors_sum_the_codewords_of_each_level() -> None:
    codec = small_codec()
    codes = torch.randint(0, codec.cardinality, (2, 4, 7))
    vectors = codec.vectors(codes)
    assert vectors.shape == (2, 7, codec.vector_dim)
    expected = codec.rvq.decode(codes[1].T)  # [T, D]
    assert torch.allclose(vectors[1], expected, atol=1e-5)
    assert torch.allclose(codec.vectors(codes[:, :1]), codec.rvq.codebooks[0][codes[:, 0]], atol=1e-6)


def test_residual_codes_quantise_with_the_finer_levels_only() -> None:
    codec = small_codec()
    codes = torch.randint(0, codec.cardinality, (2, 4, 6))
    residual = codec.vectors(codes) - codec.vectors(codes[:, :2])  # [B, T, D]: levels 2-3
    fine = codec.residual_codes(residual, 2)
    assert fine.shape == (2, 2, 6) and fine.dtype == torch.long
    rebuilt = codec.vectors(torch.cat([codes[:, :2], fine], dim=1))  # [B, T, D]
    error = (rebuilt - codec.vectors(codes)).square().sum(-1)
    assert bool((error <= residual.square().sum(-1) + 1e-4).all())  # never worse than leaving them out
    assert codec.residual_codes(residual, 4).shape == (2, 0, 6)
    with pytest.raises(ValueError, match="first_level"):
        codec.residual_codes(residual, 5)
    with pytest.raises(ValueError, match="residual"):
        codec.residual_codes(residual[..., :3], 2)


def test_complete_fine_levels_keeps_the_coarse_codes() -> None:
    cfg = preset("debug")
    cfg.dit.num_codebooks = 2  # of the debug codec's 4 levels
    bundle = build_bundle(cfg)
    bundle.fine = perturbed(cfg.fine).eval()
    codec = small_codec(levels=cfg.codec.num_codebooks, entries=cfg.codec.cardinality)
    check_fine_codec(cfg, codec)
    coarse = torch.randint(0, cfg.codec.cardinality, (1, 2, 10))
    full = complete_fine_levels(bundle, codec, coarse, torch.randn(1, cfg.style.id_dim))
    assert full.shape == (1, 4, 10) and torch.equal(full[:, :2], coarse)
    assert int(full.min()) >= 0 and int(full.max()) < cfg.codec.cardinality
    cfg.fine.vector_dim = 7
    with pytest.raises(CheckpointError, match="code-vector space"):
        check_fine_codec(cfg, codec)


def test_onnx_export_with_dynamic_steps_matches_torch() -> None:
    onnx = pytest.importorskip("onnx", reason="onnx is not installed")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    cfg = fine_preset("debug")
    model = perturbed(cfg).eval()
    buffer = io.BytesIO()
    dynamic = {"coarse": {0: "B", 1: "T"}, "c_id": {0: "B"}, "residual": {0: "B", 1: "T"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            model, inputs(cfg, 2, 9), buffer, dynamo=False, input_names=["coarse", "c_id"],
            output_names=["residual"], dynamic_axes=dynamic, opset_version=18,
        )  # fmt: skip
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()))
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    for batch, steps in [(1, 4), (3, 23)]:
        coarse, c_id = inputs(cfg, batch, steps, seed=steps)
        got = session.run(None, {"coarse": coarse.numpy(), "c_id": c_id.numpy()})[0]
        with torch.no_grad():
            expected = model(coarse, c_id).numpy()
        assert got.shape == expected.shape and abs(got - expected).max() < 1e-4
