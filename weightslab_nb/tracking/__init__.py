"""wandb-style run logging: ``wl.init``, ``wl.log``, ``run.summary``, rich media, a query API.

* :mod:`weightslab_nb.tracking.run`: the :class:`Run` a session logs into (``init``, ``log``,
  ``finish``, ``summary``, ``config``), stored under ``<root_log_dir>/runs/<run id>/``.
* :mod:`weightslab_nb.tracking.media`: the rich values ``log`` accepts (``Image``,
  ``Histogram``, ``Table``, ``Html``, ``Audio``, ``Video``, ``Object3D``).
* :mod:`weightslab_nb.tracking.api`: ``Api`` to list, filter and read runs from their files,
  with or without the process that wrote them.
* :mod:`weightslab_nb.tracking.artifacts`: ``Artifact``, versioned files with lineage, stored
  under ``<root_log_dir>/artifacts/``.
* :mod:`weightslab_nb.tracking.sweeps`: wandb-style hyperparameter sweeps on Optuna
  (``wl.sweep``, ``wl.agent``, ``Api.sweep``), stored under ``<root_log_dir>/sweeps/``.

Nothing is imported or started until a name is used.
"""

from __future__ import annotations

import importlib

_NAMES = {
    "Run": "run", "init": "run", "log": "run", "finish": "run", "active_run": "run",
    "Api": "api", "ApiRun": "api", "Runs": "api",
    "Artifact": "artifacts", "ArtifactStore": "artifacts", "Sweep": "sweeps.query",
    "Media": "media", "Image": "media", "Histogram": "media", "Table": "media",
    "Html": "media", "Audio": "media", "Video": "media", "Object3D": "media",
}


def __getattr__(name: str):
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'weightslab_nb.tracking' has no attribute {name!r}")
    return getattr(importlib.import_module(f"weightslab_nb.tracking.{module}"), name)


__all__ = sorted(_NAMES)
