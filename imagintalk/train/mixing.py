"""Several training datasets in one run, each drawn with its own weight (``--data DIR:WEIGHT``).

Each epoch is a sequence of (dataset, clip) draws as long as all datasets together
(``sum(sizes)``): dataset d gets ``weight_d / sum(weights)`` of the draws (largest-remainder
rounding, so the shares are exact up to one draw), in an order shuffled by (seed, epoch). The
clips of one dataset come from an endless stream of its own permutations (seeded by
(seed, dataset, pass)): an up-weighted small set repeats each clip evenly, a down-weighted
large one sees other clips in the next epoch. The sequence depends only on (seed, epoch), is
cut to a multiple of the number of ranks and dealt out round-robin (rank r takes draws
r, r + n, ...), and, like :class:`~imagintalk.train.sampler.ResumableSampler`, can start
``skip`` draws into this rank's share (resume mid-epoch).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from torch.utils.data import Dataset, Sampler

MIX_TAG = 0x6D6978  # "mix": keeps these generators apart from the others seeded by the run's seed


def draw_counts(total: int, weights: Sequence[float]) -> np.ndarray:
    """Draws per dataset in an epoch of ``total``: proportional to ``weights``, summing to ``total``."""
    share = np.asarray(weights, dtype=np.float64) / float(np.sum(weights))
    exact = share * total
    counts = np.floor(exact).astype(np.int64)
    # the draws floor() left over go to the largest remainders (ties: the earlier dataset)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - int(counts.sum())]] += 1
    return counts


def clip_stream(size: int, start: int, count: int, seed: int, dataset: int) -> np.ndarray:
    """Positions [start, start + count) of dataset ``dataset``'s endless stream of permutations."""
    first, last = start // size, (start + count - 1) // size
    passes = [
        np.random.default_rng([seed, MIX_TAG, dataset, p]).permutation(size) for p in range(first, last + 1)
    ]
    stream = np.concatenate(passes) if passes else np.zeros(0, np.int64)
    offset = start - first * size
    return stream[offset : offset + count]


def epoch_order(sizes: Sequence[int], weights: Sequence[float], seed: int, epoch: int) -> np.ndarray:
    """The epoch's draws [sum(sizes), 2] int64: (dataset, clip index within it), in training order."""
    total = int(sum(sizes))
    counts = draw_counts(total, weights)
    labels = np.repeat(np.arange(len(sizes)), counts)  # [total]
    np.random.default_rng([seed, MIX_TAG, epoch]).shuffle(labels)
    clips = np.empty(total, dtype=np.int64)
    for d, (size, count) in enumerate(zip(sizes, counts)):
        # epoch e takes the next ``count`` clips of dataset d's stream (its share is the same each epoch)
        clips[labels == d] = clip_stream(size, epoch * int(count), int(count), seed, d)
    return np.stack([labels, clips], axis=1)


class MixedDataset(Dataset):
    """Several datasets behind one index: [0, n_0) the first one's items, [n_0, n_0 + n_1) the next, ..."""

    def __init__(self, datasets: Sequence[Dataset], weights: Sequence[float]) -> None:
        if len(datasets) != len(weights) or not datasets:
            raise ValueError("one weight per dataset, at least one dataset")
        if any(not np.isfinite(w) or w <= 0 for w in weights):
            raise ValueError(f"dataset weights must be positive, got {list(weights)}")
        self.datasets, self.weights = list(datasets), [float(w) for w in weights]
        self.sizes = [len(d) for d in self.datasets]  # type: ignore[arg-type]
        if min(self.sizes) < 1:
            raise ValueError("every mixed dataset needs at least one item")
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).tolist()

    def set_epoch(self, epoch: int) -> None:
        for dataset in self.datasets:
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, index: int) -> Any:
        d = bisect.bisect_right(self.offsets, index) - 1
        return self.datasets[d][index - self.offsets[d]]

    def sampler(self, num_replicas: int, rank: int, shuffle: bool, seed: int) -> WeightedMixSampler:
        """The Trainer's ``sampler_factory`` (the mix is always drawn; ``shuffle`` does not apply)."""
        return WeightedMixSampler(self.sizes, self.weights, num_replicas, rank, seed)


class WeightedMixSampler(Sampler[int]):
    """This rank's share of the epoch's weighted draws, as indices of a :class:`MixedDataset`."""

    def __init__(
        self, sizes: Sequence[int], weights: Sequence[float], num_replicas: int, rank: int, seed: int
    ) -> None:
        self.sizes, self.weights = list(sizes), list(weights)
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])[:-1]
        self.num_replicas, self.rank, self.seed = num_replicas, rank, seed
        self.epoch, self.skip = 0, 0
        # the tail that does not divide among the ranks is left out (each rank the same count)
        self.num_samples = int(sum(self.sizes)) // num_replicas

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's whole share of the epoch [num_samples] (before ``skip``)."""
        order = epoch_order(self.sizes, self.weights, self.seed, self.epoch)
        flat = self.offsets[order[:, 0]] + order[:, 1]  # [total] MixedDataset indices
        return flat[: self.num_samples * self.num_replicas][self.rank :: self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices()[self.skip :].tolist())

    def __len__(self) -> int:
        return max(0, self.num_samples - self.skip)


def mix(datasets: Sequence[Dataset], weights: Sequence[float]) -> Dataset:
    """One dataset as it is (the plain sampler, as before mixing existed); several as a MixedDataset."""
    return datasets[0] if len(datasets) == 1 else MixedDataset(datasets, weights)


def sampler_factory(dataset: Dataset) -> Any:
    """The Trainer's ``sampler_factory`` for ``dataset`` (None: the default ResumableSampler)."""
    return dataset.sampler if isinstance(dataset, MixedDataset) else None
