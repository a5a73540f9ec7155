"""``imagintalk export --format onnx --out DIR [--model DIR]``: the networks as ONNX graphs."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from ..errors import CheckpointError, DependencyError, InputError
from ..settings import DEFAULT_MODEL_DIR

FORMATS = ("onnx",)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export the model's networks to ONNX (for speak --backend onnx)",
        description="Export every network of a model (lip aligner + projector, unit MLM, style heads, "
        "Style-DiT, fine-level completer) as ONNX graphs with dynamic batch and time axes, plus "
        "manifest.json. speak --backend onnx reads MODEL_DIR/onnx by default.",
    )
    parser.add_argument("--format", default="onnx", choices=FORMATS, help="export format (default: onnx)")
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="folder for the graphs (e.g. MODEL_DIR/onnx)"
    )
    parser.add_argument(
        "--model", metavar="DIR", help="model directory (default: the shipped models/imagintalk)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing export in DIR")
    parser.set_defaults(func=run)


def out_dir_problem(out: Path, overwrite: bool) -> str | None:
    """Why the graphs cannot go to ``out`` (a file, a non-empty folder without --overwrite, not
    writable), or None; looks only, creates nothing."""
    if out.exists() and not out.is_dir():
        return f"--out {out} is a file, not a folder"
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        return f"--out {out} is not empty; give --overwrite to replace its export"
    folder = out
    while not folder.exists() and folder != folder.parent:  # the nearest folder that exists
        folder = folder.parent
    if not folder.is_dir():
        return f"cannot create {out}: {folder} is a file, not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"permission denied: cannot write in {folder}"
    return None


def run(args: argparse.Namespace) -> int:
    model = Path(args.model) if args.model else DEFAULT_MODEL_DIR
    out = Path(args.out)
    if not (model / "config.json").is_file():
        raise CheckpointError(f"no model at {model} (config.json missing)")
    if problem := out_dir_problem(out, args.overwrite):
        raise InputError(problem)
    try:
        import onnx  # noqa: F401  (checked before the model loads)
    except ImportError:
        raise DependencyError(
            "export needs onnx: pip install onnx onnxruntime (or pip install imagintalk[export])"
        ) from None
    from ..export import export_onnx  # torch: imported only once the paths passed their checks

    started = time.perf_counter()
    manifest = export_onnx(model, out)
    for name, entry in manifest["networks"].items():
        size = (out / entry["file"]).stat().st_size / 1e6
        print(f"{name:5s} {out / entry['file']} ({size:.1f} MB)")
    print(f"wrote {out / 'manifest.json'} (opset {manifest['opset']}, {time.perf_counter() - started:.1f} s)")
    return 0
