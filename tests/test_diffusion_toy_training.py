"""End to end: the debug Style-DiT learns a toy token pattern with the score-entropy loss."""

import torch
import torch.nn.functional as F

from imagintalk.diffusion import LogLinearNoise, diffusion_loss, sample
from imagintalk.models import StyleDiT
from imagintalk.settings.dit import dit_preset

T = 12


def toy_batch(cfg, gen, batch_size):
    """Units (in c_lip) fix each frame's tokens up to a hidden per-sequence offset of 0 or 2.

    The offset is in no condition: the network must read it from already unmasked tokens, so a
    consistent sample needs the joint (diffusion) model, not per-position guesses.
    """
    units = torch.randint(0, 8, (batch_size, T), generator=gen)  # [B, T]
    c_lip = F.one_hot(units, cfg.lip_dim).float()  # [B, T, D_lip]
    offset = 2 * torch.randint(0, 2, (batch_size, 1, 1), generator=gen)  # [B, 1, 1]
    levels = torch.arange(cfg.num_codebooks).view(1, -1, 1)  # [1, K, 1]
    x0 = (units[:, None, :] * 7 + offset + levels * 3) % cfg.cardinality  # [B, K, T]
    return x0, c_lip, units


def test_debug_dit_learns_a_toy_pattern_and_sampling_reproduces_it():
    torch.manual_seed(0)
    cfg = dit_preset("debug")
    model = StyleDiT(cfg)
    k, n, batch = cfg.num_codebooks, cfg.cardinality, 16
    c_id, c_emo = torch.zeros(batch, cfg.id_dim), torch.zeros(batch, T, cfg.emo_dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen, noise = torch.Generator().manual_seed(0), LogLinearNoise()
    first_losses, last_losses = [], []
    for step in range(300):
        x0, c_lip, _ = toy_batch(cfg, gen, batch)
        loss, _ = diffusion_loss(model.score_fn(c_lip, c_id, c_emo), x0, n, noise, gen)
        loss = loss.mean() / (k * T)  # nats per token
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        (first_losses if step < 10 else last_losses if step >= 250 else []).append(loss.item())
    assert sum(last_losses) / len(last_losses) < 0.1 * sum(first_losses) / len(first_losses)

    model.eval()
    x0, c_lip, _ = toy_batch(cfg, torch.Generator().manual_seed(99), batch)
    for name in ("euler", "analytic"):
        result = sample(
            name,
            model.score_fn(c_lip, c_id, c_emo),
            (batch, k, T),
            n,
            generator=torch.Generator().manual_seed(1),
        )
        assert result.network_calls <= 65
        # compare each sequence with the nearer of its two valid patterns (offset 0 or 2)
        candidates = torch.stack([(x0 + d) % n for d in (0, 2, -2)])  # [3, B, K, T]
        matches = (candidates == result.tokens).flatten(2).float().mean(-1).max(0).values  # [B]
        print(f"{name}: token accuracy {matches.mean():.3f}, network calls {result.network_calls}")
        assert matches.mean() > 0.8, f"{name}: token accuracy {matches.mean():.2f} (chance 1/{n})"
