"""Spectrogram comparison figures: ground truth above each system, one PNG per clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def log_spectrogram(wav: np.ndarray, sr: int) -> np.ndarray:
    """Magnitude in dB, 25 ms Hann windows every 10 ms: float [freq, time]."""
    from scipy.signal import stft

    nper = int(0.025 * sr)
    _, _, z = stft(wav, fs=sr, nperseg=nper, noverlap=nper - int(0.01 * sr))
    return 20.0 * np.log10(np.abs(z) + 1e-6)


def plot_comparison(
    clip_id: str, signals: dict[str, np.ndarray], sr: int, path: Path, title: str = ""
) -> None:
    """Write a PNG with one spectrogram row per entry of ``signals`` (name -> wav [N])."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers
    import matplotlib.pyplot as plt

    specs = {name: log_spectrogram(wav, sr) for name, wav in signals.items()}
    top = max(float(s.max()) for s in specs.values())
    fig, axes = plt.subplots(len(specs), 1, figsize=(8, 1.9 * len(specs)), sharex=True, squeeze=False)
    for ax, (name, spec) in zip(axes[:, 0], specs.items()):
        duration = spec.shape[1] * 0.01
        ax.imshow(
            spec,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=top - 80.0,  # same 80 dB colour range for every row
            vmax=top,
            extent=(0.0, duration, 0.0, sr / 2000.0),
        )
        ax.set_ylabel("kHz")
        ax.set_title(name, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    fig.suptitle(f"{clip_id}: {title}" if title else clip_id, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
