"""The benchmark's own utterances: SynthTalk clips joined into 3, 10 and 30 s videos.

SynthTalk clips last ~2 s, so an N-second utterance is the frames of a few clips, in turn, cut to
N x fps frames. No dataset is needed: a fresh clone measures on inputs it renders itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..settings.synth import SynthConfig
from ..synth.corpus import generate_corpus
from ..synth.media import read_video, write_video


def render_utterances(
    out_dir: Path, seconds: list[float], cfg: SynthConfig, clips: int = 3
) -> dict[float, Path]:
    """Write utt_<N>s.mp4 for each duration N under ``out_dir``; {N: path}."""
    generate_corpus(out_dir / "synth", clips, seed=0, split="test", cfg=cfg, workers=1, progress=False)
    videos = [
        read_video(path) for path in sorted((out_dir / "synth" / "video").glob("*.mp4"))
    ]  # [T, H, W, 3]
    joined = np.concatenate(videos)
    paths = {}
    for duration in seconds:
        frames = int(round(duration * cfg.fps))
        repeats = -(-frames // len(joined))  # ceil: the clips again, in turn, for a long utterance
        path = out_dir / f"utt_{duration:g}s.mp4"
        write_video(path, np.concatenate([joined] * repeats)[:frames], cfg.fps)
        paths[duration] = path
    return paths
