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
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from weightslab_nb.errors import InvalidValueError, MissingFileError

CHUNK = 1 << 20  # bytes read at a time while hashing or copying
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
VERSION = re.compile(r"^v(\d+)$")


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

    @property
    def name(self) -> str:
        """The entry's path inside the artifact (wandb's name for it)."""
        return self.path

    def to_json(self) -> dict:
        """The entry as stored in the version's manifest (without ``local_path``)."""
        out = asdict(self)
        out.pop("local_path")
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
    digest, size = hashlib.sha256(), 0
    with open(path, "rb", buffering=0) as f:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while n := f.readinto(buffer):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


def copy_hashed(source: Path, target_dir: Path) -> tuple[Path, str, int]:
    """Copy ``source`` to a new temporary file in ``target_dir`` while hashing what was copied.

    Returns ``(temporary path, hex digest, size)``; the caller renames or removes the file.
    """
    tmp = target_dir / f"{secrets.token_hex(8)}.partial"
    digest, size = hashlib.sha256(), 0
    try:
        with open(source, "rb", buffering=0) as src, open(tmp, "xb", buffering=0) as dst:
            buffer = bytearray(CHUNK)
            view = memoryview(buffer)
            while n := src.readinto(buffer):
                digest.update(view[:n])
                dst.write(view[:n])
                size += n
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, digest.hexdigest(), size


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
