"""Where saved data states live: named states under ``<root_log_dir>/data-states/<name>/``
(what the tag editor lists and saves), and the adapter to the artifact store.

The adapter (:func:`log_data_state`, :func:`apply_data_state`) uses
``weightslab_nb.tracking.artifacts`` when it exists, with the issue's API:
``Artifact(name, type="data-state", metadata=...)``, ``artifact.add_dir(dir)``,
``run.log_artifact(artifact, aliases=...)`` and ``run.use_artifact("name:latest")`` whose
``download()`` returns a directory. Without it they raise ``NotImplementedError`` naming what
is missing; a local directory (a path) is applied without the artifact store.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from weightslab_nb.data_state.apply import ApplyReport, apply_state, diff_state
from weightslab_nb.data_state.files import STATE_FILE, read_manifest
from weightslab_nb.data_state.save import save_state
from weightslab_nb.errors import InvalidTypeError, InvalidValueError, StateError

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


# ---------------------------------------------------------------- the artifact store adapter
def _artifacts():
    """The artifact store module, or NotImplementedError naming what is missing."""
    try:
        module = importlib.import_module("weightslab_nb.tracking.artifacts")
    except ImportError:
        raise NotImplementedError("data states as artifacts need weightslab_nb.tracking."
                                  "artifacts (the artifact store), which is not installed; "
                                  "use save_state / apply_state with a directory") from None
    if not hasattr(module, "Artifact"):
        raise NotImplementedError("weightslab_nb.tracking.artifacts has no Artifact class")
    return module


def _run_with(session: "Session", method: str):
    run = getattr(session, "run", None)
    if run is None or getattr(run, "state", None) != "running":
        raise StateError(f"{method}: needs a running run; call wl.init() first")
    if not hasattr(run, method):
        raise NotImplementedError(f"the run has no {method}() (the artifact store is missing)")
    return run


def log_data_state(session: "Session", name: str, origin: str | None = None, aliases=None):
    """Save the session's data state as an artifact ``name`` of type ``"data-state"`` in the
    running run and return the logged artifact.

    Raises
    ------
    NotImplementedError
        The artifact store (``weightslab_nb.tracking.artifacts``) is not there.
    StateError
        No running run (``wl.init()``).
    """
    module = _artifacts()
    run = _run_with(session, "log_artifact")
    with tempfile.TemporaryDirectory() as tmp:
        manifest = save_state(session, tmp, origin)
        artifact = module.Artifact(name, type=ARTIFACT_TYPE, metadata={
            "digest": manifest["digest"], "experiment_hash": manifest["experiment_hash"],
            "origins": {o: {k: m[k] for k in ("samples", "discarded", "fingerprint")}
                        for o, m in manifest["origins"].items()}})
        artifact.add_dir(tmp)
        run.log_artifact(artifact, aliases=aliases)
    return artifact


def apply_data_state(session: "Session", ref, origin: str | None = None,
                     strict: bool = False) -> ApplyReport:
    """Apply a saved data state: ``ref`` is a directory (a ``Path``, or a string naming an
    existing directory) or an artifact reference (``"name:latest"``, ``"name:v2"``) of the
    artifact store. The session records the artifact's ``{"name", "version", "digest"}``.

    Raises
    ------
    NotImplementedError
        An artifact reference without the artifact store.
    StateError
        Training runs, no running run for an artifact reference, or (strict) a mismatch.
    """
    if isinstance(ref, Path) or (isinstance(ref, str) and Path(ref).is_dir()):
        return apply_state(session, ref, origin, strict)
    if not isinstance(ref, str):
        raise InvalidTypeError(f"ref: expected an artifact reference or a directory, got "
                               f"{type(ref).__name__}")
    _artifacts()
    run = _run_with(session, "use_artifact")
    artifact = run.use_artifact(ref)
    directory = artifact.download()
    identity = {"ref": ref}
    for key in ("name", "version", "digest"):
        value = getattr(artifact, key, None)
        if isinstance(value, (str, int)):
            identity[key] = value
    return apply_state(session, directory, origin, strict, identity)
