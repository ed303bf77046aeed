"""What an artifact version holds: its entries (one per file), their digests, the manifest digest.

An entry is a file stored in the artifact (content-addressed by its sha256) or a reference to a
file that stays where it is (a local path or an fsspec URL), checksummed when it can be read.
The manifest digest is the sha256 of the sorted ``path, digest, reference`` lines: two versions
with the same files under the same names have the same digest, whatever their metadata.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from weightslab_nb.errors import InvalidValueError, MissingFileError

CHUNK = 1 << 20  # bytes read at a time while hashing or copying
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
VERSION = re.compile(r"^v(\d+)$")
RACY_NS = 2_000_000_000  # files modified this close before being hashed are hashed again


@dataclass
class Entry:
    """One file of an artifact.

    Attributes
    ----------
    path : str
        Its name inside the artifact (POSIX, relative; ``"data/x.csv"``).
    digest : str or None
        The sha256 of its content (hex), None for a reference that could not be read.
    size : int or None
        Bytes (None for an unreadable reference).
    ref : str or None
        The URI of a reference entry (``file:///...``, ``s3://...``, ``memory://...``); None
        for a file stored in the artifact.
    local_path : str or None
        Where the file is on this machine: the source given to ``add_file`` before logging,
        the stored object once logged (None for a remote reference).
    """

    path: str
    digest: str | None
    size: int | None
    ref: str | None = None
    local_path: str | None = None
    # (size, mtime_ns, inode, hashed at) of the source when it was hashed: the store copies it
    # without hashing again when it is unchanged (see unchanged_since_hashed)
    source_stat: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        """The entry's path inside the artifact (wandb's name for it)."""
        return self.path

    def to_json(self) -> dict:
        """The entry as stored in the version's manifest (without ``local_path``)."""
        out = asdict(self)
        out.pop("local_path")
        out.pop("source_stat")
        return out


def check_name(value, argument: str) -> str:
    """A collection, type or alias name: letters, digits, ``_``, ``-`` and ``.`` (not first).

    Raises
    ------
    InvalidValueError
        Anything else, naming ``argument``.
    """
    if not isinstance(value, str) or not NAME.match(value) or len(value) > 128:
        raise InvalidValueError(f"{argument}: expected letters, digits, '_', '-' or '.' (not "
                                f"first), at most 128 characters, got {value!r}")
    return value


def check_project(value, argument: str = "project") -> str:
    """A project name as ``wl.init`` takes it (any non-empty text), usable as a folder name:
    no ``/``, ``\\`` or ``:``, not starting with ``.``.

    Raises
    ------
    InvalidValueError
        Anything else, naming ``argument``.
    """
    if not isinstance(value, str) or not value.strip() or value.startswith(".") or \
            any(c in value for c in "/\\:\0") or len(value) > 128:
        raise InvalidValueError(f"{argument}: expected a project name (no '/', '\\' or ':', not "
                                f"starting with '.', at most 128 characters), got {value!r}")
    return value


def check_entry_path(value, argument: str = "name") -> str:
    """A relative POSIX path inside an artifact, without ``..``, ``.`` or empty parts."""
    if not isinstance(value, str) or not value:
        raise InvalidValueError(f"{argument}: expected a relative path such as 'data/x.csv', "
                                f"got {value!r}")
    parts = value.replace("\\", "/").split("/")
    if value.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidValueError(f"{argument}: expected a relative path inside the artifact "
                                f"(no '..', '.', empty parts or leading '/'), got {value!r}")
    return "/".join(parts)


def sha256_file(path: Path) -> tuple[str, int]:
    """``(hex digest, size)`` of a file's content."""
    digest, size, _ = hash_file(path)
    return digest, size


def hash_file(path: Path) -> tuple[str, int, tuple]:
    """``(hex digest, size, (size, mtime_ns, inode, hashed at))`` of a file: its sha256, what
    :func:`stat_key` said of it before it was read, and when (``time.time_ns``)."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb", buffering=0) as f:
        before = (*stat_key(os.fstat(f.fileno())), time.time_ns())
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while n := f.readinto(buffer):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size, before


def stat_key(stat: os.stat_result) -> tuple:
    """What tells a changed file apart without reading it: size, mtime (ns) and inode."""
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def unchanged_since_hashed(path: Path, source_stat: tuple | None) -> bool:
    """True when ``path`` still has the size, mtime and inode :func:`hash_file` saw, and its
    mtime was older than the hash by more than :data:`RACY_NS` (a file written just before it
    was hashed could be rewritten within the filesystem's timestamp granularity without its
    mtime changing: such a file is "racy", as git calls it, and must be hashed again)."""
    if source_stat is None:
        return False
    size, mtime, inode, hashed_at = source_stat
    return stat_key(path.stat()) == (size, mtime, inode) and mtime < hashed_at - RACY_NS


def copy_hashed(source: Path, tmp: Path) -> str:
    """Copy ``source`` to the new file ``tmp`` while hashing what was copied; its sha256."""
    digest = hashlib.sha256()
    with open(source, "rb", buffering=0) as src, open(tmp, "xb", buffering=0) as dst:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while n := src.readinto(buffer):
            digest.update(view[:n])
            dst.write(view[:n])
    return digest.hexdigest()


def manifest_digest(entries) -> str:
    """The sha256 (hex) of an artifact's entries: sorted ``path``, ``digest``, ``ref`` lines."""
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e.path):
        digest.update(f"{entry.path}\0{entry.digest or ''}\0{entry.ref or ''}\n".encode())
    return digest.hexdigest()


def local_file(path, argument: str) -> Path:
    """``path`` as an existing regular file (symbolic links followed).

    Raises
    ------
    MissingFileError
        No such file (or it is a directory), naming ``argument``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidValueError(f"{argument}: expected a file path, got {path!r}")
    found = Path(path)
    if not found.is_file():
        raise MissingFileError(f"{argument}: no file {str(found)!r}")
    return found


def read_reference(uri: str, checksum: bool) -> tuple[str | None, int | None]:
    """``(sha256, size)`` of the object at an fsspec URL, or ``(None, None)`` when it cannot
    be read (or ``checksum`` is False: then only its size, when the filesystem knows it).

    Raises
    ------
    InvalidValueError
        The URL's protocol needs fsspec and fsspec is not installed, or fsspec knows no such
        protocol.
    """
    try:
        import fsspec
    except ImportError:
        raise InvalidValueError(f"uri: {uri!r} needs the fsspec package (pip install fsspec); "
                                "local paths work without it") from None
    try:
        fs, inner = fsspec.core.url_to_fs(uri)
    except (ValueError, ImportError) as exc:
        raise InvalidValueError(f"uri: cannot open {uri!r} ({exc})") from None
    try:
        if not checksum:
            return None, fs.size(inner)
        digest, size = hashlib.sha256(), 0
        with fs.open(inner, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size
    except (OSError, PermissionError, NotImplementedError):
        return None, None
