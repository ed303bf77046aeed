"""Experiment identity (the hash of what defines a run) and where a run writes its files."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from pathlib import Path

HASH_LENGTH = 24


def experiment_hash(hyperparameters: dict, architectures: list[str]) -> str:
    """A 24-hex-digit hash of the hyperparameters and the model architectures.

    Two runs with equal hyperparameters (compared as canonical JSON, keys sorted, non-JSON values
    by ``repr``) and equal model structure (``repr`` of each watched model) share a hash.
    """
    payload = json.dumps({"hp": hyperparameters, "models": architectures}, sort_keys=True,
                         default=repr)
    return hashlib.sha256(payload.encode()).hexdigest()[:HASH_LENGTH]


def default_root_log_dir(experiment_name: str | None = None) -> Path:
    """``./weightslab_runs/<name>-<YYYYmmdd-HHMMSS>-<4 hex>``: a fresh directory per session."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = experiment_name or "run"
    return Path.cwd() / "weightslab_runs" / f"{name}-{stamp}-{secrets.token_hex(2)}"
