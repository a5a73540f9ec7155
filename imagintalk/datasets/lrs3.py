"""LRS3 and LRS2: ``ROOT/<subset>/<speaker>/NNNNN.mp4`` (video with its own audio) + ``NNNNN.txt``.

The transcript's first line is ``Text:  WORDS ...``; the ``Conf:`` line and the word timings
after it are ignored. LRS3's ``test/`` is the test split as shipped; ``pretrain/`` and
``trainval/`` are split into train / val by speaker (``base.assign_splits``). LRS2 has
``main/`` and ``pretrain/``; its ``<id>`` folders are programmes, not people, and stand in for
the speaker; the clips listed in ``ROOT/test.txt`` (when present) are its test split.
"""

from __future__ import annotations

from pathlib import Path

from .base import DEFAULT_VAL_SHARE, ClipEntry, Scan, assign_splits, check_root, drop_duplicate_ids, safe_id

LRS3_SUBSETS = ("pretrain", "trainval", "test")
LRS2_SUBSETS = ("main", "pretrain")


def read_transcript(path: Path) -> str | None:
    """The words of an LRS transcript file (``Text:  WORDS``), or None when its first line is not that."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    if not lines or not lines[0].startswith("Text:"):
        return None
    return " ".join(lines[0][len("Text:") :].split())


def _scan_subset(scan: Scan, root: Path, dataset: str, subset: str, test_clips: set[str]) -> None:
    for speaker_dir in sorted(p for p in (root / subset).iterdir() if p.is_dir()):
        for video in sorted(speaker_dir.glob("*.mp4")):
            transcript = video.with_suffix(".txt")
            if not transcript.is_file():
                scan.skip(video, "no transcript (.txt) beside the video")
                continue
            text = read_transcript(transcript)
            if text is None:
                scan.skip(transcript, "transcript without a 'Text:' first line")
                continue
            if not text:
                scan.skip(transcript, "empty transcript")
                continue
            name = f"{speaker_dir.name}/{video.stem}"
            split = "test" if subset == "test" or (subset == "main" and name in test_clips) else ""
            scan.entries.append(
                ClipEntry(
                    id=safe_id(dataset, subset, speaker_dir.name, video.stem),
                    video=str(video),
                    audio=str(video),
                    speaker=speaker_dir.name,
                    dataset=dataset,
                    text=text,
                    split=split,
                )
            )


def _scan(root: Path, dataset: str, subsets: tuple[str, ...], test_clips: set[str], val_share: float) -> Scan:
    scan = Scan()
    for subset in subsets:
        if (root / subset).is_dir():
            _scan_subset(scan, root, dataset, subset, test_clips)
    drop_duplicate_ids(scan)
    assign_splits(scan.entries, val_share)
    return scan


def scan_lrs3(root: str | Path, val_share: float = DEFAULT_VAL_SHARE, **_: object) -> Scan:
    """LRS3 under ``root`` -> entries (``lrs3-<subset>-<speaker>-<clip>``) and skipped files."""
    return _scan(check_root(root), "lrs3", LRS3_SUBSETS, set(), val_share)


def scan_lrs2(root: str | Path, val_share: float = DEFAULT_VAL_SHARE, **_: object) -> Scan:
    """LRS2 under ``root`` -> entries (``lrs2-<subset>-<id>-<clip>``) and skipped files."""
    root = check_root(root)
    test_list = root / "test.txt"
    test_clips = set()
    if test_list.is_file():  # lines "<id>/<clip>" (optionally followed by a tag such as NF / MV)
        test_clips = {line.split()[0] for line in test_list.read_text().splitlines() if line.strip()}
    return _scan(root, "lrs2", LRS2_SUBSETS, test_clips, val_share)
