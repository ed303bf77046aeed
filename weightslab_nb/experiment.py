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

from weightslab_nb.errors import UnknownNameError

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
    name); return its step. Raises ``KeyError`` naming a watched object the file lacks."""
    import torch

    payload = torch.load(path, map_location="cpu", weights_only=False)
    for kind, objects in (("models", models), ("optimizers", optimizers)):
        for name, obj in objects.items():
            if name not in payload[kind]:
                raise UnknownNameError(f"checkpoint {path} has no {kind[:-1]} named {name!r}")
            obj.load_state_dict(payload[kind][name])
    return int(payload["step"])
