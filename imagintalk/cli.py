"""The ``imagintalk`` command line.

Each subcommand lives in ``imagintalk/commands/<name>.py`` and exposes
``register(subparsers)``; the parser it adds sets ``func`` to a callable taking the
parsed arguments and returning an exit code. Errors the user can act on are
:class:`~imagintalk.errors.ImaginTalkError` and print as one line.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from . import __version__
from .errors import ImaginTalkError, os_error_text

# module names under imagintalk.commands, in the order `imagintalk --help` lists them
COMMAND_MODULES = (
    "synth",
    "preprocess",
    "units",
    "codec",
    "train_codec",
    "prepare",
    "train",
    "speak",
    "say",
    "enroll",
    "export",
    "eval",
    "bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagintalk",
        description="ImaginTalk: speech from silent talking-face video.",
    )
    parser.add_argument("--version", action="version", version=f"imagintalk {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f".commands.{name}", __package__)
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # OpenCV's bundled ffmpeg (the fallback video reader) prints its own lines, e.g. "[mov,mp4,...
        # @ 0x...] moov atom not found", above our one-line error; it reads this when first used
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
        os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ImaginTalkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # the file system said no (permissions, disk full, ...): one line, no traceback
        print(f"error: {os_error_text(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
