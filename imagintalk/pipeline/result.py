"""What the pipeline hands back: the speech and how it was made."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ImaginTalkError, os_error_text

STAGES = ("front_door", "features", "semantic", "style", "sampling", "decode")
PARTIAL_SUFFIX = ".partial"  # temporary files beside an output while it is being written


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A fresh temporary file beside ``path``; it replaces ``path`` (os.replace) when the block ends.

    The temporary file lies in the same folder, so the rename is atomic: readers see the old
    file or the complete new one, never half of one. On any exception, KeyboardInterrupt
    included, the temporary file is removed and ``path`` is left as it was. Writers must pass
    the file format explicitly (the temporary name ends in ``.partial``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
    # created here (with the umask's mode) so that a refused folder raises a plain OSError,
    # not libsndfile's "System error."
    tmp.open("xb").close()
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass
class WindowInfo:
    """One utterance window. ``status``: "spoken", or why it is silent ("no_face", "too_short")."""

    index: int
    start_frame: int  # first output frame (25 fps) of the window in the whole clip
    num_frames: int  # output frames it spans
    start_s: float  # its first source frame, seconds from the clip's first frame
    status: str = "spoken"
    filled_frames: int = 0  # frames without a detected face (filled by the front door)
    network_calls: int = 0
    flagged_fraction: float = 0.0

    def to_dict(self) -> dict:
        return {**self.__dict__, "start_s": round(self.start_s, 3)}


@dataclass
class SpeechResult:
    """Speech for one clip: wav [N] float32 at ``sample_rate``, N = num_frames * samples_per_frame.

    tokens [K, T_tok] int64, units / raw_units [T_tok] int64 at the token rate (2 per frame);
    silent windows hold -1 there. ``flagged_fraction``: share of spoken tokens whose unit the error
    detector flagged (similarity < tau) for MLM refinement. ``timings``: seconds per stage (STAGES)
    plus "total".
    """

    wav: np.ndarray
    sample_rate: int
    num_frames: int
    fps: float
    tokens: np.ndarray
    units: np.ndarray
    raw_units: np.ndarray
    flagged_fraction: float
    network_calls: int
    timings: dict[str, float]
    windows: list[WindowInfo]
    warnings: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def duration(self) -> float:
        return len(self.wav) / self.sample_rate

    def summary(self) -> dict:
        """Plain numbers for printing and JSON reports (no arrays)."""
        return {
            "source": self.source,
            "duration_s": round(self.duration, 3),
            "frames": self.num_frames,
            "sample_rate": self.sample_rate,
            "samples": len(self.wav),
            "tokens": list(self.tokens.shape),
            "windows": [w.to_dict() for w in self.windows],
            "flagged_pct": round(100.0 * self.flagged_fraction, 1),
            "network_calls": self.network_calls,
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
            "warnings": list(self.warnings),
        }

    def save_wav(self, path: str | Path) -> Path:
        """Write the speech as 16-bit PCM wav, atomically (an old file stays until the new one is whole)."""
        import soundfile as sf

        path = Path(path)
        samples = np.clip(self.wav, -1.0, 1.0)
        try:
            with replacing(path) as tmp:
                sf.write(str(tmp), samples, self.sample_rate, subtype="PCM_16", format="WAV")
        except OSError as exc:
            raise ImaginTalkError(os_error_text(exc, path)) from None
        except RuntimeError as exc:  # soundfile raises RuntimeError subclasses
            raise ImaginTalkError(f"cannot write {path}: {exc}") from None
        return path
