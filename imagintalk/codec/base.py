"""The typed codec interface: waveforms <-> discrete RVQ codes ``[B, K, T]``."""

from __future__ import annotations

import abc

import torch


class Codec(abc.ABC):
    """A speech codec whose token space the model generates in.

    ``encode`` maps ``wav [B, 1, N]`` (float, -1..1, at ``sample_rate``) to integer codes
    ``[B, K, T]`` with ``K = num_codebooks`` levels of ``cardinality`` entries and
    ``T = ceil(N * frame_rate / sample_rate)``; ``decode`` maps codes back to
    ``wav [B, 1, T * sample_rate / frame_rate]``. ``decode`` also takes a coarse prefix
    ``[B, K', T]`` of the levels (1 <= K' <= K): the finer levels are left out, as residual
    VQs decode with fewer quantizers (a model may generate only the coarse levels).
    """

    name: str = "codec"

    @property
    @abc.abstractmethod
    def sample_rate(self) -> int: ...

    @property
    @abc.abstractmethod
    def frame_rate(self) -> int: ...

    @property
    @abc.abstractmethod
    def num_codebooks(self) -> int: ...

    @property
    @abc.abstractmethod
    def cardinality(self) -> int: ...

    @abc.abstractmethod
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, N] float -> codes [B, K, T] long."""

    @abc.abstractmethod
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, K', T] long (the first K' <= K levels) -> wav [B, 1, T * hop] float."""

    # --- the code-vector space (residual VQs whose codewords are summed; optional) ---------------
    @property
    def vector_dim(self) -> int | None:
        """D of the code vectors, or None when the codec does not expose them."""
        return None

    def vectors(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, K', T] -> the summed codewords of those levels [B, T, D]."""
        raise NotImplementedError(f"the {self.name} codec does not expose its code vectors")

    def residual_codes(self, residual: torch.Tensor, first_level: int) -> torch.Tensor:
        """residual [B, T, D] -> codes [B, K - first_level, T] of levels first_level.. (greedy)."""
        raise NotImplementedError(f"the {self.name} codec does not expose its code vectors")

    def check_codes(self, codes: torch.Tensor) -> None:
        """Raise ValueError unless codes is [B, K', T] with 1 <= K' <= K levels."""
        if codes.ndim != 3 or not 1 <= codes.shape[1] <= self.num_codebooks:
            raise ValueError(
                f"expected codes [B, K', T] with 1 <= K' <= {self.num_codebooks} levels, "
                f"got {tuple(codes.shape)}"
            )

    @property
    def hop_length(self) -> int:
        """Samples per token frame."""
        return self.sample_rate // self.frame_rate

    def num_frames(self, num_samples: int) -> int:
        """Token frames for a waveform of ``num_samples`` samples."""
        return -(-num_samples // self.hop_length)

    def round_trip(self, wav: torch.Tensor) -> torch.Tensor:
        """Encode then decode, trimmed / padded to the input length: wav [B,1,N] -> [B,1,N]."""
        n = wav.shape[-1]
        out = self.decode(self.encode(wav))
        if out.shape[-1] >= n:
            return out[..., :n]
        return torch.nn.functional.pad(out, (0, n - out.shape[-1]))
