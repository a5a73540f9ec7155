"""Residual vector quantisation: K codebooks of C entries over D-dim vectors, trained by k-means.

Level k quantises what levels 0..k-1 left over, so the first levels carry the coarse shape
and later levels refine it; every level's index is one token of the ``[K, T]`` code grid.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm


def nearest(x: torch.Tensor, codebook: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
    """x [N, D], codebook [C, D] -> index [N] of the nearest entry (squared Euclidean)."""
    half_norm = 0.5 * (codebook * codebook).sum(1)
    out = torch.empty(len(x), dtype=torch.long)
    for start in range(0, len(x), chunk):
        # argmin |x - c|^2 = argmax (x.c - |c|^2 / 2)
        out[start : start + chunk] = (x[start : start + chunk] @ codebook.T - half_norm).argmax(1)
    return out


class ResidualVQ:
    """codebooks [K, C, D]; encode x [N, D] -> codes [N, K]; decode codes -> [N, D]."""

    def __init__(self, codebooks: torch.Tensor, refine_passes: int = 2) -> None:
        if codebooks.ndim != 3:
            raise ValueError(f"codebooks must be [K, C, D], got {tuple(codebooks.shape)}")
        self.codebooks = codebooks.float().contiguous()
        self.refine_passes = refine_passes

    @property
    def num_levels(self) -> int:
        return self.codebooks.shape[0]

    @property
    def cardinality(self) -> int:
        return self.codebooks.shape[1]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Greedy residual coding, then ``refine_passes`` rounds of coordinate descent.

        Refinement re-picks each level's entry with all other levels fixed; the total error
        never grows. It helps most on vectors unlike the training data (real speech for
        codebooks trained on synthetic speech), where greedy early choices are poor.
        """
        residual = x.float().clone()
        codes = torch.empty(len(x), self.num_levels, dtype=torch.long)
        for level, codebook in enumerate(self.codebooks):
            idx = nearest(residual, codebook)
            codes[:, level] = idx
            residual -= codebook[idx]
        for _ in range(self.refine_passes):
            for level, codebook in enumerate(self.codebooks):
                residual += codebook[codes[:, level]]
                idx = nearest(residual, codebook)
                codes[:, level] = idx
                residual -= codebook[idx]
        return codes

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [N, K'] (the first K' <= K levels) -> vectors [N, D]: the sum of their entries."""
        out = torch.zeros(codes.shape[0], self.codebooks.shape[2])
        for level in range(codes.shape[1]):
            out += self.codebooks[level][codes[:, level]]
        return out


def kmeans(x: torch.Tensor, num_clusters: int, iterations: int, generator: torch.Generator) -> torch.Tensor:
    """Lloyd's k-means with k-means++-lite seeding: x [N, D] -> centroids [num_clusters, D].

    Empty clusters are re-seeded from the points worst served by their centroid, so every
    codebook entry stays in use.
    """
    n = len(x)
    if n < num_clusters:  # too little data: repeat points with a little jitter
        reps = -(-num_clusters // n)
        x = x.repeat(reps, 1) + 1e-3 * torch.randn(n * reps, x.shape[1], generator=generator)
        n = len(x)
    centroids = x[torch.randperm(n, generator=generator)[:num_clusters]].clone()
    for _ in range(iterations):
        idx = nearest(x, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, idx, x)
        counts = torch.bincount(idx, minlength=num_clusters).float()
        used = counts > 0
        centroids[used] = sums[used] / counts[used, None]
        if (~used).any():
            err = ((x - centroids[idx]) ** 2).sum(1)
            worst = torch.topk(err, int((~used).sum())).indices
            centroids[~used] = x[worst]
    return centroids


def train_rvq(
    x: np.ndarray | torch.Tensor,
    num_levels: int,
    cardinality: int,
    iterations: int = 20,
    seed: int = 0,
    progress: bool = True,
    full_levels: int | None = None,
    groups: list[np.ndarray] | None = None,
) -> ResidualVQ:
    """Greedy level-by-level k-means on the residuals: x [N, D] -> a trained ResidualVQ.

    The first ``full_levels`` levels quantise the whole vector (the coarse, data-specific
    structure). Each later level quantises one dimension group only (its entries are zero
    elsewhere), picked by reverse water-filling: the group whose residual energy E_g would
    shrink most with 10 more bits over its d_g dimensions, E_g * (1 - 2^(-2 log2(C) / d_g)).
    Low-dimensional residual codebooks are dense and generic, so they also serve speech
    unlike the training speech.
    """
    generator = torch.Generator().manual_seed(seed)
    residual = torch.as_tensor(np.asarray(x), dtype=torch.float32).clone()
    full_levels = num_levels if full_levels is None or not groups else full_levels
    bits = float(np.log2(cardinality))
    books = []
    for level in tqdm(range(num_levels), desc="rvq levels", disable=not progress, leave=False):
        if level < full_levels:
            dims = torch.arange(residual.shape[1])
        else:
            energy = residual.pow(2).mean(0)
            gains = [float(energy[g].sum()) * (1 - 2 ** (-2 * bits / len(g))) for g in groups]
            dims = torch.as_tensor(groups[int(np.argmax(gains))])
        book = torch.zeros(cardinality, residual.shape[1])
        book[:, dims] = kmeans(residual[:, dims].contiguous(), cardinality, iterations, generator)
        residual -= book[nearest(residual, book)]
        books.append(book)
    return ResidualVQ(torch.stack(books))
