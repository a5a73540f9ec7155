"""User-facing errors.

Anything raised as an :class:`ImaginTalkError` is printed by the CLI as one line
(``error: ...``) with a non-zero exit code, never as a traceback.
"""

from __future__ import annotations

import errno


class ImaginTalkError(Exception):
    """Base class of every error the user should see as one plain line."""

    exit_code = 1


class InputError(ImaginTalkError):
    """Unreadable, empty, too short or otherwise unusable input (video, audio, manifest)."""

    exit_code = 2


class NoFaceError(InputError):
    """A video in which no face could be found at all."""


class CheckpointError(ImaginTalkError):
    """A missing, corrupt or unsafe model / codec checkpoint."""

    exit_code = 3


class DependencyError(ImaginTalkError):
    """An optional dependency (dlib, pocketsphinx, ...) is not installed."""

    exit_code = 4


def os_error_text(exc: OSError, path: object = None) -> str:
    """One plain line for an OSError, naming ``path`` (default: the path the error names).

    libsndfile and ffmpeg report a refused open as "System error." or "[Errno 13] ..."; the
    user needs the cause and the path, e.g. ``permission denied: out/x.wav``.
    """
    where = path if path is not None else (exc.filename if exc.filename is not None else "")
    causes = {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "read-only file system",
        errno.ENOENT: "not found",
        errno.EISDIR: "is a directory",
        errno.ENOTDIR: "a parent is a file, not a folder",
        errno.ENOSPC: "no space left on device",
    }
    cause = causes.get(exc.errno or -1) or exc.strerror or str(exc).splitlines()[0]
    return f"{cause}: {where}" if where != "" else cause
