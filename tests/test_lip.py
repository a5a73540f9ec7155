"""The discrete lip aligner: shapes, gradients, per-frame trunk, padding, codebook, loss, toy task, ONNX."""

from __future__ import annotations

import io
import math
import warnings

import pytest
import torch

from imagintalk.errors import InputError
from imagintalk.models.conformer import ConformerEncoder
from imagintalk.models.lip import IGNORE_INDEX, LipAligner, UnitCodebook
from imagintalk.settings.semantic import LipAlignerConfig, lip_aligner_preset
from imagintalk.units import NUM_UNITS, unit_embeddings


def build(seed: int = 0, **changes) -> LipAligner:
    cfg = lip_aligner_preset("debug")
    for key, value in changes.items():
        setattr(cfg, key, value)
    torch.manual_seed(seed)  # LipAligner draws its init from the global RNG (as StyleDiT)
    return LipAligner(cfg)


def rois(batch: int, frames: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, frames, 88, 88, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("upsample", [1, 2])
@pytest.mark.parametrize("frames", [1, 5, 16])
def test_output_shapes_at_the_unit_rate(frames, upsample):
    model = build(upsample=upsample).eval()
    with torch.no_grad():
        vectors, ids, similarity = model.predict(rois(2, frames))
    assert vectors.shape == (2, upsample * frames, model.cfg.unit_dim)
    assert ids.shape == similarity.shape == (2, upsample * frames)
    assert ids.dtype == torch.long and int(ids.min()) >= 0 and int(ids.max()) < NUM_UNITS
    assert float(similarity.abs().max()) <= 1.0 + 1e-5
    assert model.frame_features(rois(2, frames)).shape == (2, frames, model.frontend.out_channels)


def test_gradients_reach_every_parameter():
    model = build(train_codebook=True)
    targets = torch.randint(0, NUM_UNITS, (2, 10), generator=torch.Generator().manual_seed(1))
    result = model.alignment_loss(model(rois(2, 5)), targets)
    result.loss.backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"no gradient for {missing}"


def test_codebook_starts_from_the_unit_embeddings_and_is_frozen_by_default():
    model = build()
    expected = torch.from_numpy(unit_embeddings(model.cfg.unit_dim, model.cfg.codebook_seed))
    assert torch.equal(model.codebook.embeddings.detach(), expected)
    assert not model.codebook.embeddings.requires_grad
    assert build(train_codebook=True).codebook.embeddings.requires_grad


def test_trunk_is_per_frame():
    model = build().eval()
    with torch.no_grad():
        stem_out = model.frontend.stem(rois(2, 7).unsqueeze(1))  # [B, C0, T, h, w]
        perm = torch.tensor([3, 0, 6, 1, 5, 2, 4])
        features = model.frontend.frame_features(stem_out)  # [B, T, C]
        permuted = model.frontend.frame_features(stem_out[:, :, perm])
    assert torch.allclose(permuted, features[:, perm], atol=1e-5)


def test_conformer_ignores_padded_steps():
    torch.manual_seed(0)
    encoder = ConformerEncoder(32, 2, 2, 4, 5, "batch", 0.0).eval()
    x = torch.randn(2, 12, 32)
    mask = torch.zeros(2, 12, dtype=torch.bool)
    mask[1, 7:] = True  # the second sequence has 7 real steps
    changed = x.clone()
    changed[1, 7:] = 100.0 * torch.randn(5, 32)
    with torch.no_grad():
        out, out_changed = encoder(x, mask), encoder(changed, mask)
        alone = encoder(x[1:, :7])  # the short sequence on its own
    assert torch.allclose(out[:, :7], out_changed[:, :7], atol=1e-5)
    assert torch.allclose(out[0], out_changed[0], atol=1e-5)
    assert torch.allclose(out[1, :7], alone[0], atol=1e-4)


def test_aligner_ignores_padded_frames():
    model = build().eval()
    x = rois(2, 9)
    mask = torch.zeros(2, 9, dtype=torch.bool)
    mask[0, 6:] = True
    changed = x.clone()
    changed[0, 6:] = 5.0
    with torch.no_grad():
        out, out_changed = model(x, mask), model(changed, mask)
        alone = model(x[:1, :6])
    assert torch.allclose(out[0, :12], out_changed[0, :12], atol=1e-5)
    assert torch.allclose(out[0, :12], alone[0], atol=1e-4)
    assert model.unit_padding_mask(mask)[0].tolist() == [False] * 12 + [True] * 6


def test_nearest_codeword_matches_brute_force():
    torch.manual_seed(0)
    codebook = UnitCodebook(NUM_UNITS, 16)
    vectors = torch.randn(2, 6, 16)
    ids, similarity = codebook.nearest(vectors)
    table = codebook.embeddings.tolist()
    for b in range(2):
        for t in range(6):
            v = vectors[b, t].tolist()
            cosines = []
            for e in table:
                dot = sum(x * y for x, y in zip(v, e))
                cosines.append(dot / math.sqrt(sum(x * x for x in v)) / math.sqrt(sum(y * y for y in e)))
            best = max(range(len(cosines)), key=cosines.__getitem__)
            assert int(ids[b, t]) == best
            assert abs(float(similarity[b, t]) - cosines[best]) < 1e-5


def test_alignment_loss_on_exact_codewords_and_padding():
    model = build()
    targets = torch.tensor([[1, 5, 9, 9], [2, 2, IGNORE_INDEX, IGNORE_INDEX]])
    vectors = 3.0 * model.codebook.lookup(targets.clamp(min=0))  # exactly on (scaled) target codewords
    vectors[1, 2:] = torch.randn(2, model.cfg.unit_dim)  # padding: anything
    result = model.alignment_loss(vectors, targets)
    assert result.count == 6
    assert float(result.accuracy) == 1.0
    assert float(result.cosine) < 1e-5
    # codewords are at most ~0.88 similar, so the target wins by >= 1.2 logits at temperature 0.1
    assert float(result.ce) < 0.5
    with pytest.raises(InputError):
        model.alignment_loss(vectors, targets[:, :3])


def test_debug_aligner_learns_a_toy_mapping():
    """Frames whose brightness encodes one of 4 units; 50 steps lift accuracy far above chance."""
    model = build(seed=0)
    units = torch.tensor([0, 3, 17, 26])
    gen = torch.Generator().manual_seed(0)

    def batch(size: int) -> tuple[torch.Tensor, torch.Tensor]:
        classes = torch.randint(0, 4, (size, 8), generator=gen)  # [B, T] one unit per frame
        frames = (classes.float() - 1.5)[:, :, None, None] + 0.3 * torch.randn(size, 8, 88, 88, generator=gen)
        return frames, units[classes].repeat_interleave(2, dim=1)  # targets at 50 Hz

    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for _ in range(50):
        frames, targets = batch(4)
        result = model.alignment_loss(model(frames), targets)
        optimizer.zero_grad()
        result.loss.backward()
        optimizer.step()
    model.eval()
    frames, targets = batch(8)
    with torch.no_grad():
        _, ids, _ = model.predict(frames)
    accuracy = float((ids == targets).float().mean())
    assert accuracy > 0.6, accuracy  # chance: 1/4 among the used units, 1/40 overall


def test_invalid_inputs_and_configs_raise_input_error():
    model = build()
    with pytest.raises(InputError):
        model.check_inputs(torch.randn(2, 88, 88))
    with pytest.raises(InputError):
        model.check_inputs(rois(1, 3), torch.ones(1, 3, dtype=torch.bool))
    model.check_inputs(rois(1, 3), torch.tensor([[False, False, True]]))
    for changes in ({"upsample": 3}, {"d_model": 30, "num_heads": 4}, {"conv_kernel": 4}, {"conv_norm": "x"}):
        cfg = LipAlignerConfig(**changes)
        with pytest.raises(InputError):
            cfg.validate()
    with pytest.raises(InputError):
        lip_aligner_preset("huge")


def test_layer_norm_conv_variant_and_presets_build():
    model = build(conv_norm="layer")
    assert model(rois(1, 3)).shape == (1, 6, model.cfg.unit_dim)
    synth_size = sum(p.numel() for p in LipAligner(lip_aligner_preset("synth")).parameters())
    assert 1_000_000 < synth_size < 5_000_000


def test_onnx_export_with_dynamic_frames_matches_torch():
    onnx = pytest.importorskip("onnx", reason="onnx is not installed")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    model = build().eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            model, (rois(1, 6),), buffer, dynamo=False, input_names=["rois"], output_names=["vectors"],
            dynamic_axes={"rois": {0: "B", 1: "T"}, "vectors": {0: "B", 1: "T_unit"}}, opset_version=18,
        )  # fmt: skip
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()))
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    for batch, frames in [(1, 1), (2, 11), (1, 30)]:
        x = rois(batch, frames, seed=frames)
        got = session.run(None, {"rois": x.numpy()})[0]
        with torch.no_grad():
            expected = model(x).numpy()
        assert got.shape == expected.shape == (batch, 2 * frames, model.cfg.unit_dim)
        assert abs(got - expected).max() < 1e-4
