"""User-facing errors.

Anything raised as an :class:`ImaginTalkError` is printed by the CLI as one line
(``error: ...``) with a non-zero exit code, never as a traceback.
"""

from __future__ import annotations


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
