"""Generate a SynthTalk split: clips in parallel, then one atomically written manifest."""

from __future__ import annotations

import multiprocessing
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..manifest import MANIFEST, write_manifest
from ..settings.synth import SynthConfig
from .clip import SPLITS, check_renderer, render_clip
from .emotions import check_emotions
from .speakers import check_only_speaker, check_pool


@dataclass
class CorpusSummary:
    manifest: Path
    clips: int
    total_seconds: float
    speakers: int
    emotions: dict[str, int]


def _check_args(out_dir: Path, num_clips: int, split: str, cfg: SynthConfig) -> None:
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if num_clips < 1:
        raise InputError(f"--clips must be at least 1, got {num_clips}")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output path {out_dir} exists and is not a directory")
    if cfg.image_size < 64 or cfg.fps != 25 or cfg.sample_rate % cfg.fps:
        raise InputError("synth needs image_size >= 64, fps 25 and a sample rate divisible by the fps")
    check_pool(cfg)
    check_emotions(cfg.emotions)
    check_renderer(cfg.renderer)
    check_only_speaker(split, cfg)


def _init_worker() -> None:
    # one thread per worker process: the machine's cores are the pool's to share
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    import cv2

    cv2.setNumThreads(1)


def _make_clip(job: tuple[str, int, str, int, SynthConfig]) -> dict[str, Any]:
    out_dir, seed, split, index, cfg = job
    record, _ = render_clip(Path(out_dir), seed, split, index, cfg)
    return record


def generate_corpus(
    out_dir: str | Path,
    num_clips: int,
    seed: int,
    split: str,
    cfg: SynthConfig | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Write clips ``split_00000 .. split_{num_clips-1}`` under ``out_dir``; return the manifest path.

    ``workers``: processes (None -> cfg.workers; 0 -> one per CPU core; 1 -> in this process).
    """
    return generate_corpus_summary(out_dir, num_clips, seed, split, cfg, workers, progress).manifest


def generate_corpus_summary(
    out_dir: str | Path,
    num_clips: int,
    seed: int,
    split: str,
    cfg: SynthConfig | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> CorpusSummary:
    """:func:`generate_corpus`, returning a summary of the clips made."""
    from tqdm import tqdm

    cfg = cfg or SynthConfig()
    out = Path(out_dir)
    _check_args(out, num_clips, split, cfg)
    try:
        (out / "video").mkdir(parents=True, exist_ok=True)
        (out / "audio").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output directory {out}: {exc.strerror}") from None
    workers = cfg.workers if workers is None else workers
    workers = min(workers or os.cpu_count() or 1, num_clips)
    jobs = [(str(out), seed, split, i, cfg) for i in range(num_clips)]
    bar = dict(total=num_clips, desc=f"synth {split}", unit="clip", disable=not progress, file=sys.stderr)
    if workers <= 1:
        records = [_make_clip(job) for job in tqdm(jobs, **bar)]
    else:
        # forkserver, not fork: a fork of a process whose OpenCV / OpenMP threads hold a lock
        # deadlocks the child (seen after the caller had prepared clips); each worker builds
        # its own espeak engine
        context = multiprocessing.get_context("forkserver" if sys.platform.startswith("linux") else "spawn")
        with context.Pool(workers, initializer=_init_worker) as pool:
            records = list(tqdm(pool.imap(_make_clip, jobs, chunksize=1), **bar))
    manifest = out / MANIFEST
    write_manifest(manifest, records)
    emotions: dict[str, int] = {}
    for r in records:
        emotions[r["emotion"]] = emotions.get(r["emotion"], 0) + 1
    return CorpusSummary(
        manifest=manifest,
        clips=len(records),
        total_seconds=sum(r["duration"] for r in records),
        speakers=len({r["speaker"] for r in records}),
        emotions=emotions,
    )
