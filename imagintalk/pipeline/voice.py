"""User controls over the style conditions: a fixed voice from a reference recording, expressiveness.

The face-style adapter maps a face to c_id [D_id], trained so that its speaker head
(SiLU + Linear, D_id -> 256) predicts the resemblyzer embedding of the voice. A reference
recording gives that embedding directly; :func:`voice_from_reference` inverts the frozen head
by a few hundred gradient steps on c_id alone (milliseconds), so the Style-DiT hears the
reference's voice instead of the face's. The head maps D_id (64) dimensions into 256, so
only the part of the embedding inside its range is reachable: the achieved cosine is
reported, and a small weight decay keeps c_id near the scale the DiT was trained on.

Expressiveness scales how far c_emo [T_tok, D_emo] moves away from its own mean over the
window: 0 keeps the window's average expression throughout (steady prosody), 1 is the
model as trained, above 1 exaggerates the face's changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import InputError
from ..features.speaker_embedding import speaker_embedding


@dataclass
class ReferenceVoice:
    c_id: Tensor  # [1, D_id], the style that reproduces the reference's speaker embedding
    cosine: float  # achieved cosine between the head's prediction and the reference embedding
    source: str


def load_reference_audio(
    source: str | Path | np.ndarray, sample_rate: int | None = None
) -> tuple[np.ndarray, int]:
    """A wav path or mono samples -> (float32 [N], rate); InputError on unreadable or silent audio."""
    import soundfile as sf

    if isinstance(source, np.ndarray):
        if sample_rate is None:
            raise InputError("reference samples need their sample rate")
        wav, rate = np.asarray(source, np.float32), int(sample_rate)
    else:
        try:
            wav, rate = sf.read(str(source), dtype="float32", always_2d=True)
        except (OSError, RuntimeError) as exc:
            raise InputError(f"cannot read the reference recording {source}: {exc}") from None
        wav = wav.mean(axis=1)
    if wav.ndim != 1 or len(wav) == 0 or not np.isfinite(wav).all():
        raise InputError("the reference recording must be non-empty mono audio")
    if float(np.abs(wav).max()) < 1e-4:
        raise InputError("the reference recording is silent")
    return wav, rate


def invert_speaker_head(
    head: nn.Module, target: Tensor, id_dim: int, steps: int = 300, lr: float = 0.05, decay: float = 1e-3
) -> tuple[Tensor, float]:
    """c_id [1, D_id] whose head(c_id) points along ``target`` [256] (unit norm) -> (c_id, cosine)."""
    device = next(head.parameters()).device
    generator = torch.Generator().manual_seed(0)  # deterministic start
    c_id = (0.01 * torch.randn(1, id_dim, generator=generator)).to(device).requires_grad_(True)
    optimiser = torch.optim.Adam([c_id], lr=lr)
    target = F.normalize(target.reshape(1, -1).float().to(device), dim=-1)  # [1, 256]
    for _ in range(steps):
        optimiser.zero_grad()
        cosine = F.cosine_similarity(head(c_id), target).mean()
        loss = 1.0 - cosine + decay * c_id.pow(2).mean()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        final = float(F.cosine_similarity(head(c_id), target).mean())
    return c_id.detach(), final


def voice_from_reference(
    style: nn.Module, source: str | Path | np.ndarray, sample_rate: int | None = None
) -> ReferenceVoice:
    """A reference recording (path or samples) -> the c_id of its voice for this style adapter."""
    wav, rate = load_reference_audio(source, sample_rate)
    embedding = torch.from_numpy(speaker_embedding(wav, rate))  # [256]
    head = style.speaker_head
    params = list(head.parameters())
    was = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(False)  # only c_id moves
        with torch.enable_grad():
            c_id, cosine = invert_speaker_head(head, embedding, style.cfg.id_dim)
    finally:
        for p, flag in zip(params, was):
            p.requires_grad_(flag)
    name = "samples" if isinstance(source, np.ndarray) else str(source)
    return ReferenceVoice(c_id, cosine, name)


def scale_expression(c_emo: Tensor, expressiveness: float) -> Tensor:
    """c_emo [B, T_tok, D_emo] with its deviations from the window mean scaled by ``expressiveness``."""
    if expressiveness == 1.0:
        return c_emo
    mean = c_emo.mean(dim=1, keepdim=True)  # [B, 1, D_emo]
    return mean + expressiveness * (c_emo - mean)
