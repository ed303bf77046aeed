"""Where saved data states live: versions of artifacts of type ``"data-state"`` (what the tag
editor lists, saves and applies by name).

:func:`log_data_state` and :func:`apply_data_state` keep states as versioned artifacts of type
``"data-state"`` (:mod:`weightslab_nb.tracking.artifacts`): a content-addressed version per
distinct curation, with lineage (which run saved it, which runs trained on it).
"""

from __future__ import annotations

import itertools
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from weightslab_nb.data_state.apply import ApplyReport, apply_state, diff_state
from weightslab_nb.data_state.save import save_state
from weightslab_nb.errors import InvalidTypeError, InvalidValueError

if TYPE_CHECKING:
    from weightslab_nb.session import Session

ARTIFACT_TYPE = "data-state"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_state_name(name, argument: str = "name") -> str:
    """A state name: 1-100 letters, digits, ``.``, ``_`` or ``-``, starting with a letter or a
    digit (it names a directory). Raises ``InvalidTypeError`` / ``InvalidValueError``."""
    if not isinstance(name, str):
        raise InvalidTypeError(f"{argument}: expected a string, got {type(name).__name__}")
    if not _NAME.fullmatch(name):
        raise InvalidValueError(f"{argument}: {name!r} is not a state name (1-100 letters, "
                                "digits, '.', '_' or '-', starting with a letter or a digit)")
    return name


# ---------------------------------------------------------------- the run's saved states
_saves = itertools.count(1)
_last_save = 0


def saves() -> int:
    """How many states this process saved (what a panel compares to notice a new one)."""
    return _last_save


def save_named_state(session: "Session", name: str, origin: str | None = None) -> dict:
    """:func:`log_data_state` under ``name`` (the tag editor's "save state"); returns
    ``{"name", "version", "ref", "digest", "origins": {origin: {"samples", "discarded",
    "fingerprint"}}}``.

    Raises as :func:`log_data_state` and :func:`check_state_name`.
    """
    artifact = log_data_state(session, check_state_name(name), origin)
    return {"name": artifact.collection_name, "version": artifact.version,
            "ref": artifact.qualified_name, "digest": artifact.metadata["digest"],
            "origins": artifact.metadata["origins"]}


def list_states(session: "Session") -> list[dict]:
    """The data states saved in the artifact store of ``session.root_log_dir``, the latest
    version of each, by name: ``{"name", "project", "version", "ref", "digest",
    "experiment_hash", "origins", "samples", "discarded"}``."""
    from weightslab_nb.tracking.artifacts import ArtifactStore

    store = ArtifactStore(session.root_log_dir)
    out = []
    for c in store.collections():
        if c.get("type") != ARTIFACT_TYPE:
            continue
        try:
            latest = store.get(c["project"], c["name"], "latest")
        except (LookupError, ValueError):
            continue  # every version deleted
        meta = latest.metadata or {}
        origins = meta.get("origins", {})
        out.append({"name": c["name"], "project": c["project"], "version": latest.version,
                    "ref": latest.qualified_name, "digest": meta.get("digest"),
                    "experiment_hash": meta.get("experiment_hash"), "origins": sorted(origins),
                    "samples": sum(o.get("samples", 0) for o in origins.values()),
                    "discarded": sum(o.get("discarded", 0) for o in origins.values())})
    return sorted(out, key=lambda e: (e["name"], e["project"]))


def apply_named_state(session: "Session", name: str, origin: str | None = None,
                      strict: bool = False) -> ApplyReport:
    """:func:`apply_data_state` of the latest version of the saved state ``name`` (the tag
    editor's "apply").

    Raises
    ------
    InvalidValueError
        No saved state of that name (the message lists the saved ones).
    """
    return apply_data_state(session, _latest(session, name), origin, strict)


def diff_named_state(session: "Session", name: str, origin: str | None = None,
                     project: str | None = None) -> dict:
    """:func:`~weightslab_nb.data_state.diff_state` of the latest version of the saved state
    ``name`` (nothing is recorded as used). ``project``: where it is (as :func:`list_states`
    gives it), else looked up.

    Raises
    ------
    InvalidValueError
        No saved state of that name.
    """
    artifact = _latest(session, name, project)
    with tempfile.TemporaryDirectory(prefix="wl-data-state-") as tmp:
        return diff_state(session, artifact.download(tmp), origin)


def _latest(session: "Session", name: str, project: str | None = None):
    """The latest version of the saved state ``name`` (in ``project``, else in the project of
    the one :func:`list_states` lists under that name)."""
    from weightslab_nb.tracking.artifacts import ArtifactStore

    check_state_name(name)
    if project is None:
        states = list_states(session)
        project = next((e["project"] for e in states if e["name"] == name), None)
        if project is None:
            known = [e["name"] for e in states]
            raise InvalidValueError(f"name: no saved data state {name!r}; saved: "
                                    f"{known or 'none'}")
    return ArtifactStore(session.root_log_dir).get(project, name, "latest")


# ---------------------------------------------------------------- as artifacts
def log_data_state(session: "Session", name: str, origin: str | None = None, aliases=None):
    """Save the session's data state as a version of the artifact ``name`` (type
    ``"data-state"``) and return the logged artifact (``.version``, ``.digest``...).

    In the running run when there is one (``wl.init``: the run is recorded as its producer),
    else in the store of ``session.root_log_dir`` (project ``"weightslab"``). The same curation
    saved again is the same version (the store dedupes by content). The artifact's metadata
    holds the state's digest, the experiment hash it was saved at and per origin the sample and
    discard counts and the ids' fingerprint.

    Raises
    ------
    StateError
        The session records nothing (a run opened read-only).
    InvalidValueError, InvalidTypeError
        A bad ``name``, ``origin`` or ``aliases``.
    """
    from weightslab_nb.tracking import run as tracking_run
    from weightslab_nb.tracking.artifacts import Artifact

    with tempfile.TemporaryDirectory() as tmp:
        manifest = save_state(session, tmp, origin)
        artifact = Artifact(name, type=ARTIFACT_TYPE, metadata={
            "digest": manifest["digest"], "experiment_hash": manifest["experiment_hash"],
            "origins": {o: {k: m[k] for k in ("samples", "discarded", "fingerprint")}
                        for o, m in manifest["origins"].items()}})
        artifact.add_dir(tmp)
        logged = tracking_run.log_artifact(session, artifact, aliases)
    global _last_save
    _last_save = next(_saves)
    return logged


def apply_data_state(session: "Session", ref, origin: str | None = None,
                     strict: bool = False) -> ApplyReport:
    """Apply a saved data state to the session before training; return the report.

    ``ref`` is a directory (a ``Path``, or a string naming an existing directory), an artifact
    reference of the session's store (``"name:latest"``, ``"name:v2"``, ``"project/name:v2"``:
    recorded as used by the running run, if any), or a logged artifact (e.g. from
    ``wl.Api(other_root).artifact("weightslab/name:latest")``: a state saved by another run).
    The session records the state it trains on: ``{"ref", "name", "version", "digest"}`` of an
    artifact (see :meth:`Session.note_data_state`).

    Raises
    ------
    StateError
        Training runs, or (``strict``) the session's samples differ from the state's.
    InvalidTypeError, InvalidValueError
        ``ref`` is none of the above, or names no artifact version.
    """
    if isinstance(ref, Path) or (isinstance(ref, str) and Path(ref).is_dir()):
        return apply_state(session, ref, origin, strict)
    from weightslab_nb.tracking import run as tracking_run
    from weightslab_nb.tracking.artifacts import Artifact

    if not isinstance(ref, (str, Artifact)):
        raise InvalidTypeError(f"ref: expected a directory, an artifact reference or a logged "
                               f"artifact, got {type(ref).__name__}")
    artifact = tracking_run.use_artifact(session, ref)
    if artifact.type != ARTIFACT_TYPE:
        raise InvalidValueError(f"ref: {artifact.qualified_name} is a {artifact.type!r} "
                                f"artifact, not a {ARTIFACT_TYPE!r}")
    identity = {"ref": ref if isinstance(ref, str) else artifact.qualified_name,
                "name": artifact.collection_name, "version": artifact.version,
                "digest": artifact.digest}
    with tempfile.TemporaryDirectory(prefix="wl-data-state-") as tmp:  # read, then gone
        return apply_state(session, artifact.download(tmp), origin, strict, identity)
