"""Evaluation on a real dataset as it ships on disk (LRS3's test/ folder, ...).

The dataset adapter (``imagintalk.datasets``) scans the root, and the clips of one split become
the evaluation manifest, written to the output folder (never into the dataset): its ``audio``
paths point into the dataset (LRS3's mp4s carry their speech), its ids are the adapter's
(``lrs3-test-<speaker>-<clip>``), and a system's output for a clip is ``WAV_DIR/<id>.wav``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..datasets import get_adapter, write_manifest
from ..errors import InputError

EVAL_MANIFEST = "manifest.jsonl"


def dataset_manifest(name: str, root: str | Path, out_dir: str | Path, split: str = "test") -> Path:
    """Scan dataset ``name`` under ``root``; write its ``split`` clips to ``out_dir/manifest.jsonl``.

    InputError when the split has no clip (naming the splits there are), or when ``out_dir``
    is the dataset root itself.
    """
    root, out_dir = Path(root).expanduser().resolve(), Path(out_dir).expanduser().resolve()
    if out_dir == root:
        raise InputError(f"--out {out_dir} is the dataset root; give a folder of its own")
    scan = get_adapter(name)(root)
    entries = [e for e in scan.entries if e.split == split]
    if not entries:
        found = Counter(e.split for e in scan.entries)
        have = ", ".join(f"{s} {n}" for s, n in sorted(found.items())) or "no usable clip"
        raise InputError(f"no {name} clip of split {split!r} under {root} (found: {have})")
    return write_manifest(entries, out_dir / EVAL_MANIFEST)
