"""Pretrained neural codecs through transformers: DAC (16 kHz) and EnCodec (24 kHz).

``path=None`` builds the model from a default config with RANDOM weights (for shapes and
plumbing only: its output is noise; ``builders.build_codec`` refuses that unless
``codec.allow_random_weights``, which only tests set); a local directory (``save_pretrained`` layout,
safetensors) loads real weights with ``from_pretrained(path, local_files_only=True)``:
nothing is ever fetched from a hub.

EnCodec runs at 24 kHz internally; the wrapper declares ``sample_rate = 24000`` rather
than resampling, so callers resample their audio once (``imagintalk codec`` does).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from ..errors import CheckpointError
from .base import Codec

log = logging.getLogger(__name__)


def _load_pretrained(model_cls, path: str | Path):
    path = Path(path)
    if not (path / "config.json").is_file():
        raise CheckpointError(f"{path} is not a transformers model directory (no config.json)")
    if not any(path.glob("*.safetensors")):
        raise CheckpointError(f"{path} has no .safetensors weights (pickled .bin weights are never loaded)")
    try:
        return model_cls.from_pretrained(str(path), local_files_only=True, use_safetensors=True)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise CheckpointError(
            f"cannot load {model_cls.__name__} from {path}: {exc}".splitlines()[0]
        ) from None


class _HFCodec(Codec):
    """Shared plumbing: a transformers codec model in eval mode on the CPU."""

    def __init__(self, model, num_codebooks: int, cardinality: int, sample_rate: int, frame_rate: int):
        self.model = model.eval()
        self._k, self._c, self._sr, self._fr = num_codebooks, cardinality, sample_rate, frame_rate

    @property
    def sample_rate(self) -> int:
        return self._sr

    @property
    def frame_rate(self) -> int:
        return self._fr

    @property
    def num_codebooks(self) -> int:
        return self._k

    @property
    def cardinality(self) -> int:
        return self._c

    def _pad(self, wav: torch.Tensor) -> torch.Tensor:
        """Zero-pad wav [B, 1, N] to whole token frames so T == ceil(N / hop)."""
        if wav.ndim != 3 or wav.shape[1] != 1:
            raise ValueError(f"expected wav [B, 1, N], got {tuple(wav.shape)}")
        total = self.num_frames(wav.shape[-1]) * self.hop_length
        return torch.nn.functional.pad(wav.float(), (0, total - wav.shape[-1]))

    def _fit(self, wav: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Decoder output -> wav [B, 1, T * hop] (transposed convolutions may miss a few samples)."""
        wav = wav.reshape(codes.shape[0], 1, -1)
        total = codes.shape[-1] * self.hop_length
        return torch.nn.functional.pad(wav, (0, max(0, total - wav.shape[-1])))[..., :total]


class DacCodec(_HFCodec):
    """Descript Audio Codec, 16 kHz: 12 codebooks x 1024 at 50 Hz (hop 320)."""

    name = "dac"

    def __init__(self, path: str | Path | None = None) -> None:
        from transformers import DacConfig, DacModel

        if path is None:
            log.warning("DAC built with RANDOM weights (no checkpoint directory given): its output is noise")
            # the 16 kHz layout: strides 2*4*5*8 = 320 samples -> 50 Hz, 12 x 1024
            config = DacConfig(
                sampling_rate=16000,
                downsampling_ratios=[2, 4, 5, 8],
                upsampling_ratios=[8, 5, 4, 2],
                n_codebooks=12,
                codebook_size=1024,
                encoder_hidden_size=8,
                decoder_hidden_size=64,
                hidden_size=64,
            )
            model = DacModel(config)
        else:
            model = _load_pretrained(DacModel, path)
        cfg = model.config
        hop = int(torch.tensor(cfg.downsampling_ratios).prod())
        super().__init__(
            model, cfg.n_codebooks, cfg.codebook_size, cfg.sampling_rate, cfg.sampling_rate // hop
        )

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, N] -> codes [B, K, T] long."""
        return self.model.encode(self._pad(wav)).audio_codes.long()

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, K', T] (a prefix of the K levels) -> wav [B, 1, T * hop]."""
        self.check_codes(codes)
        return self._fit(self.model.decode(audio_codes=codes.long()).audio_values, codes)


class EncodecCodec(_HFCodec):
    """Meta EnCodec 24 kHz: 75 Hz token rate (hop 320); 1.5-24 kbps -> 2-32 codebooks x 1024.

    ``bandwidth`` picks how many codebooks are used (6.0 kbps -> 8 codebooks).
    """

    name = "encodec"

    def __init__(self, path: str | Path | None = None, bandwidth: float = 6.0) -> None:
        from transformers import EncodecConfig, EncodecModel

        if path is None:
            log.warning(
                "EnCodec built with RANDOM weights (no checkpoint directory given): its output is noise"
            )
            config = EncodecConfig(num_filters=4, hidden_size=32, codebook_dim=32, num_lstm_layers=1)
            model = EncodecModel(config)
        else:
            model = _load_pretrained(EncodecModel, path)
        cfg = model.config
        if bandwidth not in cfg.target_bandwidths:
            raise CheckpointError(f"EnCodec bandwidth {bandwidth} not in {cfg.target_bandwidths}")
        self.bandwidth = bandwidth
        hop = int(torch.tensor(cfg.upsampling_ratios).prod())
        frame_rate = cfg.sampling_rate // hop
        num_codebooks = int(1000 * bandwidth // (frame_rate * 10))
        super().__init__(model, num_codebooks, cfg.codebook_size, cfg.sampling_rate, frame_rate)

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, N] -> codes [B, K, T] long (one chunk: the whole clip)."""
        out = self.model.encode(self._pad(wav), bandwidth=self.bandwidth)
        return out.audio_codes[0].long()  # [chunks=1, B, K, T] -> [B, K, T]

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, K', T] (a prefix of the K levels) -> wav [B, 1, T * hop]."""
        self.check_codes(codes)
        return self._fit(self.model.decode(codes.long()[None], [None])[0], codes)
