"""Where logged media files go: key and step checks, atomic writes, reading users' files, and
finding a logged file again inside its run folder.

File names are ``<safe key>_<step>_<first 8 hex digits of the sha256>.<ext>``. Files are
written to a temporary name in the same folder and renamed into place, and a file that already
holds the same bytes is left alone.
"""

from __future__ import annotations

import hashlib
import operator
import re
from pathlib import Path, PurePosixPath

from weightslab_nb.errors import InvalidTypeError, InvalidValueError, MissingFileError
from weightslab_nb.experiment import write_atomic

_MAX_KEY_CHARS = 100
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def _check_key_step(key, step) -> tuple[str, int]:
    """Validate the history key and step a value is logged under."""
    if not isinstance(key, str) or not key:
        raise InvalidTypeError(f"key: expected a non-empty string, got {key!r}")
    if isinstance(step, bool):
        raise InvalidTypeError("step: expected a non-negative integer, got a bool")
    try:
        step = operator.index(step)
    except TypeError:
        raise InvalidTypeError(f"step: expected a non-negative integer, got "
                               f"{type(step).__name__}") from None
    if step < 0:
        raise InvalidValueError(f"step: expected a non-negative integer, got {step}")
    return key, step


def _store(run_dir, kind_dir: str, key, step, ext: str, payload: bytes) -> dict:
    """Write ``payload`` under ``run_dir/media/kind_dir``; its path, sha256 and size."""
    key, step = _check_key_step(key, step)
    digest = hashlib.sha256(payload).hexdigest()
    name = f"{_UNSAFE_CHARS.sub('_', key)[:_MAX_KEY_CHARS]}_{step}_{digest[:8]}.{ext}"
    relative = f"media/{kind_dir}/{name}"
    target = Path(run_dir) / relative
    same = (target.is_file() and target.stat().st_size == len(payload)
            and target.read_bytes() == payload)
    if not same:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, payload)
    return {"path": relative, "sha256": digest, "size": len(payload)}


def _read_source(path, argument: str, suffixes: tuple[str, ...] | None = None) -> bytes:
    """The bytes of a user's file, checking its extension against ``suffixes``."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffixes is not None and suffix not in suffixes:
        accepted = ", ".join(f".{s}" for s in suffixes)
        raise InvalidValueError(f"{argument}: expected a file ending in {accepted}, got "
                                f"{str(path)!r}")
    if not path.is_file():
        raise MissingFileError(f"{argument}: no such file: {path}")
    return path.read_bytes()


def file_in_run(run_dir, relative, argument: str) -> Path:
    """The existing plain file that ``relative`` (a ``/``-separated path) names inside the run
    folder ``run_dir``.

    Nothing under the run folder may be a symbolic link on the way (a run folder copied or
    received from someone else could point a "media file" at any file of this machine); the run
    folder's own location may go through links.

    Raises
    ------
    weightslab_nb.errors.InvalidValueError
        ``relative`` is empty, absolute, has a ``..`` part, goes through a symbolic link, or
        resolves outside the run folder.
    weightslab_nb.errors.MissingFileError
        No such file.
    """
    if not isinstance(relative, str) or not relative:
        raise InvalidValueError(f"{argument}: expected a path inside the run folder, got "
                                f"{relative!r}")
    parts = PurePosixPath(relative).parts
    if PurePosixPath(relative).is_absolute() or ".." in parts:
        raise InvalidValueError(f"{argument}: path {relative!r} must stay inside the run folder")
    root = Path(run_dir).resolve()
    path = root
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise InvalidValueError(
                f"{argument}: {path.relative_to(root).as_posix()!r} in run folder {root} is a "
                "symbolic link; a run's files are read only as plain files inside its folder")
    if not path.is_file():
        raise MissingFileError(f"{argument}: no file {relative!r} in run folder {root}")
    if root not in path.resolve().parents:  # links were refused above: a safety net
        raise InvalidValueError(f"{argument}: path {relative!r} resolves outside the run "
                                f"folder {root}")
    return Path(run_dir).joinpath(*parts)
