"""A DistributedSampler that can start an epoch part-way through (resume mid-epoch)."""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import Dataset, DistributedSampler


class ResumableSampler(DistributedSampler):
    """This rank's indices of the epoch (shuffled by seed + epoch), minus the first ``skip``.

    Works without a process group (``num_replicas=1, rank=0``): the order depends only on
    (seed, epoch), so a resumed run sees the same samples as an uninterrupted one.
    """

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int, shuffle: bool, seed: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        self.skip = 0

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.skip :])

    def __len__(self) -> int:
        return max(0, self.num_samples - self.skip)
