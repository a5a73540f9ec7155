"""The Style-DiT: shapes, zero-init, gradients, Dual-adaLN, padding, presets, ONNX export."""

import copy
import io
import warnings

import pytest
import torch

from imagintalk.diffusion import log_expm1
from imagintalk.errors import InputError
from imagintalk.models import StyleDiT, count_parameters
from imagintalk.settings.dit import DiTConfig, dit_preset


def inputs(cfg, batch=2, frames=7, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, cfg.cardinality + 1, (batch, cfg.num_codebooks, frames), generator=gen)
    sigma = torch.rand(batch, generator=gen) * 3 + 0.01
    c_lip = torch.randn(batch, frames, cfg.lip_dim, generator=gen)
    c_id = torch.randn(batch, cfg.id_dim, generator=gen)
    c_emo = torch.randn(batch, frames, cfg.emo_dim, generator=gen)
    return x, sigma, c_lip, c_id, c_emo


def perturbed(model, scale=0.05, seed=1):
    """A copy with every parameter moved off its (partly zero) initial value."""
    model = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen))
    return model


@pytest.fixture(scope="module")
def debug_model():
    torch.manual_seed(0)
    return StyleDiT(dit_preset("debug"))


@pytest.mark.parametrize("frames", [1, 5, 17])
def test_output_shape_and_score_normalisation(debug_model, frames):
    cfg = debug_model.cfg
    x, sigma, c_lip, c_id, c_emo = inputs(cfg, batch=3, frames=frames)
    log_score = perturbed(debug_model)(x, sigma, c_lip, c_id, c_emo)
    assert log_score.shape == (3, cfg.num_codebooks, frames, cfg.cardinality)
    # normalised parameterisation: the scores of a position sum to 1 / (e^sigma - 1)
    torch.testing.assert_close(
        log_score.logsumexp(-1), (-log_expm1(sigma))[:, None, None].expand(3, 4, frames)
    )


def test_zero_init_gives_a_uniform_conditional(debug_model):
    x, sigma, c_lip, c_id, c_emo = inputs(debug_model.cfg)
    log_score = debug_model(x, sigma, c_lip, c_id, c_emo)
    uniform = -torch.log(torch.tensor(64.0)) - log_expm1(sigma)
    torch.testing.assert_close(log_score, uniform[:, None, None, None].expand_as(log_score))


def test_gradients_reach_every_parameter(debug_model):
    x, sigma, c_lip, c_id, c_emo = inputs(debug_model.cfg)
    # at init only the (zero) heads get gradients: W = 0 blocks everything below them
    model = copy.deepcopy(debug_model)
    (-model(x, sigma, c_lip, c_id, c_emo)[..., 0].mean()).backward()
    with_grad = {
        name for name, p in model.named_parameters() if p.grad is not None and p.grad.abs().max() > 0
    }
    assert with_grad == {"final_layer.heads.weight", "final_layer.heads.bias"}
    # off the zero init, every parameter gets a gradient
    model = perturbed(debug_model)
    target = torch.randint(0, 64, x.shape, generator=torch.Generator().manual_seed(3))
    log_score = model(x, sigma, c_lip, c_id, c_emo)
    loss = -log_score.gather(-1, target[..., None]).mean()
    loss.backward()
    no_grad = [name for name, p in model.named_parameters() if p.grad is None or p.grad.abs().max() == 0]
    assert no_grad == []


def test_first_optimiser_step_unlocks_zero_initialised_layers(debug_model):
    model = copy.deepcopy(debug_model)
    x, sigma, c_lip, c_id, c_emo = inputs(model.cfg)
    target = torch.randint(0, 64, x.shape, generator=torch.Generator().manual_seed(3))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(2):
        optimizer.zero_grad()
        (-model(x, sigma, c_lip, c_id, c_emo).gather(-1, target[..., None]).mean()).backward()
        optimizer.step()
    heads = model.final_layer.heads.weight
    gates = model.blocks[0].adaLN_modulation[-1].weight
    assert heads.abs().max() > 0 and gates.abs().max() > 0


def test_dual_adaln_temporal_path_changes_the_output(debug_model):
    x, sigma, c_lip, c_id, c_emo = inputs(debug_model.cfg)
    other_emo = c_emo.flip(1) + 1.0
    # at init the temporal scale layers are zero: c_emo cannot matter yet
    torch.testing.assert_close(
        debug_model(x, sigma, c_lip, c_id, c_emo), debug_model(x, sigma, c_lip, c_id, other_emo)
    )
    model = perturbed(debug_model)
    assert not torch.allclose(model(x, sigma, c_lip, c_id, c_emo), model(x, sigma, c_lip, c_id, other_emo))
    # ... and only through the temporal path: with its layers zeroed again it has no effect
    for block in model.blocks:
        torch.nn.init.zeros_(block.temporal_modulation[-1].weight)
        torch.nn.init.zeros_(block.temporal_modulation[-1].bias)
    torch.testing.assert_close(model(x, sigma, c_lip, c_id, c_emo), model(x, sigma, c_lip, c_id, other_emo))


def test_single_adaln_ignores_c_emo_and_has_fewer_parameters():
    cfg = dit_preset("debug")
    single_cfg = copy.deepcopy(cfg)
    single_cfg.dual_adaln = False
    single, dual = StyleDiT(single_cfg), StyleDiT(cfg)
    assert all(block.temporal_modulation is None for block in single.blocks)
    assert count_parameters(single) < count_parameters(dual)
    model = perturbed(single)
    x, sigma, c_lip, c_id, c_emo = inputs(cfg)
    out = model(x, sigma, c_lip, c_id, None)
    assert out.shape == (2, 4, 7, 64)
    torch.testing.assert_close(out, model(x, sigma, c_lip, c_id, c_emo))


def test_conditions_and_noise_level_matter(debug_model):
    model = perturbed(debug_model)
    x, sigma, c_lip, c_id, c_emo = inputs(model.cfg)
    base = model(x, sigma, c_lip, c_id, c_emo)
    assert not torch.allclose(base, model(x, sigma, c_lip + 1, c_id, c_emo))
    assert not torch.allclose(base, model(x, sigma, c_lip, c_id + 1, c_emo))
    assert not torch.allclose(base, model(x, sigma * 0.5, c_lip, c_id, c_emo))


def test_without_noise_conditioning_only_the_analytic_sigma_factor_changes(debug_model):
    cfg = copy.deepcopy(debug_model.cfg)
    cfg.noise_conditioning = False
    model = perturbed(StyleDiT(cfg))
    x, sigma, c_lip, c_id, c_emo = inputs(cfg)
    shift = (log_expm1(sigma) - log_expm1(sigma * 0.3))[:, None, None, None]
    out, out_low = model(x, sigma, c_lip, c_id, c_emo), model(x, sigma * 0.3, c_lip, c_id, c_emo)
    torch.testing.assert_close(out_low, out + shift.expand_as(out))  # so score reuse is exact for it


def test_key_padding_mask_hides_padded_frames(debug_model):
    model = perturbed(debug_model)
    x, sigma, c_lip, c_id, c_emo = inputs(model.cfg, frames=9)
    pad = torch.zeros(2, 9, dtype=torch.bool)
    pad[:, 6:] = True
    out = model(x, sigma, c_lip, c_id, c_emo, key_padding_mask=pad)
    x2, c_lip2 = x.clone(), c_lip.clone()
    x2[..., 6:] = 0
    c_lip2[:, 6:] = 5.0
    out2 = model(x2, sigma, c_lip2, c_id, c_emo, key_padding_mask=pad)
    torch.testing.assert_close(out[..., :6, :], out2[..., :6, :])
    assert not torch.allclose(out[..., :6, :], model(x2, sigma, c_lip2, c_id, c_emo)[..., :6, :])


def test_presets_build_and_validate():
    counts = {name: count_parameters(StyleDiT(dit_preset(name))) for name in ("debug", "synth")}
    assert counts["debug"] < 1e6 < counts["synth"] < 5e7
    assert dit_preset("small") == dit_preset("synth")
    with pytest.raises(InputError, match="unknown DiT preset"):
        dit_preset("huge")
    with pytest.raises(InputError, match="must divide"):
        StyleDiT(DiTConfig(hidden_dim=66, num_heads=4))


def test_check_inputs_gives_one_line_errors(debug_model):
    x, sigma, c_lip, c_id, c_emo = inputs(debug_model.cfg)
    debug_model.check_inputs(x, sigma, c_lip, c_id, c_emo)
    with pytest.raises(InputError, match="tokens must be"):
        debug_model.check_inputs(x[:, :2], sigma, c_lip, c_id, c_emo)
    with pytest.raises(InputError, match="tokens must lie"):
        debug_model.check_inputs(x + 100, sigma, c_lip, c_id, c_emo)
    with pytest.raises(InputError, match="c_lip must have shape"):
        debug_model.check_inputs(x, sigma, c_lip[:, :3], c_id, c_emo)
    with pytest.raises(InputError, match="c_emo"):
        debug_model.check_inputs(x, sigma, c_lip, c_id, None)


def test_onnx_export_with_dynamic_frames_matches_torch(debug_model):
    onnx = pytest.importorskip("onnx", reason="onnx is not installed")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    model = perturbed(debug_model).eval()
    names = ["x", "sigma", "c_lip", "c_id", "c_emo"]
    dynamic = {"x": {0: "B", 2: "T"}, "sigma": {0: "B"}, "c_lip": {0: "B", 1: "T"}, "c_id": {0: "B"}}
    dynamic |= {"c_emo": {0: "B", 1: "T"}, "log_score": {0: "B", 2: "T"}}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            model, inputs(model.cfg, 2, 9), buffer, dynamo=False, input_names=names,
            output_names=["log_score"], dynamic_axes=dynamic, opset_version=18,
        )  # fmt: skip
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()))
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    for batch, frames in [(1, 4), (3, 23)]:
        feed = inputs(model.cfg, batch, frames, seed=frames)
        got = session.run(None, {name: t.numpy() for name, t in zip(names, feed)})[0]
        with torch.no_grad():
            expected = model(*feed).numpy()
        assert got.shape == expected.shape
        assert abs(got - expected).max() < 1e-4


def test_load_level_prefix_keeps_the_first_levels(debug_model):
    source = perturbed(debug_model)  # 4 levels
    rows = debug_model.cfg.cardinality + 1
    with torch.no_grad():
        source.token_embedding.weight[2 * rows :] = 0  # levels 2-3 add nothing to the input sum
    cfg = copy.deepcopy(debug_model.cfg)
    cfg.num_codebooks = 2
    coarse = StyleDiT(cfg)
    sliced = coarse.load_level_prefix(source.state_dict())
    assert set(sliced) == {"token_embedding.weight", "final_layer.heads.weight", "final_layer.heads.bias"}
    x, sigma, c_lip, c_id, c_emo = inputs(debug_model.cfg)
    source.eval(), coarse.eval()
    with torch.no_grad():
        full = source(x, sigma, c_lip, c_id, c_emo)  # [B, 4, T, N]
        prefix = coarse(x[:, :2], sigma, c_lip, c_id, c_emo)  # [B, 2, T, N]
    assert prefix.shape[1] == 2 and torch.allclose(prefix, full[:, :2], atol=1e-5)
    # same shapes: loading is a plain copy
    same = StyleDiT(debug_model.cfg)
    assert same.load_level_prefix(source.state_dict()) == []
    assert all(torch.equal(a, b) for a, b in zip(same.state_dict().values(), source.state_dict().values()))
    # more levels than the source, or another width: refused
    from imagintalk.errors import CheckpointError

    more = DiTConfig(**{**vars(debug_model.cfg), "num_codebooks": 6})
    with pytest.raises(CheckpointError, match="token_embedding"):
        StyleDiT(more).load_level_prefix(source.state_dict())
    narrow = DiTConfig(**{**vars(debug_model.cfg), "hidden_dim": 32})
    with pytest.raises(CheckpointError):
        StyleDiT(narrow).load_level_prefix(source.state_dict())
