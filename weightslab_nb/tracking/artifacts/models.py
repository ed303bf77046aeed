"""Models as artifacts: ``wl.log_model`` and ``wl.use_model`` (wandb's model registry, offline).

A logged model is an artifact of type ``"model"`` holding one file. By default that file is the
checkpoint the session writes anyway (``session.save_checkpoint()``: every watched model and
optimizer, ``<root_log_dir>/checkpoints/<experiment hash>/step_<step>.pt``), so a version of the
model artifact names exactly the state a run had at one step, and ``session.load_checkpoint``
reads it back. A path (a file or a directory the user saved) or a module is logged too.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from weightslab_nb.errors import InvalidTypeError, InvalidValueError

MODEL_TYPE = "model"


def log_model(session, path_or_module=None, name: str = "model", aliases=None):
    """Log a model as a version of the artifact ``name`` (type ``"model"``) and return it.

    Parameters
    ----------
    session : Session
    path_or_module : str, Path, torch.nn.Module or None
        None: a checkpoint of the session now (every watched model and optimizer, the file
        ``session.save_checkpoint()`` writes). A path: that file, or every file of that
        directory. A module: its ``state_dict`` (``torch.save``), as ``model.pt``.
    name : str, default "model"
        The artifact's name (letters, digits, ``-``, ``_``, ``.``).
    aliases : list of str, optional
        Aliases of the new version besides ``latest``.

    Returns
    -------
    Artifact
        The logged version (``.version``, ``.digest``; its metadata holds the step and the
        experiment hash). Logging the same bytes again returns the same version.

    Raises
    ------
    MissingFileError, InvalidTypeError
        A path that does not exist; anything else than a path, a module or None.
    StateError
        The session records nothing (a run opened read-only).
    """
    from weightslab_nb.tracking import run as tracking_run
    from weightslab_nb.tracking.artifacts import Artifact

    metadata = {"step": session.controller.step,
                "experiment_hash": session.get_current_experiment_hash()}
    with tempfile.TemporaryDirectory() as tmp:
        if path_or_module is None:
            path = session.save_checkpoint()
            metadata["checkpoint"] = True
        elif isinstance(path_or_module, (str, Path)):
            path = Path(path_or_module)
        elif _is_module(path_or_module):
            import torch

            path = Path(tmp) / "model.pt"
            torch.save(path_or_module.state_dict(), path)
        else:
            raise InvalidTypeError(f"path_or_module: expected a path, a torch.nn.Module or None, "
                                   f"got {type(path_or_module).__name__}")
        artifact = Artifact(name, type=MODEL_TYPE, metadata=metadata)
        if path.is_dir():
            artifact.add_dir(path)
        else:
            artifact.add_file(path)  # raises naming the path when there is no such file
        return tracking_run.log_artifact(session, artifact, aliases)


def use_model(session, name: str) -> str:
    """Download a logged model (``"model:latest"``, ``"model:v3"``, ``"project/model:best"``, or
    a logged artifact) to ``<root_log_dir>/models/<name>-<version>/`` (hard links into the
    store) and return the path of its file (of its directory when it holds several). A checkpoint of the session loads with ``session.load_checkpoint(path)``. The
    running run, if any, is recorded as its user.

    Raises
    ------
    InvalidValueError
        The artifact is not a ``"model"``.
    """
    from weightslab_nb.tracking import run as tracking_run

    artifact = tracking_run.use_artifact(session, name)
    if artifact.type != MODEL_TYPE:
        raise InvalidValueError(f"name: {artifact.qualified_name} is a {artifact.type!r} "
                                f"artifact, not a {MODEL_TYPE!r}")
    root = Path(artifact.download(Path(session.root_log_dir) / "models" /
                                  f"{artifact.collection_name}-{artifact.version}"))
    files = [e.path for e in artifact.files()]
    return str(root / files[0]) if len(files) == 1 else str(root)


def _is_module(obj) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(obj, torch.nn.Module)
