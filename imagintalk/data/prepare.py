"""``imagintalk prepare``: every clip of a data dir -> ``DIR/features/<id>.npz`` (see ``feature_file``).

Each clip is written as its own file, atomically, so a killed run continues where it stopped;
with ``pack``, a shard that has finished moves its clips into packs
``features/pack-<I>of<N>-<seq>.zip`` of at most ``data_cfg.pack_clips`` clips (``feature_store``):
few large files for a cluster file system, named by shard so machines never write the same file.
Clips already prepared (loose or packed) are skipped (unless ``overwrite``); a clip that fails is counted
and reported by kind (no face, silent audio, ...: see ``extract.SKIP_KINDS``), never fatal;
``shard=(i, n)`` takes clips i, i+n, ...; ``workers`` processes
each load the models once and run one torch thread. The codec is pinned in
``features/codec.json``: preparing with another codec is refused.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..builders import load_codec
from ..errors import ImaginTalkError, InputError
from ..manifest import MANIFEST, check_clip_ids, read_manifest
from ..settings import Config
from ..settings.data import DataConfig
from .codec_identity import check_same_codec, codec_identity, read_pinned, token_rate_factor
from .extract import ClipExtractor, skip_kind
from .feature_file import CODEC_FILE, FEATURES_DIR, is_complete, read_features, write_features
from .feature_store import (
    PACK_GLOB,
    PACK_NAME,
    FeatureRef,
    next_seq,
    pack_members,
    pack_name,
    scan,
    write_pack,
)

log = logging.getLogger(__name__)


@dataclass
class PrepareReport:
    data_dir: str
    shard: str
    codec: dict[str, Any]
    clips: int = 0
    prepared: int = 0
    skipped_existing: int = 0
    failed: int = 0
    frames: int = 0  # video frames of the clips prepared in this run
    detected_frames: int = 0
    detection_rate: float = 0.0
    seconds: float = 0.0
    seconds_per_clip: float = 0.0
    bytes_per_clip: float = 0.0
    packs: list[str] = field(default_factory=list)  # the packs this run wrote
    failures: dict[str, str] = field(default_factory=dict)  # clip id -> its one-line error
    skipped_by_reason: dict[str, int] = field(default_factory=dict)  # kind (``skip_kind``) -> clips

    def ids_by_reason(self) -> dict[str, list[str]]:
        """Kind -> the ids of the clips skipped for it (manifest order), most common kind first."""
        out: dict[str, list[str]] = {}
        for clip_id, error in self.failures.items():
            out.setdefault(skip_kind(error), []).append(clip_id)
        return dict(sorted(out.items(), key=lambda item: (-len(item[1]), item[0])))


def read_entries(data_dir: Path) -> list[dict[str, Any]]:
    """DIR/manifest.jsonl -> its entries (each with a file-safe ``id``)."""
    path = data_dir / MANIFEST
    if not path.is_file():
        raise InputError(f"{data_dir} has no {MANIFEST} (expected a SynthTalk-style data dir)")
    entries = read_manifest(path)
    check_clip_ids(entries, path)
    return entries


# --- worker processes: one extractor each, built once --------------------------------------
_EXTRACTOR = None
_WORKER_ERROR = ""  # why this worker could not start (an initializer that raises makes Pool respawn forever)


def _error_line(exc: Exception) -> str:
    message = str(exc) if isinstance(exc, ImaginTalkError) else f"{type(exc).__name__}: {exc}"
    return message.splitlines()[0] if message.strip() else type(exc).__name__


def _init_worker(cfg: Config, data_cfg: DataConfig, fingerprint: str) -> None:
    global _EXTRACTOR, _WORKER_ERROR
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        import torch

        torch.set_num_threads(1)
        extractor = ClipExtractor(cfg, load_codec(cfg), data_cfg)
        if extractor.identity["fingerprint"] != fingerprint:  # e.g. a codec whose weights are not seeded
            raise ImaginTalkError("the codec loaded in a worker differs from the parent's; use --workers 1")
        _EXTRACTOR = extractor
    except Exception as exc:
        _WORKER_ERROR = _error_line(exc)


def _prepare_one(job: tuple[dict[str, Any], str, str]) -> tuple[str, str, int, int, int]:
    """(entry, data dir, output path) -> (id, error or "", frames, detected frames, bytes)."""
    entry, data_dir, out = job
    if _WORKER_ERROR:
        return str(entry.get("id")), _WORKER_ERROR, 0, 0, 0
    try:
        arrays = _EXTRACTOR(entry, Path(data_dir))
        path = write_features(Path(out), arrays)
    except Exception as exc:  # one bad clip must not end a long dataset run
        return str(entry.get("id")), _error_line(exc), 0, 0, 0
    return str(entry["id"]), "", int(arrays["num_frames"]), int(arrays["detected"].sum()), path.stat().st_size


def own_tmp(path: Path) -> Path:
    """A temporary name for ``path`` no other process (on any machine sharing the dir) uses."""
    return path.with_name(f"{path.name}.{socket.gethostname()}.{os.getpid()}.tmp")


def _pin_codec(features_dir: Path, identity: dict[str, Any], overwrite: bool) -> None:
    pinned_path = features_dir / CODEC_FILE
    pinned = read_pinned(pinned_path)
    if pinned is not None and not overwrite:
        check_same_codec(pinned, identity, f"{features_dir}")
    if pinned is None or overwrite:
        features_dir.mkdir(parents=True, exist_ok=True)
        tmp = own_tmp(pinned_path)  # every rank pins (the same identity) at once
        tmp.write_text(json.dumps(identity, indent=2) + "\n")
        tmp.replace(pinned_path)


def _drop_packs(features_dir: Path, shard: tuple[int, int], ids: set[str]) -> None:
    """--overwrite: the shard's own packs go (their clips are redone; a killed rerun redoes the rest).
    A pack of another shard layout holding some of these clips is refused: it cannot be half redone."""
    own = []
    for path in sorted(features_dir.glob(PACK_GLOB)):
        match = PACK_NAME.match(path.name)
        if match and (int(match[1]), int(match[2])) == shard:
            own.append(path)
        elif any(ref.clip_id in ids for ref in pack_members(path)):
            raise InputError(
                f"--overwrite --shard {shard[0]}/{shard[1]}: {path} holds clips of this shard but belongs to "
                "another shard layout; overwrite with that layout's --shard, or delete the pack"
            )
    for path in own:
        path.unlink()


def pack_shard(
    features_dir: Path, ids: set[str], shard: tuple[int, int], fingerprint: str, per_pack: int
) -> list[str]:
    """Move the finished loose clips among ``ids`` into new packs of the shard; -> their names.

    Each pack is complete (temp name, then renamed) before its loose files are deleted; a clip
    found both loose and packed (a run killed between the two) keeps its packed copy.
    """
    loose, packed = scan(features_dir)
    in_packs = {ref.clip_id for ref in packed}
    mine = [ref for ref in loose if ref.clip_id in ids]
    leftovers = [ref for ref in mine if ref.clip_id in in_packs]
    todo = [ref for ref in mine if ref.clip_id not in in_packs and _already_done(ref, fingerprint)]
    names, seq = [], next_seq(features_dir, shard)
    for start in range(0, len(todo), per_pack):
        chunk = todo[start : start + per_pack]
        names.append(write_pack(features_dir / pack_name(shard, seq + len(names)), chunk).name)
        for ref in chunk:
            ref.path.unlink()
    for ref in leftovers:
        ref.path.unlink()
    return names


def _already_done(path: Path | FeatureRef, fingerprint: str) -> bool:
    return (
        is_complete(path) and read_features(path, ("codec_fingerprint",))["codec_fingerprint"] == fingerprint
    )


def prepare_dataset(
    data_dir: str | Path,
    cfg: Config,
    data_cfg: DataConfig | None = None,
    shard: tuple[int, int] = (0, 1),
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    pack: bool = False,
) -> PrepareReport:
    """Prepare the shard's clips of ``data_dir``, then pack them (``pack``); write and return the report."""
    from tqdm import tqdm

    start = time.time()
    data_dir, data_cfg = Path(data_dir), data_cfg or DataConfig()
    entries = read_entries(data_dir)[shard[0] :: shard[1]]
    codec = load_codec(cfg)
    identity = codec_identity(codec)
    token_rate_factor(codec.frame_rate, cfg.video.fps, cfg.units.frame_rate)  # fail early, before any clip
    if pack and data_cfg.pack_clips < 1:
        raise InputError(f"data.pack_clips must be >= 1, got {data_cfg.pack_clips}")
    features_dir = data_dir / FEATURES_DIR
    if overwrite:  # before the new codec is pinned: a refusal leaves the dir as it was
        _drop_packs(features_dir, shard, {str(entry["id"]) for entry in entries})
    _pin_codec(features_dir, identity, overwrite)
    packed = {ref.clip_id for ref in scan(features_dir)[1]}  # member lists only: a resume stays fast
    report = PrepareReport(str(data_dir), f"{shard[0]}/{shard[1]}", identity, clips=len(entries))
    jobs = []
    for entry in entries:
        out = features_dir / f"{entry['id']}.npz"
        if not overwrite and (str(entry["id"]) in packed or _already_done(out, identity["fingerprint"])):
            report.skipped_existing += 1
        else:
            jobs.append((entry, str(data_dir), str(out)))
    workers = data_cfg.workers if workers is None else workers
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    bar = dict(total=len(jobs), desc=f"prepare {shard[0]}/{shard[1]}", unit="clip", disable=not progress)
    init_args = (cfg, data_cfg, identity["fingerprint"])
    if workers == 1:
        global _EXTRACTOR

        _EXTRACTOR = ClipExtractor(cfg, codec, data_cfg)
        results = [_prepare_one(job) for job in tqdm(jobs, file=sys.stderr, **bar)]
    else:
        # forkserver, not fork: forking a process whose OpenCV / OpenMP threads hold a lock
        # deadlocks the child (a library caller may have run models already); like spawn it
        # re-imports the caller's __main__, so scripts need the usual ``if __name__ == "__main__"``
        context = multiprocessing.get_context("forkserver" if sys.platform.startswith("linux") else "spawn")
        with context.Pool(workers, initializer=_init_worker, initargs=init_args) as pool:
            results = list(tqdm(pool.imap(_prepare_one, jobs, chunksize=1), file=sys.stderr, **bar))
    sizes = []
    for clip_id, error, frames, detected, size in results:
        if error:
            report.failures[clip_id] = error
            log.warning("%s: %s", clip_id, error)
            continue
        report.prepared += 1
        report.frames += frames
        report.detected_frames += detected
        sizes.append(size)
    report.failed = len(report.failures)
    report.skipped_by_reason = {kind: len(ids) for kind, ids in report.ids_by_reason().items()}
    report.detection_rate = round(report.detected_frames / max(report.frames, 1), 4)
    report.seconds = round(time.time() - start, 2)
    report.seconds_per_clip = round(report.seconds / max(len(jobs), 1), 3)
    report.bytes_per_clip = round(sum(sizes) / max(len(sizes), 1), 1)
    if pack:
        ids = {str(entry["id"]) for entry in entries}
        report.packs = pack_shard(features_dir, ids, shard, identity["fingerprint"], data_cfg.pack_clips)
    name = "prepare_report.json" if shard[1] == 1 else f"prepare_report_{shard[0]}of{shard[1]}.json"
    write_report(features_dir / name, report)
    return report


def write_report(path: Path, report: PrepareReport) -> None:
    tmp = own_tmp(path)
    tmp.write_text(json.dumps(asdict(report), indent=2) + "\n")
    tmp.replace(path)
