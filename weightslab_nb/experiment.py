"""Experiment identity (the hash of what defines a run), its manifest, checkpoints, and where a
run writes its files.

A run directory (``root_log_dir``) holds::

    history.duckdb          signal history (global, per sample, per instance)
    ledger.parquet          the sample table: discards, tags, latest signals, targets, predictions
    ledger.json             the tag registry (categorical values) and the step reached
    manifest.json           one entry per experiment hash the run went through
    checkpoints/<hash>/step_<N>.pt   model and optimizer state
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np

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


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: readers see the old
    or the new content, never a partial file; no temporary file is left behind on error.

    ``mode`` is the file's permission bits (default 0644: readable by other tools; the
    temporary file ``mkstemp`` makes would otherwise be 0600).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Manifest:
    """``manifest.json``: the experiments (hashes) a run directory went through, in order.

    A hash under which nothing was recorded before the next change (several ``watch_or_edit``
    calls in a row, a tag added then removed) is skipped when it was not written yet.

    Each entry: ``{"experiment_hash", "started_at" (ISO time), "step", "hyperparameters",
    "models" (architecture strings), "discarded" (count), "tags" (counts)}``.
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
    ``<root>/checkpoints/<hash>/step_<step>.pt`` (atomically) and return the path."""
    import io

    import torch

    payload = {"step": step, "experiment_hash": exp_hash,
               "models": {name: m.state_dict() for name, m in models.items()},
               "optimizers": {name: o.state_dict() for name, o in optimizers.items()}}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path = Path(root) / "checkpoints" / (exp_hash or "none") / f"step_{step}.pt"
    write_atomic(path, buffer.getvalue())
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
            "torch.serialization.add_safe_globals([...]) and load it again, or read it "
            "yourself with torch.load(path, weights_only=False)") from None
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
