"""Stage-3 condition dropout: which conditions a clip loses, and that nothing else changes."""

import pytest
import torch

from imagintalk.errors import InputError
from imagintalk.train.condition_dropout import drop_conditions


def make_batch(b: int = 64, length: int = 10) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(3, length + 1, (b,), generator=g)
    mask = torch.arange(length)[None] < lengths[:, None]  # [B, L]
    return {
        "codes": torch.randint(0, 8, (b, 2, length), generator=g),
        "c_lip": torch.randn(b, length, 4, generator=g) * mask[..., None],
        "c_id": torch.randn(b, 3, generator=g),
        "c_emo": torch.randn(b, length, 5, generator=g) * mask[..., None],
        "token_mask": mask,
    }


def test_zero_probabilities_return_the_batch_unchanged():
    batch = make_batch()
    assert drop_conditions(batch, 0.0, 0.0) is batch


def test_dropped_clips_lose_every_condition_and_the_rest_keep_them():
    batch = make_batch()
    out = drop_conditions(batch, 0.5, 0.0, torch.Generator().manual_seed(1))
    dropped = out["c_id"].abs().sum(1) == 0  # [B]
    assert 0 < int(dropped.sum()) < len(dropped)  # about half of 64
    assert torch.all(out["c_lip"][dropped] == 0) and torch.all(out["c_emo"][dropped] == 0)
    for key in ("c_lip", "c_id", "c_emo"):
        assert torch.equal(out[key][~dropped], batch[key][~dropped])
    assert torch.equal(out["codes"], batch["codes"]) and torch.equal(out["token_mask"], batch["token_mask"])
    assert batch["c_id"].abs().sum(1).min() > 0  # the input batch is untouched


def test_flattened_clips_hold_their_mean_expression_on_real_frames_only():
    batch = make_batch()
    out = drop_conditions(batch, 0.0, 0.5, torch.Generator().manual_seed(2))
    changed = [i for i in range(64) if not torch.equal(out["c_emo"][i], batch["c_emo"][i])]
    assert 10 < len(changed) < 54
    for i in changed:
        real = batch["token_mask"][i]
        expected = batch["c_emo"][i][real].mean(0)  # [D_emo]
        torch.testing.assert_close(out["c_emo"][i][real], expected.expand(int(real.sum()), -1))
        assert torch.all(out["c_emo"][i][~real] == 0)
    assert torch.equal(out["c_lip"], batch["c_lip"]) and torch.equal(out["c_id"], batch["c_id"])


def test_the_same_generator_seed_drops_the_same_clips():
    batch = make_batch()
    a = drop_conditions(batch, 0.3, 0.3, torch.Generator().manual_seed(5))
    b = drop_conditions(batch, 0.3, 0.3, torch.Generator().manual_seed(5))
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("drop_all, flatten", [(1.0, 0.0), (-0.1, 0.0), (0.0, 1.5)])
def test_probabilities_out_of_range_are_refused(drop_all, flatten):
    with pytest.raises(InputError):
        drop_conditions(make_batch(), drop_all, flatten)
