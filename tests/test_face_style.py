"""The face-style adapter: shapes, padding, smoothing, gradients, losses, a tiny overfit, ONNX export."""

import io
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from imagintalk.errors import InputError
from imagintalk.features import smooth_over_window
from imagintalk.models.face_style import OUTPUT_NAMES, FaceStyleAdapter, MaskedMovingAverage
from imagintalk.settings.style import FaceStyleConfig, face_style_preset


def debug_with_both_encoders() -> FaceStyleConfig:
    """The debug sizes with the per-frame expression encoder on too, so every path is covered."""
    cfg = face_style_preset("debug")
    cfg.use_expression_encoder = True
    return cfg


def inputs(cfg: FaceStyleConfig, batch: int = 2, frames: int = 9, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    out = {
        "descriptor": F.normalize(torch.randn(batch, cfg.descriptor_dim, generator=gen), dim=-1),
        "expression": torch.softmax(torch.randn(batch, frames, cfg.expression_dim, generator=gen), dim=-1),
        "key_padding_mask": torch.zeros(batch, frames, dtype=torch.bool),
    }
    if cfg.use_face_encoder:
        size = cfg.face_encoder_size
        out["face_images"] = torch.rand(batch, 3, 3, size, size, generator=gen)
    if cfg.use_expression_encoder:
        size = cfg.expression_encoder_size
        out["expression_images"] = torch.rand(batch, frames, 3, size, size, generator=gen)
    return out


def targets(cfg: FaceStyleConfig, batch: int = 2, frames: int = 9, seed: int = 1) -> dict:
    gen = torch.Generator().manual_seed(seed)
    tokens = frames * cfg.token_rate_factor
    return {
        "speaker_embedding": torch.randn(batch, cfg.speaker_dim, generator=gen),
        "log_f0": 0.2 * torch.randn(batch, tokens, generator=gen),
        "voiced": (torch.rand(batch, tokens, generator=gen) > 0.4).float(),
        "energy": torch.randn(batch, tokens, generator=gen),
        "emotion": torch.randint(0, cfg.num_emotions, (batch,), generator=gen),
    }


@pytest.mark.parametrize("preset", ["debug", "synth"])
def test_shapes(preset):
    cfg = face_style_preset(preset)
    model = FaceStyleAdapter(cfg).eval()
    x = inputs(cfg)
    model.check_inputs(**x)
    out = model(**x)
    tokens = 9 * cfg.token_rate_factor
    expected = {
        "c_id": (2, cfg.id_dim),
        "c_emo": (2, tokens, cfg.emo_dim),
        "speaker": (2, cfg.speaker_dim),
        "log_f0": (2, tokens),
        "voiced_logit": (2, tokens),
        "energy": (2, tokens),
        "emotion_logits": (2, cfg.num_emotions),
        "token_valid": (2, tokens),
    }
    assert tuple(out) == OUTPUT_NAMES and {k: tuple(v.shape) for k, v in out.items()} == expected
    assert torch.allclose(out["speaker"].norm(dim=-1), torch.ones(2), atol=1e-5)


def test_presets_match_the_dit_sizes():
    from imagintalk.settings.dit import dit_preset

    for name in ("debug", "synth", "paper"):
        style, dit = face_style_preset(name), dit_preset(name)
        assert (style.id_dim, style.emo_dim) == (dit.id_dim, dit.emo_dim)
    with pytest.raises(InputError, match="unknown face-style preset"):
        face_style_preset("huge")
    with pytest.raises(InputError, match="multiple of 16"):
        FaceStyleAdapter(FaceStyleConfig(use_face_encoder=True, face_encoder_size=40))


def test_in_graph_smoothing_matches_numpy():
    cfg = FaceStyleConfig()
    assert cfg.smooth_window_frames == 13  # 0.5 s at 25 fps, odd
    x = np.random.default_rng(0).normal(size=(30, 7))
    torch_out = MaskedMovingAverage(cfg.smooth_window_frames)(torch.tensor(x)[None], torch.ones(1, 30, 1))
    numpy_out = smooth_over_window(x, cfg.fps, cfg.smooth_window_s)
    np.testing.assert_allclose(torch_out[0].numpy(), numpy_out, atol=1e-6)


def test_padding_does_not_leak():
    """A clip padded with junk frames gives the same outputs on its real frames as the clip alone."""
    cfg = debug_with_both_encoders()
    model = FaceStyleAdapter(cfg).eval()
    alone = inputs(cfg, batch=1, frames=6)
    padded = inputs(cfg, batch=1, frames=10, seed=5)  # junk everywhere, then the real frames in front
    padded["descriptor"], padded["face_images"] = alone["descriptor"], alone["face_images"]
    padded["expression"][:, :6] = alone["expression"]
    padded["expression_images"][:, :6] = alone["expression_images"]
    padded["key_padding_mask"][:, 6:] = True
    with torch.no_grad():
        a, p = model(**alone), model(**padded)
    for name in ("c_id", "speaker", "emotion_logits"):
        torch.testing.assert_close(a[name], p[name], atol=1e-5, rtol=1e-5)
    for name in ("c_emo", "log_f0", "energy"):
        torch.testing.assert_close(a[name], p[name][:, :12], atol=1e-5, rtol=1e-5)
    assert p["token_valid"][0, :12].all() and not p["token_valid"][0, 12:].any()
    assert p["c_emo"][:, 12:].abs().max() == 0


def test_gradients_reach_every_parameter():
    cfg = debug_with_both_encoders()
    torch.manual_seed(0)
    model = FaceStyleAdapter(cfg)
    losses = model.losses(model(**inputs(cfg)), targets(cfg))
    assert set(losses) == {"speaker", "log_f0", "voiced", "energy", "emotion", "total"}
    assert all(torch.isfinite(v) for v in losses.values())
    losses["total"].backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing, missing


def test_losses_reject_misaligned_targets():
    cfg = face_style_preset("synth")
    model = FaceStyleAdapter(cfg)
    out = model(**inputs(cfg))
    bad = targets(cfg, frames=8)
    with pytest.raises(InputError, match="token frames"):
        model.losses(out, bad)
    partial = {"emotion": targets(cfg)["emotion"]}  # a corpus without prosody or speaker targets
    assert set(model.losses(out, partial)) == {"emotion", "total"}


def test_check_inputs_errors():
    cfg = debug_with_both_encoders()
    model = FaceStyleAdapter(cfg)
    x = inputs(cfg)
    with pytest.raises(InputError, match="descriptor"):
        model.check_inputs(**{**x, "descriptor": torch.zeros(2, 64)})
    with pytest.raises(InputError, match="key_padding_mask"):
        model.check_inputs(**{**x, "key_padding_mask": torch.zeros(2, 9)})
    with pytest.raises(InputError, match="face_images"):
        model.check_inputs(**{**x, "face_images": None})


def test_tiny_overfit_reduces_losses():
    cfg = debug_with_both_encoders()
    torch.manual_seed(0)
    model = FaceStyleAdapter(cfg)
    x, y = inputs(cfg, batch=4), targets(cfg, batch=4)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(40):
        losses = model.losses(model(**x), y)
        first = first or {k: float(v.detach()) for k, v in losses.items()}
        optimizer.zero_grad()
        losses["total"].backward()
        optimizer.step()
    last = {k: float(v.detach()) for k, v in model.losses(model(**x), y).items()}
    assert last["total"] < 0.6 * first["total"], (first, last)
    for name in ("speaker", "emotion", "energy", "voiced"):
        assert last[name] < first[name], (name, first[name], last[name])


def test_onnx_export_dynamic_frames():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    cfg = debug_with_both_encoders()
    torch.manual_seed(0)
    model = FaceStyleAdapter(cfg).eval()
    token_outputs = ("c_emo", "log_f0", "voiced_logit", "energy", "token_valid")
    names = ["descriptor", "expression", "key_padding_mask", "face_images", "expression_images"]
    x = inputs(cfg, frames=9)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, tuple(x[n] for n in names), buffer, input_names=names, output_names=list(OUTPUT_NAMES),
            dynamic_axes={"expression": {1: "T"}, "key_padding_mask": {1: "T"}, "expression_images": {1: "T"},
                          **{n: {1: "T_tok"} for n in token_outputs}},
            opset_version=17, dynamo=False,
        )  # fmt: skip
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()))
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    y = inputs(cfg, frames=14, seed=3)  # another length than at export
    y["key_padding_mask"][1, 10:] = True
    got = dict(zip(OUTPUT_NAMES, session.run(None, {n: y[n].numpy() for n in names})))
    with torch.no_grad():
        want = model(**y)
    for name in OUTPUT_NAMES:
        np.testing.assert_allclose(got[name], want[name].numpy(), atol=1e-4, rtol=1e-4, err_msg=name)
