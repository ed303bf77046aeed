"""Where saved data states live: named states under ``<root_log_dir>/data-states/<name>/``
(what the tag editor lists and saves), and the adapter to the artifact store.

:func:`log_data_state` and :func:`apply_data_state` keep states as versioned artifacts of type
``"data-state"`` (:mod:`weightslab_nb.tracking.artifacts`): a content-addressed version per
distinct curation, with lineage (which run saved it, which runs trained on it).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from weightslab_nb.data_state.apply import ApplyReport, apply_state, diff_state
from weightslab_nb.data_state.files import STATE_FILE, read_manifest
from weightslab_nb.data_state.save import save_state
from weightslab_nb.errors import InvalidTypeError, InvalidValueError

if TYPE_CHECKING:
    from weightslab_nb.session import Session

STATES_DIR = "data-states"
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


# ---------------------------------------------------------------- named states of the run
def states_dir(session: "Session") -> Path:
    """``<root_log_dir>/data-states``: the named states of this run."""
    return Path(session.root_log_dir) / STATES_DIR


def state_path(session: "Session", name: str) -> Path:
    """The directory of the named state ``name`` (it may not exist)."""
    return states_dir(session) / check_state_name(name)


def save_named_state(session: "Session", name: str, origin: str | None = None) -> dict:
    """Save the session's data state as ``<root_log_dir>/data-states/<name>/`` (replacing a
    state of that name at once: a reader sees the old or the new one) and return its manifest.

    Raises as :func:`~weightslab_nb.data_state.save_state` and :func:`check_state_name`.
    """
    target = state_path(session, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    try:
        manifest = save_state(session, tmp, origin)
        old = target.with_name(f".{name}.old.{os.getpid()}")
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def list_states(session: "Session") -> list[dict]:
    """The named states of this run, by name: ``{"name", "digest", "samples", "discarded",
    "origins", "experiment_hash"}`` each (a directory without a readable manifest is skipped).
    """
    root = states_dir(session)
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or not (path / STATE_FILE).is_file():
            continue
        try:
            manifest = read_manifest(path)
        except (ValueError, OSError):
            continue
        origins = manifest.get("origins", {})
        out.append({"name": path.name, "digest": manifest.get("digest"),
                    "experiment_hash": manifest.get("experiment_hash"),
                    "origins": sorted(origins),
                    "samples": sum(o.get("samples", 0) for o in origins.values()),
                    "discarded": sum(o.get("discarded", 0) for o in origins.values())})
    return out


def apply_named_state(session: "Session", name: str, origin: str | None = None,
                      strict: bool = False) -> ApplyReport:
    """:func:`~weightslab_nb.data_state.apply_state` of the named state ``name``; the session
    records ``{"name", "digest"}`` as the state it trains on."""
    return apply_state(session, _existing(session, name), origin, strict, {"name": name})


def diff_named_state(session: "Session", name: str, origin: str | None = None) -> dict:
    """:func:`~weightslab_nb.data_state.diff_state` of the named state ``name``."""
    return diff_state(session, _existing(session, name), origin)


def _existing(session: "Session", name: str) -> Path:
    path = state_path(session, name)
    if not (path / STATE_FILE).is_file():
        known = [s["name"] for s in list_states(session)]
        raise InvalidValueError(f"name: no saved data state {name!r}; saved: {known or 'none'}")
    return path


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
        return tracking_run.log_artifact(session, artifact, aliases)


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
    return apply_state(session, artifact.download(), origin, strict, identity)
