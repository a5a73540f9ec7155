"""The unit MLM, the error detector and the corrective loop (toy unit language)."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

from imagintalk.checkpoint import load_module_weights, read_weights
from imagintalk.errors import InputError
from imagintalk.models.bundle import load_config_of
from imagintalk.models.error_detector import correct_units, detect_errors, error_stats
from imagintalk.models.lip import UnitCodebook
from imagintalk.models.unit_mlm import BOS_ID, EOS_ID, MASK_ID, PAD_ID, UNIT_OFFSET, UnitMLM, select_positions
from imagintalk.settings.paths import DEFAULT_MODEL_DIR
from imagintalk.settings.semantic import UnitMLMConfig, unit_mlm_preset
from imagintalk.units import NUM_UNITS

U = NUM_UNITS


def toy_language(batch: int, length: int, gen: torch.Generator) -> torch.Tensor:
    """Each sequence cycles through 3 random distinct units, each held for 4 steps, random phase."""
    cycle = torch.rand(batch, U, generator=gen).argsort(dim=1)[:, :3]  # [B, 3]
    phase = torch.randint(0, 12, (batch, 1), generator=gen)  # [B, 1]
    slot = ((torch.arange(length) + phase) // 4) % 3  # [B, T]
    return cycle.gather(1, slot)  # [B, T]


def corrupt(units: torch.Tensor, flagged: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return torch.where(flagged, torch.randint(0, U, units.shape, generator=gen), units)


@pytest.fixture(scope="module")
def trained():
    """A debug MLM trained 200 steps on the toy language (~8 s); returns (model, losses)."""
    model = UnitMLM.from_config(unit_mlm_preset("debug"), U, seed=0)
    gen = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.98), weight_decay=0.0)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 10))
    losses = []
    for _ in range(200):
        loss, _ = model.mlm_loss(toy_language(32, 32, gen), generator=gen)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        warmup.step()
        losses.append(float(loss.detach()))
    return model.eval(), losses


def test_token_layout_and_positions():
    model = UnitMLM.from_config(unit_mlm_preset("debug"), U)
    units = torch.tensor([[5, 6, 7], [8, 9, 0]])
    real = torch.tensor([[True, True, True], [True, False, False]])
    masked = torch.tensor([[False, True, False], [False, False, False]])
    tokens, token_mask = model.build_tokens(units, real, masked)
    o = UNIT_OFFSET
    assert tokens.tolist() == [
        [BOS_ID, 5 + o, MASK_ID, 7 + o, EOS_ID],
        [BOS_ID, 8 + o, EOS_ID, PAD_ID, PAD_ID],
    ]
    assert token_mask.tolist() == [[True] * 5, [True, True, True, False, False]]
    assert model.roberta_config.vocab_size == U + 4
    # the longest window fits RoBERTa's position table (positions start at PAD + 1)
    assert model.roberta_config.max_position_embeddings == model.cfg.max_units + 2 + PAD_ID + 1
    full = torch.zeros(1, model.cfg.max_units, dtype=torch.long)
    assert model(full).shape == (1, model.cfg.max_units, U)
    with pytest.raises(InputError):
        model(torch.zeros(1, model.cfg.max_units + 1, dtype=torch.long))


def test_forward_shapes_padding_and_gradients():
    model = UnitMLM.from_config(unit_mlm_preset("debug"), U).eval()
    units = torch.randint(0, U, (2, 9), generator=torch.Generator().manual_seed(0))
    mask = torch.ones(2, 9, dtype=torch.bool)
    mask[1, 5:] = False
    logits = model(units, mask)
    assert logits.shape == (2, 9, U)
    # padding does not change the real steps' logits
    changed = units.clone()
    changed[1, 5:] = (changed[1, 5:] + 1) % U
    assert torch.allclose(model(changed, mask)[1, :5], logits[1, :5], atol=1e-5)
    model.train()
    loss, accuracy = model.mlm_loss(units, mask, generator=torch.Generator().manual_seed(1))
    loss.backward()
    assert 0.0 <= float(accuracy) <= 1.0
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing}"


def test_same_seed_same_weights():
    a = UnitMLM.from_config(unit_mlm_preset("debug"), U, seed=3)
    b = UnitMLM.from_config(unit_mlm_preset("debug"), U, seed=3)
    c = UnitMLM.from_config(unit_mlm_preset("debug"), U, seed=4)
    pa, pb, pc = (torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


def test_span_and_iid_selection():
    real = torch.ones(400, 64, dtype=torch.bool)
    real[:, 50:] = False
    gen = torch.Generator().manual_seed(0)
    spans = select_positions(real, 0.15, 1.0, 3, 6, gen)
    iid = select_positions(real, 0.15, 0.0, 3, 6, gen)
    assert not (spans & ~real).any() and not (iid & ~real).any()
    assert spans.any(dim=1).all() and iid.any(dim=1).all()  # never an empty loss
    for selected in (spans, iid):
        assert 0.08 < float(selected[:, :50].float().mean()) < 0.22
    # spans come in runs of >= 3 (unless cut by the padding), i.i.d. picks mostly alone
    run_starts = spans[:, :50].int().diff(dim=1) == 1
    runs = spans[:, 1:50].sum() / run_starts.sum().clamp(min=1)
    assert float(runs) >= 3.0
    assert torch.equal(select_positions(real, 0.15, 0.5, 3, 6, torch.Generator().manual_seed(5)),
                       select_positions(real, 0.15, 0.5, 3, 6, torch.Generator().manual_seed(5)))  # fmt: skip


def test_mlm_loss_decreases_on_the_toy_language(trained):
    _, losses = trained
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < 0.5 * first, (first, last)


def test_refine_fixes_corrupted_units_far_better_than_chance(trained):
    model, _ = trained
    gen = torch.Generator().manual_seed(10)
    units = toy_language(32, 48, gen)
    flagged = torch.rand(units.shape, generator=gen) < 0.2
    noisy = corrupt(units, flagged, gen)
    refined = model.refine(noisy, flagged)
    assert torch.equal(refined[~flagged], noisy[~flagged])  # only flagged steps may change
    accuracy = float((refined[flagged] == units[flagged]).float().mean())
    assert accuracy > 0.5, accuracy  # measured 0.63; chance is 1/40, the unit set alone gives ~1/3
    iterative = model.refine(noisy, flagged, passes=3)
    assert float((iterative[flagged] == units[flagged]).float().mean()) > 0.5
    # a whole lost run (6 steps) is filled from its context
    span = torch.zeros_like(flagged)
    span[:, 10:16] = True
    refined = model.refine(corrupt(units, span, gen), span)
    assert float((refined[span] == units[span]).float().mean()) > 0.6


def test_refine_windows_longer_sequences_and_keeps_padding(trained):
    model = copy.copy(trained[0])  # shares the weights
    model.cfg = dataclasses.replace(model.cfg, max_units=32)  # windows as long as the training sequences
    gen = torch.Generator().manual_seed(11)
    length = 2 * model.cfg.max_units + 40  # several overlapping windows
    units = toy_language(2, length, gen)
    flagged = torch.rand(units.shape, generator=gen) < 0.15
    mask = torch.ones_like(units, dtype=torch.bool)
    mask[1, length - 70 :] = False
    noisy = corrupt(units, flagged, gen)
    refined = model.refine(noisy, flagged, mask)
    assert torch.equal(refined[~(flagged & mask)], noisy[~(flagged & mask)])
    fixed = flagged & mask
    assert float((refined[fixed] == units[fixed]).float().mean()) > 0.5


def test_refine_with_visual_prior(trained):
    model, _ = trained
    gen = torch.Generator().manual_seed(12)
    units = toy_language(32, 48, gen)
    flagged = torch.rand(units.shape, generator=gen) < 0.3
    noisy = corrupt(units, flagged, gen)
    # a noisy visual prior: the true unit gets +2 logits, plus Gaussian noise of std 1.5
    visual = 1.5 * torch.randn(*units.shape, U, generator=gen)
    visual = visual + 2.0 * torch.nn.functional.one_hot(units, U)
    assert torch.equal(model.refine_with_visual_prior(noisy, flagged, visual, weight=0.0),
                       model.refine(noisy, flagged))  # fmt: skip
    lips_only = model.refine_with_visual_prior(noisy, flagged, visual, weight=1e4)
    top2 = visual.log_softmax(dim=-1).topk(2, dim=-1).values  # [B, T, 2]
    clear = flagged & (top2[..., 0] - top2[..., 1] > 0.05)  # the lips' choice is not a near tie
    assert torch.equal(lips_only[clear], visual.argmax(dim=-1)[clear])

    def accuracy(pred: torch.Tensor) -> float:
        return float((pred[flagged] == units[flagged]).float().mean())

    both = model.refine_with_visual_prior(noisy, flagged, visual, weight=1.0)
    assert accuracy(both) > accuracy(lips_only) + 0.1  # the context repairs what the lips got wrong
    assert accuracy(both) >= accuracy(model.refine(noisy, flagged)) - 0.02  # and the lips do not hurt


def test_detect_errors_flags_exactly_below_tau():
    similarity = torch.tensor([[0.95, 0.9, 0.8999, 0.2], [1.0, -0.5, 0.91, 0.3]])
    padding = torch.tensor([[False, False, False, False], [False, False, False, True]])
    flagged = detect_errors(similarity, 0.9, padding)
    assert flagged.tolist() == [[False, False, True, True], [False, True, False, False]]
    assert torch.equal(detect_errors(similarity), similarity < 0.9)
    stats = error_stats(flagged, padding)
    assert (stats.flagged, stats.total) == (3, 7)
    assert stats.per_sequence == pytest.approx([0.5, 1 / 3])
    assert stats.fraction == pytest.approx(3 / 7)
    with pytest.raises(InputError):
        detect_errors(similarity, 1.5)


def test_correct_units_end_to_end(trained):
    """Vectors on the true codeword except at corrupted steps: exactly those are flagged and fixed."""
    model, _ = trained
    torch.manual_seed(0)
    codebook = UnitCodebook(U, 16)
    gen = torch.Generator().manual_seed(13)
    units = toy_language(8, 40, gen)
    vectors = codebook.lookup(units) * 2.0  # similarity 1 to the true unit
    lost = torch.rand(units.shape, generator=gen) < 0.2
    vectors[lost] = torch.randn(int(lost.sum()), 16, generator=gen)  # random: similarity ~0.3-0.7
    result = correct_units(vectors, codebook, model, tau=0.9)
    assert torch.equal(result.flagged, result.similarity < 0.9)
    assert torch.equal(result.flagged, lost)
    assert torch.equal(result.refined[~lost], units[~lost])
    assert float((result.refined[lost] == units[lost]).float().mean()) > 0.5
    assert result.stats.fraction == pytest.approx(float(lost.float().mean()))
    with_prior = correct_units(vectors, codebook, model, tau=0.9, visual_temperature=0.1)
    assert torch.equal(with_prior.refined[~lost], units[~lost])


def test_per_step_visual_weight_matches_the_scalar_and_is_checked(trained):
    model, _ = trained
    gen = torch.Generator().manual_seed(14)
    units = toy_language(4, 40, gen)
    flagged = torch.rand(units.shape, generator=gen) < 0.4
    noisy = corrupt(units, flagged, gen)
    visual = 2.0 * torch.randn(*units.shape, U, generator=gen)
    same = model.refine_with_visual_prior(noisy, flagged, visual, weight=torch.full(units.shape, 2.0))
    assert torch.equal(same, model.refine_with_visual_prior(noisy, flagged, visual, weight=2.0))
    with pytest.raises(InputError):
        model.refine_with_visual_prior(noisy, flagged, visual, weight=torch.ones(4, 39))


def test_correct_units_refines_steps_without_a_face(trained):
    """Steps whose frames had no face are flagged however similar, with their own lips' weight."""
    model, _ = trained
    torch.manual_seed(0)
    codebook = UnitCodebook(U, 16)
    gen = torch.Generator().manual_seed(15)
    units = toy_language(6, 40, gen)
    vectors = codebook.lookup(units) * 2.0  # similarity 1: nothing below tau
    missing = torch.zeros(units.shape, dtype=torch.bool)
    missing[:, 10:22] = True
    plain = correct_units(vectors, codebook, model, tau=0.9, visual_temperature=0.1)
    assert not plain.flagged.any() and torch.equal(plain.refined, units)
    lips = correct_units(vectors, codebook, model, 0.9, None, 0.1, missing, lost_face_weight=1e4)
    assert torch.equal(lips.flagged, missing)
    assert torch.equal(lips.refined, units)  # a huge vote for lips that are right keeps them
    language = correct_units(vectors, codebook, model, 0.9, None, 0.1, missing, lost_face_weight=0.0)
    assert torch.equal(language.refined, model.refine(units, missing))  # no vote: the MLM alone
    with pytest.raises(InputError):
        correct_units(vectors, codebook, model, 0.9, None, 0.1, missing[:, :-1], lost_face_weight=1.0)
    with pytest.raises(InputError):
        UnitMLMConfig(lost_face_prior_weight=-1.0).validate()


def test_invalid_inputs_raise_input_error():
    model = UnitMLM.from_config(unit_mlm_preset("debug"), U)
    units = torch.zeros(1, 4, dtype=torch.long)
    with pytest.raises(InputError):
        model(units, torch.tensor([[True, False, True, True]]))  # not right-padded
    with pytest.raises(InputError):
        model(torch.full((1, 4), U))  # not a unit
    with pytest.raises(InputError):
        model.refine(units, torch.zeros(1, 3, dtype=torch.bool))
    with pytest.raises(InputError):
        UnitMLMConfig(hidden_size=30, num_heads=4).validate()
    with pytest.raises(InputError):
        UnitMLMConfig(span_min=5, span_max=2).validate()
    with pytest.raises(InputError):
        unit_mlm_preset("huge")


def _scrambled(model: UnitMLM, seed: int) -> UnitMLM:
    """Every parameter redrawn (LayerNorms and biases too), so no zero bias or unit gain hides a slip."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen) + (1.0 if p.dim() == 1 else 0.0) * 0.1)
    return model


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_own_roberta_matches_transformers_roberta(attention):
    """Our RoBERTa = transformers' RobertaForMaskedLM (same config, same state dict) to 1e-5, with padding."""
    transformers = pytest.importorskip("transformers")  # heavy: the reference only, never the product
    cfg = dataclasses.replace(unit_mlm_preset("debug"), dropout=0.1)
    ours = _scrambled(UnitMLM.from_config(cfg, U, seed=0), seed=1).eval()
    spec = ours.roberta_config
    hf_config = transformers.RobertaConfig(
        vocab_size=spec.vocab_size,
        hidden_size=spec.hidden_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        intermediate_size=spec.intermediate_size,
        hidden_dropout_prob=spec.dropout,
        attention_probs_dropout_prob=spec.dropout,
        max_position_embeddings=spec.max_position_embeddings,
        type_vocab_size=1,
        pad_token_id=PAD_ID,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
        attn_implementation=attention,
    )
    theirs = transformers.RobertaForMaskedLM(hf_config).eval()
    # the same keys both ways: a file saved by either loads strictly into the other
    assert sorted(theirs.state_dict()) == sorted(ours.roberta.state_dict())
    theirs.load_state_dict(ours.roberta.state_dict(), strict=True)
    assert torch.equal(theirs.lm_head.decoder.weight, theirs.roberta.embeddings.word_embeddings.weight)
    gen = torch.Generator().manual_seed(2)
    units = torch.randint(0, U, (4, 37), generator=gen)
    real = torch.arange(37) < torch.tensor([[37], [20], [1], [0]])  # [4, 37] right-padded, one all-padding
    tokens, token_mask = ours.build_tokens(units, real, torch.rand(4, 37, generator=gen) < 0.3)
    keep = token_mask.long()
    positions = keep.cumsum(dim=1) * keep + PAD_ID
    with torch.no_grad():
        mine = ours.token_logits(tokens, token_mask)  # [4, 39, U]
        ref = theirs(input_ids=tokens, attention_mask=keep, position_ids=positions).logits[..., UNIT_OFFSET:]
        # transformers numbers positions itself from the token ids the same way when none are given
        ref_implicit = theirs(input_ids=tokens, attention_mask=keep).logits[..., UNIT_OFFSET:]
    assert mine.abs().max() > 1.0  # scrambled weights: logits far from zero, the comparison means something
    assert (mine - ref).abs().max() < 1e-5
    assert (mine[token_mask] - ref_implicit[token_mask]).abs().max() < 1e-5


def test_own_roberta_tied_decoder_dropout_and_shipped_keys():
    model = UnitMLM.from_config(dataclasses.replace(unit_mlm_preset("debug"), dropout=0.3), U, seed=0)
    net = model.roberta
    assert net.lm_head.decoder.weight is net.roberta.embeddings.word_embeddings.weight  # tied
    assert net.lm_head.decoder.bias is net.lm_head.bias
    assert not net.roberta.embeddings.word_embeddings.weight[PAD_ID].any()  # padding rows start at zero
    assert not net.roberta.embeddings.position_embeddings.weight[PAD_ID].any()
    units = torch.randint(0, U, (2, 16), generator=torch.Generator().manual_seed(0))
    model.train()
    assert not torch.equal(model(units), model(units))  # dropout is active in training
    model.eval()
    assert torch.equal(model(units), model(units))


def test_shipped_mlm_file_loads_unchanged():
    """models/imagintalk/mlm.safetensors, written with transformers' RoBERTa, fits ours key for key."""
    shipped = DEFAULT_MODEL_DIR / "mlm.safetensors"
    model = UnitMLM.from_config(load_config_of(DEFAULT_MODEL_DIR).mlm, U)
    weights = read_weights(shipped)
    assert sorted(weights) == sorted(model.state_dict())
    load_module_weights(shipped, model, strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key]), key
