"""Logging and using artifacts on behalf of a run (or of a session without one): what
``run.log_artifact``, ``run.use_artifact``, ``wl.log_artifact`` and ``wl.use_artifact`` do."""

from __future__ import annotations

import os
from pathlib import Path

from weightslab_nb.errors import InvalidTypeError, InvalidValueError, StateError
from weightslab_nb.tracking.artifacts.artifact import Artifact
from weightslab_nb.tracking.artifacts.query import find
from weightslab_nb.tracking.artifacts.store import ArtifactStore


def log_to(store: ArtifactStore, artifact_or_path, project: str, run: str | None,
           aliases=None, name: str | None = None, type: str | None = None) -> Artifact:
    """Log a :class:`Artifact` (or a file or directory path, wrapped in a new artifact named
    ``name``, default the path's name, of type ``type``, default ``"unspecified"``) into
    ``store`` for ``run`` (``"project/id"`` or None) and return the logged version.

    Raises
    ------
    InvalidTypeError
        ``artifact_or_path`` is neither an artifact nor a path.
    MissingFileError
        A path that does not exist.
    """
    artifact = artifact_or_path
    if isinstance(artifact_or_path, (str, os.PathLike)):
        path = Path(artifact_or_path)
        artifact = Artifact(name or path.name, type or "unspecified")
        if path.is_dir():
            artifact.add_dir(path)
        else:
            artifact.add_file(path)
    elif not isinstance(artifact_or_path, Artifact):
        raise InvalidTypeError(f"artifact: expected a wl.Artifact or a path, got "
                               f"{artifact_or_path.__class__.__name__}")
    return store.log(artifact, project, run, aliases)


def use_from(store: ArtifactStore, artifact_or_name, project: str, run: str | None,
             type: str | None = None, run_dir=None) -> Artifact:
    """The logged version ``artifact_or_name`` names (``"name"``, ``"name:v3"``,
    ``"name:alias"``, ``"project/name:latest"``; a bare name in ``project``), or the logged
    :class:`Artifact` given; records that ``run`` used it (when ``run`` is not None; its folder
    ``run_dir`` too when the artifact's store is another root's).

    Raises
    ------
    UnknownNameError
        No such artifact or version.
    InvalidValueError
        A malformed name, or a ``type`` that is not the artifact's.
    StateError
        An artifact that is not logged.
    """
    if isinstance(artifact_or_name, Artifact):
        artifact = artifact_or_name
        if artifact.state != "COMMITTED":
            raise StateError("artifact: it is not logged; call run.log_artifact(artifact) first")
        if type is not None and artifact.type != type:
            raise InvalidValueError(f"type: {artifact.qualified_name} is of type "
                                   f"{artifact.type!r}, not {type!r}")
        used_in = artifact._store
    elif isinstance(artifact_or_name, str):
        artifact = find([store], artifact_or_name, type, project)
        used_in = store
    else:
        raise InvalidTypeError(f"artifact_or_name: expected 'name:version' or a logged "
                               f"wl.Artifact, got {artifact_or_name.__class__.__name__}")
    if run is not None:
        used_in.use(artifact, run, run_dir)
    return artifact
