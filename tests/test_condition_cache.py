"""The stage-3 condition cache is read clip by clip from its file (memory-mapped), not loaded whole."""

from __future__ import annotations

import pickle

import torch
from torch.utils.data import DataLoader

from imagintalk.train.conditions import CachedConditions, ConditionDataset, _flat, _save, collate_conditions


def _items(count: int) -> dict[int, dict[str, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    return {
        i: {
            "codes": torch.randint(0, 64, (4, 10 + 2 * i), generator=gen),
            "c_lip": torch.randn(10 + 2 * i, 8, generator=gen),
            "c_emo": torch.randn(10 + 2 * i, 6, generator=gen),
            "c_id": torch.randn(5, generator=gen),
        }
        for i in range(count)
    }


def test_cached_conditions_read_each_clip_from_the_file(tmp_path) -> None:
    items = _items(5)
    path = tmp_path / "conditions_train_x.safetensors"
    _save(_flat(items), path, len(items))
    cached = CachedConditions(path)
    assert len(cached) == 5
    for i, item in enumerate(cached):
        assert set(item) == set(items[i]) and all(torch.equal(item[k], items[i][k]) for k in item)
    coarse = cached.keep_levels(2)
    assert torch.equal(coarse[3]["codes"], items[3]["codes"][:2]) and cached[3]["codes"].shape[0] == 4
    again = pickle.loads(pickle.dumps(coarse))  # spawned DataLoader workers get a copy without the handle
    assert torch.equal(again[4]["c_lip"], items[4]["c_lip"]) and again.levels == 2


def test_dataloader_workers_read_the_cache_in_their_own_processes(tmp_path) -> None:
    items = _items(6)
    path = tmp_path / "conditions_train_y.safetensors"
    _save(_flat(items), path, len(items))
    dataset = ConditionDataset(CachedConditions(path).keep_levels(3), None, 2, seed=0)
    dataset.items[0]  # the parent opened its handle: the forked workers must open their own
    loader = DataLoader(dataset, batch_size=3, num_workers=2, collate_fn=collate_conditions)
    batches = list(loader)
    assert [b["codes"].shape for b in batches] == [torch.Size([3, 3, 14]), torch.Size([3, 3, 20])]
    assert torch.equal(batches[1]["c_id"][2], items[5]["c_id"])
