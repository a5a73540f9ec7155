"""Speaker voices as espeak-ng voice variants with a continuous vocal-tract length.

espeak-ng variants (``voices/!v/m3`` ...) hold ``formant N freq height width`` lines,
``freq`` in percent of the default. A speaker's variant is a copy of a stock variant
whose formant frequencies 1-8 are divided by the speaker's vocal-tract length factor
(a longer tract lowers every resonance), written into a private espeak-ng-data
directory (symlinks to the system data plus the generated variant files) that is
passed to ``espeak_Initialize``.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import tempfile
from collections import OrderedDict
from pathlib import Path

from ..errors import DependencyError

SYSTEM_DATA_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/espeak-ng-data",
    "/usr/lib/aarch64-linux-gnu/espeak-ng-data",
    "/usr/share/espeak-ng-data",
    "/usr/lib/espeak-ng-data",
)
_FORMANT_LINE = re.compile(r"^\s*formant\s+(\d+)\s+(\d+)(.*)$")
_private_dir: Path | None = None
# espeak-ng lists at most 349 voice files (N_VOICES_LIST) and then no longer finds a variant by
# name: a process keeps only its most recently used variant files on disk (rewritten on demand)
MAX_VARIANT_FILES = 64
_written: OrderedDict[str, Path] = OrderedDict()


def system_data_dir() -> Path:
    for candidate in [os.environ.get("ESPEAK_DATA_PATH", ""), *SYSTEM_DATA_CANDIDATES]:
        if candidate and (Path(candidate) / "phontab").is_file():
            return Path(candidate)
    raise DependencyError("espeak-ng-data not found; apt-get install espeak-ng-data")


def private_data_dir() -> Path:
    """This process's espeak-ng-data copy (symlinks) with a writable ``voices/!v``."""
    global _private_dir
    if _private_dir is None:
        system = system_data_dir()
        root = Path(tempfile.mkdtemp(prefix="imagintalk-espeak-"))
        atexit.register(shutil.rmtree, root, True)
        data = root / "espeak-ng-data"
        data.mkdir()
        for entry in system.iterdir():
            if entry.name != "voices":
                (data / entry.name).symlink_to(entry)
        (data / "voices").mkdir()
        for entry in (system / "voices").iterdir():
            if entry.name != "!v":
                (data / "voices" / entry.name).symlink_to(entry)
        (data / "voices" / "!v").mkdir()
        _private_dir = data
    return _private_dir


def scaled_variant_text(base_variant: str, tract_length: float) -> str:
    """The stock variant's text with formants 1-8 divided by ``tract_length``."""
    lines = (system_data_dir() / "voices" / "!v" / base_variant).read_text().splitlines()
    seen: set[int] = set()
    out = []
    for line in lines:
        match = _FORMANT_LINE.match(line)
        if match and int(match.group(1)) >= 1:
            number, freq = int(match.group(1)), int(match.group(2))
            seen.add(number)
            line = f"formant {number} {round(freq / tract_length)}{match.group(3)}"
        out.append(line)
    # formants the stock variant leaves at 100 % still scale with the tract
    out += [f"formant {n} {round(100 / tract_length)} 100 100" for n in range(1, 9) if n not in seen]
    return "\n".join(out) + "\n"


def speaker_voice(base_variant: str, tract_length: float) -> str:
    """Write (once) the speaker's variant file; return the voice name for espeak_SetVoiceByName."""
    text = scaled_variant_text(base_variant, tract_length)
    name = "itk" + hashlib.sha1(text.encode()).hexdigest()[:10]  # content-named: never stale
    path = private_data_dir() / "voices" / "!v" / name
    if not path.exists():
        path.write_text(text)
    _written[name] = path
    _written.move_to_end(name)
    while len(_written) > MAX_VARIANT_FILES:
        _, oldest = _written.popitem(last=False)
        oldest.unlink(missing_ok=True)
    return f"en-us+{name}"
