"""Experiment identity (the hash of what defines a run), its manifest, checkpoints, and where a
run writes its files.

A run directory (``root_log_dir``) holds::

    history.duckdb          signal history (global, per sample, per instance)
    ledger.parquet          the sample table: discards, tags, latest signals, targets, predictions,
                            and (schema metadata) the tag registry, the step and journal seq
    journal/<seq>.log       edits since the snapshot (see weightslab_nb.ledger.journal)
    manifest.json           one entry per experiment hash the run went through
    checkpoints/<hash>/step_<N>.pt   model and optimizer state
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import stat
import time
from pathlib import Path

import numpy as np

from weightslab_nb import crashpoints
from weightslab_nb.errors import CheckpointError, MissingFileError, UnknownNameError

HASH_LENGTH = 24
MANIFEST = "manifest.json"


def experiment_hash(hyperparameters: dict, architectures: list[str], data_state: str = "") -> str:
    """A 24-hex-digit hash of the hyperparameters, the model architectures and the data state.

    Equal hyperparameters (compared as canonical JSON: keys sorted, non-JSON values by ``repr``),
    equal model structure (``repr`` of each watched model) and an equal data state (see
    :func:`data_state_digest`) give equal hashes; changing any of them changes the hash.
    """
    payload = json.dumps({"hp": hyperparameters, "models": architectures, "data": data_state},
                         sort_keys=True, default=repr)
    return hashlib.sha256(payload.encode()).hexdigest()[:HASH_LENGTH]


def data_state_digest(table) -> str:
    """Digest of the data state: which samples are discarded, and which tags exist (boolean tag
    names, categorical tags with their values).

    Discards change what the model trains on, so each discard or restore changes the hash. Tag
    *memberships* do not: tags annotate samples without changing training, and auto-taggers
    move them every few steps (a hash per tagging call would split one run into thousands of
    experiments). Creating a tag or a categorical value does change it. Empty when nothing is
    discarded or tagged, so a fresh run's hash depends on its hyperparameters and models only.
    """
    n = len(table)
    parts: list[bytes] = []
    if table.discarded[:n].any():
        parts.append(b"discarded" + np.packbits(table.discarded[:n]).tobytes())
    if table.bool_tags or table.cat_tags:
        registry = {"boolean": sorted(table.bool_tags),
                    "categorical": {c: table.cat_tags[c].values for c in sorted(table.cat_tags)}}
        parts.append(json.dumps(registry, sort_keys=True).encode())
    if not parts:
        return ""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def default_root_log_dir(experiment_name: str | None = None) -> Path:
    """``./weightslab_runs/<name>-<YYYYmmdd-HHMMSS>-<4 hex>``: a fresh directory per session."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = experiment_name or "run"
    return Path.cwd() / "weightslab_runs" / f"{name}-{stamp}-{secrets.token_hex(2)}"


def write_atomic(path: Path, data: bytes, mode: int = 0o644, *, sync: bool = False,
                 point: str | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: readers see the old
    or the new content, never a partial file; no temporary file is left behind on error.

    Parameters
    ----------
    path : Path
    data : bytes
    mode : int, default 0o644
        The file's permission bits (readable by other tools).
    sync : bool, default False
        Make the new content durable before returning: fsync the temporary file before the
        rename and the directory after it, so a power loss leaves the old or the new content
        (a process crash never needs it: the OS keeps what was written).
    point : str, optional
        Crash-point prefix (``"snapshot"``, ``"checkpoint"``): the points ``<point>.mid-write``
        and ``<point>.before-publish`` of :mod:`weightslab_nb.crashpoints` are placed here.

    The temporary file is ``.<name>.<16 hex digits>.tmp`` beside ``path``; a crash leaves it
    behind, and :func:`clean_leftovers` removes it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            if point is not None and crashpoints.ARMED is not None:
                f.write(data[: len(data) // 2])
                f.flush()
                crashpoints.crash_point(f"{point}.mid-write")
                data = memoryview(data)[len(data) // 2:]
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed what os.open gave
        if point is not None:
            crashpoints.crash_point(f"{point}.before-publish")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync:
        sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """fsync a directory, so that names created, renamed or removed in it survive a power loss
    (a no-op where directories cannot be opened, as on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; nothing more can be done
    finally:
        os.close(fd)


# ``.<name>.<16 hex>.tmp`` (write_atomic), ``.<name>.<8 hex>.tmp`` (the history exports) and
# ``.<name>.<8 of [a-z0-9_]>.tmp`` (tempfile.mkstemp, which earlier versions of write_atomic used)
_LEFTOVER = re.compile(r"\..+\.(?:[0-9a-f]{16}|[a-z0-9_]{8})\.tmp")


def clean_leftovers(root: Path) -> list[Path]:
    """Remove the temporary files that interrupted atomic writes left anywhere under ``root``.

    Only regular files named as :func:`write_atomic` (and the history exports, and earlier
    versions' ``tempfile.mkstemp``) name their temporary files are removed:
    ``.<target name>.<16 hex digits>.tmp``, ``.<target name>.<8 characters of a-z, 0-9,
    _>.tmp``. Links are neither followed nor removed. Call it when opening a run directory,
    before anything writes in it: a write in progress would lose its temporary file.

    Parameters
    ----------
    root : Path
        The run directory. Missing: nothing to do.

    Returns
    -------
    list of Path
        The files removed, sorted.
    """
    removed = []
    for folder, _, names in os.walk(Path(root)):
        for name in names:
            candidate = Path(folder) / name
            if _LEFTOVER.fullmatch(name) and _is_regular_file(candidate):
                candidate.unlink(missing_ok=True)
                removed.append(candidate)
    return sorted(removed)


def _is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


class Manifest:
    """``manifest.json``: the experiments (hashes) a run directory went through, in order.

    A hash under which nothing was recorded before the next change (several ``watch_or_edit``
    calls in a row, a tag added then removed) is skipped when it was not written yet.

    Each entry: ``{"experiment_hash", "started_at" (ISO time), "step", "hyperparameters",
    "models" (architecture strings), "discarded" (count), "tags" (counts)}``, plus
    ``"data_state"`` (the identity :meth:`Session.note_data_state` recorded) once a saved data
    state was applied.
    """

    def __init__(self, root: Path):
        self.path = Path(root) / MANIFEST

    def entries(self) -> list[dict]:
        """The recorded entries, oldest first (empty when the file does not exist)."""
        if not self.path.exists():
            return []
        return json.loads(self.path.read_text())["experiments"]

    def record(self, entries: list[dict]) -> None:
        """Append entries whose hash is not yet the last one recorded."""
        current = self.entries()
        for entry in entries:
            if not current or current[-1]["experiment_hash"] != entry["experiment_hash"]:
                current.append(entry)
        write_atomic(self.path, json.dumps({"experiments": current}, indent=1,
                                           default=repr).encode())


def save_checkpoint(root: Path, exp_hash: str | None, step: int, models: dict,
                    optimizers: dict) -> Path:
    """Save every watched model's and optimizer's ``state_dict`` under
    ``<root>/checkpoints/<hash>/step_<step>.pt`` (atomically, synced to disk) and return the
    path."""
    import io

    import torch

    payload = {"step": step, "experiment_hash": exp_hash,
               "models": {name: m.state_dict() for name, m in models.items()},
               "optimizers": {name: o.state_dict() for name, o in optimizers.items()}}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path = Path(root) / "checkpoints" / (exp_hash or "none") / f"step_{step}.pt"
    write_atomic(path, buffer.getvalue(), sync=True, point="checkpoint")
    return path


def load_checkpoint(path: Path, models: dict, optimizers: dict) -> int:
    """Load a checkpoint written by :func:`save_checkpoint` into the given objects (matched by
    name); return its step.

    The file is read with ``torch.load(..., weights_only=True)``: tensors, numbers, strings and
    containers only, so opening a checkpoint (one copied from elsewhere, say) cannot run code.

    Raises
    ------
    weightslab_nb.errors.MissingFileError
        No file at ``path``.
    weightslab_nb.errors.CheckpointError
        The file holds other objects (the message names the first one and what to do), is not a
        torch file, is not a checkpoint of this package, or a state does not fit its model or
        optimizer. Nothing is loaded when the file cannot be read or lacks a watched object.
    weightslab_nb.errors.UnknownNameError
        A watched model or optimizer is not in the file (nothing is loaded then).
    """
    payload = _read_checkpoint(Path(path))
    for kind, objects in (("models", models), ("optimizers", optimizers)):
        for name in objects:
            if name not in payload[kind]:
                raise UnknownNameError(f"checkpoint {path} has no {kind[:-1]} named {name!r}; "
                                       f"it has {sorted(payload[kind])}")
    for kind, objects in (("models", models), ("optimizers", optimizers)):
        for name, obj in objects.items():
            try:
                obj.load_state_dict(payload[kind][name])
            except (RuntimeError, ValueError, KeyError, TypeError) as exc:
                raise CheckpointError(f"path: the state of {kind[:-1]} {name!r} in {path} does "
                                      f"not fit it: {exc}") from None
    return int(payload["step"])


def _read_checkpoint(path: Path) -> dict:
    """The payload of a checkpoint file, read with ``weights_only=True`` (see
    :func:`load_checkpoint` for the errors)."""
    import pickle

    import torch

    if not path.is_file():
        raise MissingFileError(f"path: no checkpoint file {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        refused = _refused_object(exc)
        if refused is None:  # not a pickle torch can read at all
            raise CheckpointError(f"path: {path} cannot be read as a torch checkpoint "
                                  f"({exc.__context__ or exc})") from None
        raise CheckpointError(
            f"path: checkpoint {path} holds more than tensors and plain values ({refused}). "
            "weightslab_nb reads checkpoints with torch.load(weights_only=True), so that "
            "opening a file cannot run code. If you trust this file, allow its classes with "
            "torch.serialization.add_safe_globals([...]) and load it again") from None
    except Exception as exc:  # a damaged or foreign file: torch raises many kinds
        raise CheckpointError(f"path: {path} cannot be read as a torch checkpoint "
                              f"({type(exc).__name__}: {exc})") from None
    if not (isinstance(payload, dict) and isinstance(payload.get("models"), dict)
            and isinstance(payload.get("optimizers"), dict)
            and isinstance(payload.get("step"), int)):
        raise CheckpointError(f"path: {path} is not a weightslab_nb checkpoint (expected a dict "
                              "with 'step', 'models' and 'optimizers', as save_checkpoint writes)")
    return payload


def _refused_object(exc: Exception) -> str | None:
    """The line of torch's weights-only error that names the object (class or function) it
    refused; None when the error is about something else (a damaged file)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    named = [line for line in lines if "GLOBAL" in line.upper()]
    return named[0].rstrip(".") if named else None
