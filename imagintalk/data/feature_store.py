"""Where a prepared dir keeps its clips: loose ``features/<id>.npz`` files and packs of them.

A pack, ``features/pack-<I>of<N>-<seq>.zip``, is an uncompressed (ZIP_STORED) zip whose members
are the clips' own ``<id>.npz`` files, byte for byte: one large file per few hundred clips for a
cluster file system, and since a stored member is a plain byte range of the pack, reading one
clip (or a few of its keys) reads only that range (:class:`MemberFile`). ``list_clips`` gives
every clip of a dir as a :class:`FeatureRef`; ``feature_file.read_features`` reads one. No file
handle is kept: each read opens the file, so references travel to DataLoader workers safely.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .feature_file import FEATURES_DIR

PACK_GLOB = "pack-*.zip"
PACK_NAME = re.compile(r"^pack-(\d+)of(\d+)-(\d+)\.zip$")
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")  # a zip member's local file header (30 bytes)
_LOCAL_SIGNATURE = 0x04034B50


def pack_name(shard: tuple[int, int], seq: int) -> str:
    return f"pack-{shard[0]}of{shard[1]}-{seq:04d}.zip"


@dataclass(frozen=True)
class FeatureRef:
    """One prepared clip: a loose file (``member`` None) or member ``member`` of pack ``path``.

    ``fingerprint`` changes whenever the clip's bytes may have: size and mtime for a loose file
    (as a stat would say), size and CRC-32 for a packed one (so copying a pack keeps it).
    """

    path: Path
    member: str | None = None
    size: int = 0
    stamp: int = 0  # mtime_ns (loose) or CRC-32 (packed)

    @property
    def name(self) -> str:
        """``<id>.npz``."""
        return self.member or self.path.name

    @property
    def clip_id(self) -> str:
        return self.name[: -len(".npz")]

    @property
    def fingerprint(self) -> str:
        return f"{self.size}:{self.stamp}"

    def where(self) -> str:
        return f"{self.path}" + (f" (member {self.member})" if self.member else "")

    def __str__(self) -> str:
        return self.where()

    def open(self, mode: str = "rb") -> io.RawIOBase:
        """A binary file of the clip's .npz bytes (read-only)."""
        if mode != "rb":
            raise ValueError("feature references are read-only")
        return open(self.path, "rb") if self.member is None else MemberFile(self.path, self.member)


class MemberFile(io.RawIOBase):
    """The bytes of one stored member of a zip, read in place (seekable, no decompression)."""

    def __init__(self, pack: Path, member: str) -> None:
        try:
            header_offset, self._size = _directory(pack)[member]
        except KeyError:
            raise FileNotFoundError(f"{pack} has no member {member}") from None
        self._file = open(pack, "rb")
        self._file.seek(header_offset)
        fields = _LOCAL_HEADER.unpack(self._file.read(_LOCAL_HEADER.size))
        if fields[0] != _LOCAL_SIGNATURE:
            self._file.close()
            raise zipfile.BadZipFile(f"bad local header of member {member}")
        # the data follow the header, the name and the local extra field (whose length may
        # differ from the central directory's)
        self._start = header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self._size - self._pos))
        self._file.seek(self._start + self._pos)
        data = self._file.read(count)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        if hasattr(self, "_file"):  # absent when __init__ failed
            self._file.close()
        super().close()


_DIRECTORIES: dict[tuple[str, int, int], dict[str, tuple[int, int]]] = {}  # per process, plain data


def _directory(pack: Path) -> dict[str, tuple[int, int]]:
    """Member name -> (local header offset, size) of a pack, read once per process and pack version
    (a dataset's first pass reads a few keys of every clip: one central directory per clip would
    read each pack hundreds of times)."""
    stat = os.stat(pack)
    key = (str(pack), stat.st_mtime_ns, stat.st_size)
    if key not in _DIRECTORIES:
        with zipfile.ZipFile(pack) as archive:
            infos = archive.infolist()
        compressed = [i.filename for i in infos if i.compress_type != zipfile.ZIP_STORED]
        if compressed:
            raise zipfile.BadZipFile(f"member {compressed[0]} is compressed (packs store their members)")
        _DIRECTORIES[key] = {i.filename: (i.header_offset, i.file_size) for i in infos}
    return _DIRECTORIES[key]


def pack_members(pack: Path) -> list[FeatureRef]:
    """The clips of one pack; InputError (one line) when it is not a readable zip."""
    try:
        with zipfile.ZipFile(pack) as archive:
            infos = archive.infolist()
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read feature pack {pack}: {exc}") from None
    return [
        FeatureRef(pack, info.filename, info.file_size, info.CRC)
        for info in infos
        if info.filename.endswith(".npz") and "/" not in info.filename
    ]


def scan(features_dir: Path) -> tuple[list[FeatureRef], list[FeatureRef]]:
    """(loose refs, packed refs) of a features dir, each sorted by name; duplicates kept."""
    loose = []
    for path in sorted(features_dir.glob("*.npz")):
        try:
            stat = path.stat()
        except FileNotFoundError:  # packed just now by another shard's process sharing the dir
            continue
        loose.append(FeatureRef(path, None, stat.st_size, stat.st_mtime_ns))
    packed = [ref for pack in sorted(features_dir.glob(PACK_GLOB)) for ref in pack_members(pack)]
    return loose, sorted(packed, key=lambda ref: ref.name)


def list_clips(data_dir: Path, missing: str | None = None) -> list[FeatureRef]:
    """Every prepared clip of ``data_dir``, sorted by id; InputError when a clip id is stored twice
    (naming both places), or, with ``missing`` (its message), when there is none."""
    loose, packed = scan(Path(data_dir) / FEATURES_DIR) if Path(data_dir).is_dir() else ([], [])
    seen: dict[str, FeatureRef] = {}
    for ref in [*loose, *packed]:
        if ref.name in seen:
            raise InputError(
                f"clip {ref.clip_id} is stored twice: {seen[ref.name].where()} and {ref.where()}; "
                "delete one of them"
            )
        seen[ref.name] = ref
    if not seen and missing:
        raise InputError(missing)
    return [seen[name] for name in sorted(seen)]


def next_seq(features_dir: Path, shard: tuple[int, int]) -> int:
    """The first pack number of ``shard`` not used in ``features_dir``."""
    used = [-1]
    for path in features_dir.glob(PACK_GLOB):
        match = PACK_NAME.match(path.name)
        if match and (int(match[1]), int(match[2])) == shard:
            used.append(int(match[3]))
    return max(used) + 1


def write_pack(path: Path, refs: list[FeatureRef]) -> Path:
    """A pack of ``refs`` (their .npz bytes stored as they are) at ``path``, atomically."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for ref in refs:
                with ref.open() as handle:
                    archive.writestr(ref.name, handle.read())
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InputError(f"cannot write feature pack {path}: {exc}") from None
    return path
