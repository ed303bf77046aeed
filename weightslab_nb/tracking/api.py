"""Query logged runs from their files: ``wl.Api().runs(...)``, ``run.history()``, ``run.files()``.

The local counterpart of wandb's public API. Runs are found on disk (``runs/<id>/run.json``
below the roots searched, see :class:`Api`), so a run can be read while its process still
runs, after it ended, or on another machine that got the directory. Nothing is cached: every
call reads the files (``Api.flush`` exists for compatibility and does nothing).

A run that the Api's session (for ``wl.Api``: the current one) is still logging is flushed
before it is read, so its latest rows are included; a run logged by another live process is
read as its files stand (its writer appends within its session's flush interval, 0.5 s by
default).
"""

from __future__ import annotations

import glob
import json
import logging
import math
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from weightslab_nb.errors import (InvalidTypeError, InvalidValueError, MissingFileError,
                                  StateError, UnknownNameError)
from weightslab_nb.tracking import media
from weightslab_nb.tracking.artifacts import query as artifact_query
from weightslab_nb.tracking.dotted import lookup
from weightslab_nb.tracking.run import (CRASHED_AFTER, HISTORY_FILE, RUN_FILE, RUNS_DIR,
                                        SUMMARY_FILE)

log = logging.getLogger(__name__)

DEFAULT_ROOT = "weightslab_runs"
DEFAULT_SAMPLES = 500


class Api:
    """Find and read runs.

    Parameters
    ----------
    overrides : dict, optional
        ``"project"``: the project a bare run id is looked up in, and the default of
        :meth:`runs`; ``"root"``: a directory (or list of them) to search instead of the
        default.
    root : str, Path or list of them, optional
        Same as ``overrides["root"]``. Default: ``./weightslab_runs`` (where sessions put
        their ``root_log_dir`` by default) and ``session``'s ``root_log_dir``.
    session : Session, optional
        The live session whose runs are flushed before they are read and whose run directory
        is searched by default (``wl.Api`` passes the current session).

    A root is searched for ``runs/<id>/run.json`` in itself and in its sub-directories, two
    levels deep (``<root>/<run dir>/runs/<id>``).
    """

    def __init__(self, overrides: Mapping | None = None, root=None, *, session=None):
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - {"project", "root", "entity", "base_url"})
        if unknown:
            raise InvalidValueError(f"overrides: unknown keys {unknown}; accepted: project, root "
                                    "(entity and base_url are accepted and ignored)")
        self.project = overrides.get("project")
        root = root if root is not None else overrides.get("root")
        self.session = session
        self.roots = _roots(root, session)

    def flush(self) -> None:
        """Nothing to do: this API keeps no cache (kept for compatibility)."""

    # ---------------------------------------------------------------- runs
    def runs(self, path: str = "", filters: Mapping | None = None, order: str = "-created_at",
             per_page: int = 50) -> "Runs":
        """Runs of a project that match ``filters``, in ``order``.

        Parameters
        ----------
        path : str
            ``"project"`` or ``"entity/project"`` (the entity is ignored); ``""`` means the
            ``project`` override, else every project.
        filters : dict, optional
            A MongoDB-style query (matched with the ``mongoquery`` library) over each run's
            record: ``id``, ``name``, ``project``, ``state``, ``tags``, ``notes``, ``group``,
            ``job_type``, ``sweep`` (a sweep id), ``created_at`` (ISO text),
            ``config.<key>``, ``summary_metrics.<key>`` (also ``summary.<key>``).
            ``config.<key>.value`` is read as ``config.<key>``.
            Example: ``{"config.lr": {"$lt": 0.01}, "state": "finished"}``.
        order : str
            A record key, ``+`` for ascending, ``-`` (or no sign) for descending; runs
            without the key come last. Default: newest first.
        per_page : int
            Accepted for compatibility (everything is read at once).

        Returns
        -------
        Runs
            A sequence of :class:`ApiRun`.

        Raises
        ------
        ValueError
            A malformed path, filter or order.
        """
        from mongoquery import Query, QueryError

        project = _project_of(path) if path else self.project
        if filters is not None and not isinstance(filters, Mapping):
            raise InvalidValueError(f"filters: expected a dict (MongoDB query), got {filters!r}")
        try:
            query = Query(_normalize_filter(dict(filters or {})))
        except QueryError as exc:
            raise InvalidValueError(f"filters: {exc}") from None
        runs = [r for r in self._all_runs() if project is None or r.project == project]
        try:
            matched = [r for r in runs if query.match(r.record())]
        except QueryError as exc:
            raise InvalidValueError(f"filters: {exc}") from None
        return Runs(_ordered(matched, order))

    def run(self, path: str) -> "ApiRun":
        """One run by ``"project/id"``, ``"entity/project/id"`` or ``"id"``.

        Raises
        ------
        ValueError
            No run of that id (in that project), or a bare id found in several projects.
        """
        if not isinstance(path, str) or not path.strip("/"):
            raise InvalidValueError(f"path: expected 'project/run_id' or 'run_id', got {path!r}")
        parts = path.strip("/").split("/")
        run_id = parts[-1]
        project = parts[-2] if len(parts) >= 2 else self.project
        found = [r for r in self._all_runs(glob.escape(run_id))
                 if r.id == run_id and (project is None or r.project == project)]
        if not found:
            raise InvalidValueError(f"path: no run {path!r} under {[str(r) for r in self.roots]}")
        if len(found) > 1:
            raise InvalidValueError(f"path: run id {run_id!r} exists in several places "
                                    f"({[str(r.dir) for r in found]}); give 'project/run_id'")
        return found[0]

    # ---------------------------------------------------------------- sweeps
    def sweep(self, path: str):
        """One sweep by ``"sweep_id"``, ``"project/sweep_id"`` or ``"entity/project/sweep_id"``
        (see :mod:`weightslab_nb.tracking.sweeps`), found as ``sweeps/<id>/sweep.json`` under
        the roots.

        Returns
        -------
        weightslab_nb.tracking.sweeps.query.Sweep
            ``runs``, ``best_run(order=None)``, ``config``, ``state``, ``expected_run_count``,
            ``name``, ``url``.

        Raises
        ------
        UnknownNameError
            No such sweep under the roots.
        ValueError
            A malformed path, or an id found in several places.
        """
        from weightslab_nb.tracking.sweeps.query import Sweep
        from weightslab_nb.tracking.sweeps.study import find_sweep, split_path

        project, sweep_id = split_path(path)
        project = project or self.project
        handle = find_sweep(f"{project}/{sweep_id}" if project else sweep_id, self.roots)

        def runs_of(order: str) -> Runs:
            return Runs(_ordered([r for r in self._all_runs() if r.sweep_id == sweep_id],
                                 order))

        return Sweep(handle, runs_of)

    def projects(self, entity=None, per_page: int = 200) -> list["Project"]:
        """The projects that have runs, by name (``entity`` and ``per_page`` are ignored)."""
        counts: dict[str, int] = {}
        for run in self._all_runs():
            counts[run.project] = counts.get(run.project, 0) + 1
        return [Project(name, n) for name, n in sorted(counts.items())]

    # ---------------------------------------------------------------- artifacts
    def artifact(self, name: str, type: str | None = None):
        """One artifact version: ``"name:v1"``, ``"name:alias"``, ``"name:latest"``,
        ``"name:<manifest digest>"``, ``"name"`` (the latest), each optionally prefixed with
        ``"project/"`` or ``"entity/project/"`` (the entity is ignored). A bare name is looked
        up in the ``project`` override, else in the one project that has it.

        Returns
        -------
        weightslab_nb.tracking.artifacts.Artifact
            A logged version (``download``, ``verify``, ``logged_by``, ``used_by``, ``delete``).

        Raises
        ------
        UnknownNameError
            No such artifact or version (the message lists what exists).
        ValueError
            A malformed name, a bare name in several projects, or a ``type`` that is not the
            artifact's.
        """
        return artifact_query.find(self._artifact_stores(), name, type, self.project)

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        """Whether :meth:`artifact` finds ``name`` (a malformed name still raises)."""
        try:
            self.artifact(name, type)
        except KeyError:
            return False
        return True

    def artifact_versions(self, type_name: str, name: str, per_page: int = 50):
        """Every version of the artifact ``name`` (``"[project/]name"``) of type
        ``type_name``, oldest (``v0``) first: an ``ArtifactVersions`` list.

        Raises
        ------
        UnknownNameError, ValueError
            As :meth:`artifact`.
        """
        latest = self.artifact(name.partition(":")[0], type_name)
        return artifact_query.ArtifactVersions(latest._store.versions(latest.project,
                                                                      latest.collection_name))

    def artifact_types(self, project: str | None = None) -> list:
        """The artifact types of ``project`` (default: the ``project`` override, else every
        project): ``ArtifactType`` objects (``name``, ``project``, ``collections()``)."""
        return artifact_query.types_of(self._artifact_stores(), project or self.project)

    artifacts_types = artifact_types

    def artifact_type(self, type_name: str, project: str | None = None):
        """One artifact type (``ArtifactType``) of ``project`` (default as
        :meth:`artifact_types`).

        Raises
        ------
        UnknownNameError
            No artifact of that type (the message lists the types there are).
        """
        types = self.artifact_types(project)
        for found in types:
            if found.name == type_name:
                return found
        raise UnknownNameError(f"type_name: no artifacts of type {type_name!r}; types: "
                               f"{sorted({t.name for t in types})}")

    def artifact_collections(self, project_name: str | None, type_name: str,
                             per_page: int = 50) -> list:
        """The artifact names (``ArtifactCollection``: ``name``, ``type``, ``project``,
        ``versions()``) of type ``type_name`` in ``project_name`` (None: every project)."""
        return artifact_query.collections_of(self._artifact_stores(),
                                             project_name or self.project, type_name)

    def artifact_collection(self, type_name: str, name: str):
        """One artifact name (``"[project/]name"``) of type ``type_name`` as an
        ``ArtifactCollection``.

        Raises
        ------
        UnknownNameError, ValueError
            As :meth:`artifact`.
        """
        latest = self.artifact(name.partition(":")[0], type_name)
        return artifact_query.ArtifactCollection(latest.collection_name, latest.type,
                                                 latest.project, (latest._store,))

    def _artifact_stores(self) -> list:
        return artifact_query.stores_under(self.roots)

    def _all_runs(self, run_id: str = "*") -> list["ApiRun"]:
        """Every readable run under the roots (or only the folders matching the glob
        ``run_id``); a damaged ``run.json`` is skipped with a warning naming it (one bad folder
        must not hide the others)."""
        seen, out = set(), []
        for root in self.roots:
            for meta in _run_files(root, run_id):
                run_dir = meta.parent.resolve()
                if run_dir in seen:
                    continue
                seen.add(run_dir)
                try:
                    out.append(ApiRun(run_dir, session=self.session, api=self))
                except (OSError, ValueError) as exc:
                    log.warning("skipping %s: %s", meta, exc)
        return out

    def __repr__(self) -> str:
        return f"<Api roots={[str(r) for r in self.roots]}>"


@dataclass(frozen=True)
class Project:
    """A project: its ``name`` and how many runs it has."""

    name: str
    run_count: int


class Runs(list):
    """The runs :meth:`Api.runs` matched: a list of :class:`ApiRun` (``len``, indexing,
    iteration) with ``length`` as in wandb's API."""

    @property
    def length(self) -> int:
        """How many runs matched (``len(runs)``; wandb's name)."""
        return len(self)

    def dataframe(self, config: bool = True, summary: bool = True):
        """One row per run: ``path``, ``name``, ``state``, ``created_at``, ``tags``, then
        ``config.<key>`` and ``summary.<key>`` columns (nested keys dotted; rich values left
        out), in this collection's order."""
        import pandas as pd

        rows = []
        for run in self:
            row = {"path": run.path, "name": run.name, "state": run.state,
                   "created_at": run.created_at, "tags": ", ".join(run.tags)}
            if config:
                row.update({f"config.{k}": v for k, v in _flat(run.config).items()})
            if summary:
                row.update({f"summary.{k}": v for k, v in _flat(run.summary).items()
                            if not isinstance(v, (dict, list))})
            rows.append(row)
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        if not self:
            return "<p>No runs matched.</p>"
        return self.dataframe()._repr_html_()

    def __repr__(self) -> str:
        return f"<Runs {len(self)}: {[r.path for r in self]}>"


class ApiRun:
    """A logged run, read from its directory.

    Attributes
    ----------
    id, name, project, created_at, heartbeat_at, notes, group, job_type : str
    state : str
        See :attr:`state` (``"crashed"`` when its process died).
    tags : list of str
    config : dict
    summary : dict
        One value per key; rich values are descriptors (read them with :meth:`load_media`).
    dir : Path
    sweep_id : str or None
        The sweep the run is a trial of (:attr:`sweep` reads it).
    """

    entity = None

    def __init__(self, run_dir: Path, *, session=None, api: "Api | None" = None):
        self.dir = Path(run_dir)
        self.session = session  # a live session whose run may be this one (flushed first)
        self._api = api  # where the run was found: its sweep is looked up there too
        self.load()

    def load(self, force: bool = False) -> None:
        """Read ``run.json`` and ``summary.json`` again (``force`` is accepted for
        compatibility: nothing is cached, so every call reads)."""
        _flush_live(self.session, self.dir)
        try:
            meta = _read_json(self.dir / RUN_FILE)
        except json.JSONDecodeError as exc:
            raise InvalidValueError(f"{self.dir / RUN_FILE}: not JSON ({exc})") from None
        if not isinstance(meta, dict) or "id" not in meta:
            raise InvalidValueError(f"{self.dir / RUN_FILE}: not a run file")
        self._meta = meta
        self.summary = _read_json(self.dir / SUMMARY_FILE, default={})

    @property
    def state(self) -> str:
        """``"running"``, ``"finished"``, ``"failed"``, or ``"crashed"``: a run recorded as
        running whose writer stopped sending heartbeats (its process died) for
        :data:`~weightslab_nb.tracking.run.CRASHED_AFTER` seconds."""
        state = self._meta.get("state")
        if state == "running" and _live_run(self.session, self.dir) is None and \
                _age_seconds(self._meta.get("heartbeat_at")) > CRASHED_AFTER:
            return "crashed"
        return state

    def __getattr__(self, name: str):
        meta = self.__dict__.get("_meta", {})
        if name in ("id", "name", "project", "created_at", "heartbeat_at",
                    "finished_at", "notes", "group", "job_type"):
            return meta.get(name)
        if name in ("tags", "config"):
            return meta.get(name) or ([] if name == "tags" else {})
        if name == "sweep_id":
            return meta.get("sweep")
        raise AttributeError(name)

    @property
    def sweep(self):
        """The :class:`~weightslab_nb.tracking.sweeps.query.Sweep` this run is a trial of
        (looked up under the roots of the ``Api`` that found the run, and the run's own
        root), or None."""
        if self.sweep_id is None:
            return None
        roots = list(self._api.roots) if self._api is not None else []
        return Api(root=[*roots, self.dir.parent.parent], session=self.session).sweep(
            self.sweep_id)

    @property
    def path(self) -> str:
        """``"<project>/<id>"``."""
        return f"{self.project}/{self.id}"

    @property
    def url(self) -> str:
        """A ``file://`` URL of the run's directory."""
        return self.dir.resolve().as_uri()

    def record(self) -> dict:
        """What :meth:`Api.runs` filters and orders on."""
        out = {k: self._meta.get(k) for k in ("id", "name", "project", "tags", "notes",
                                              "group", "job_type", "created_at",
                                              "heartbeat_at")}
        out["state"] = self.state
        out["sweep"] = self._meta.get("sweep")
        out["createdAt"] = out["created_at"]
        out["config"] = self.config
        out["summary_metrics"] = out["summary"] = self.summary
        return out

    # ---------------------------------------------------------------- history
    @property
    def history_keys(self) -> list[str]:
        """Every key logged, in the order first seen."""
        keys: dict[str, None] = {}
        for row in self._rows():
            keys.update(dict.fromkeys(k for k in row if not k.startswith("_")))
        return list(keys)

    @property
    def last_history_step(self) -> int | None:
        """The last ``_step`` logged (None before the first row)."""
        last = None
        for row in self._rows():
            last = row["_step"]
        return last

    lastHistoryStep = last_history_step

    def scan_history(self, keys=None, page_size: int = 1000, min_step: int | None = None,
                     max_step: int | None = None) -> Iterator[dict]:
        """Every history row, oldest first, one per step: ``{"_step", "_timestamp",
        "_runtime", key: value...}``.

        ``keys``: only rows holding every one of these keys, restricted to them (and
        ``_step``). ``min_step`` (inclusive) and ``max_step`` (exclusive) bound the steps.
        ``page_size`` is accepted for compatibility.
        """
        keys = _keys(keys)
        for row in self._rows():
            step = row["_step"]
            if (min_step is not None and step < min_step) or \
                    (max_step is not None and step >= max_step):
                continue
            if keys is None:
                yield row
            elif all(k in row for k in keys):
                yield {"_step": step, **{k: row[k] for k in keys}}

    def history(self, samples: int = DEFAULT_SAMPLES, keys=None, x_axis: str = "_step",
                pandas: bool = True, stream: str = "default"):
        """History rows, evenly sampled down to at most ``samples`` (first and last kept).

        Parameters
        ----------
        samples : int, default 500
        keys : list of str, optional
            Only rows holding every key, restricted to them and ``x_axis``.
        x_axis : str, default "_step"
            The column returned beside ``keys``.
        pandas : bool, default True
            A DataFrame (one column per key, NaN where a row lacks one), else a list of dicts.
        stream : {"default", "system"}
            ``"system"`` (machine metrics) is empty: none are recorded.

        Raises
        ------
        ValueError
            ``samples`` < 1 or an unknown stream.
        """
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise InvalidValueError(f"samples: expected an int >= 1, got {samples!r}")
        if stream not in ("default", "system"):
            raise InvalidValueError(f"stream: expected 'default' or 'system', got {stream!r}")
        rows = [] if stream == "system" else self._selected(keys, x_axis)
        rows = _sample(rows, samples)
        if not pandas:
            return rows
        import pandas as pd

        return pd.DataFrame(rows)

    def _selected(self, keys, x_axis: str) -> list[dict]:
        keys = _keys(keys)
        if keys is None:
            return list(self._rows())
        wanted = [x_axis, *[k for k in keys if k != x_axis]]
        return [{k: row.get(k) for k in wanted} for row in self._rows()
                if all(k in row for k in keys)]

    def _rows(self) -> Iterator[dict]:
        """Merged rows: consecutive ``log`` calls of one step make one row."""
        _flush_live(self.session, self.dir)
        path = self.dir / HISTORY_FILE
        if not path.exists():
            return
        row: dict | None = None
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                event = _event(path, number, line)
                if event is None:
                    break  # the last line, cut off mid-write
                if row is not None and event["_step"] == row["_step"]:
                    row.update(event)
                    continue
                if row is not None:
                    yield row
                row = event
        if row is not None:
            yield row

    # ---------------------------------------------------------------- media and files
    def load_media(self, value):
        """A rich value logged by this run.

        Parameters
        ----------
        value : dict or str
            A descriptor from the run's summary or history (``run.summary["val/scene"]``, a
            cell of ``history()``), or a key of the summary (its last value).

        Returns
        -------
        object
            See :func:`weightslab_nb.tracking.media.decode_value`: read-only views for images,
            masks, tables and charts; the value's own class for the other kinds.

        Raises
        ------
        KeyError
            ``value`` is a string that is not a key of the summary (an ``UnknownNameError``).
        ValueError
            ``value`` is not a descriptor of a rich value.
        """
        if isinstance(value, str):
            summary = self.summary
            if value not in summary:
                known = sorted(k for k, v in summary.items()
                               if isinstance(v, dict) and "_type" in v)
                raise UnknownNameError(f"value: {value!r} is not a key of run {self.path}'s "
                                       f"summary; its rich values: {known[:20]}")
            value = summary[value]
        return media.decode_value(value, self.dir)

    def files(self, names=None, per_page: int = 50) -> list["File"]:
        """The run's files (``run.json``, ``history.jsonl``, ``summary.json``, media), or
        only those named (paths relative to the run directory)."""
        if isinstance(names, str):
            raise InvalidTypeError("names: expected a list of file names, got the string "
                                   f"{names!r}")
        found = sorted(p for p in self.dir.rglob("*") if p.is_file() and
                       not p.is_symlink() and not p.name.startswith("."))
        out = [File(self.dir, p.relative_to(self.dir).as_posix()) for p in found]
        if names:
            wanted = set(names)
            out = [f for f in out if f.name in wanted]
        return out

    def file(self, name: str) -> "File":
        """One file by its path relative to the run directory.

        Raises
        ------
        weightslab_nb.errors.InvalidValueError
            ``name`` is absolute, has a ``..`` part, or goes through a symbolic link inside the
            run folder.
        weightslab_nb.errors.MissingFileError
            No such file.
        """
        parts = PurePosixPath(name).parts if isinstance(name, str) and name else ("..",)
        if PurePosixPath(*parts).is_absolute() or ".." in parts:
            raise InvalidValueError(f"name: expected a path inside the run's folder, got {name!r}")
        try:
            media.file_in_run(self.dir, name, "name")
        except MissingFileError:
            raise MissingFileError(f"name: run {self.path} has no file {name!r}") from None
        return File(self.dir, PurePosixPath(*parts).as_posix())

    # ---------------------------------------------------------------- artifacts
    def logged_artifacts(self, per_page: int = 100):
        """The artifact versions this run logged (a ``RunArtifacts`` list, in the order it
        logged them; a re-log of unchanged files counts, with the version it matched)."""
        return self._artifacts("logged")

    def used_artifacts(self, per_page: int = 100):
        """The artifact versions this run used (``run.use_artifact``), in the order it did."""
        return self._artifacts("used")

    def _artifacts(self, mode: str):
        from weightslab_nb.tracking.artifacts.store import ArtifactStore

        store = ArtifactStore(self.dir.parent.parent)
        return artifact_query.RunArtifacts(store.run_artifacts(self.path, mode))

    def update(self) -> None:
        """Write ``name``, ``tags``, ``notes`` and ``summary`` changes made on this object
        back to the run's files. Refused while the run is running (change the live run)."""
        if self._meta.get("state") == "running":
            raise StateError(f"run {self.path} is running; change it through its live Run")
        from weightslab_nb.tracking.run import _write_json

        _write_json(self.dir / RUN_FILE, self._meta)
        _write_json(self.dir / SUMMARY_FILE, self.summary)

    def __setattr__(self, name: str, value) -> None:
        if name in ("name", "tags", "notes"):
            self._meta[name] = value
        else:
            super().__setattr__(name, value)

    def __repr__(self) -> str:
        return f"<ApiRun {self.path} name={self.name!r} state={self.state}>"


@dataclass(frozen=True)
class File:
    """A file of a run: ``name`` (relative path), ``size`` (bytes), ``path``; ``download``."""

    run_dir: Path
    name: str

    @property
    def path(self) -> Path:
        """The file on disk (``run_dir / name``)."""
        return self.run_dir / self.name

    @property
    def size(self) -> int:
        """The file's size in bytes (read now)."""
        return self.path.stat().st_size

    def download(self, root=".", replace: bool = False) -> Path:
        """Copy the file to ``<root>/<name>``; return that path.

        Raises ``FileExistsError`` when it exists and ``replace`` is False.
        """
        target = Path(root) / self.name
        if Path(root).resolve() not in target.resolve().parents:
            raise InvalidValueError(f"name: {self.name!r} would leave {root}")
        if target.exists() and not replace:
            raise FileExistsError(f"{target} exists; pass replace=True to overwrite it")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path, target)
        return target


# ---------------------------------------------------------------- helpers
def _roots(root, session) -> list[Path]:
    if root is None:
        roots = [Path.cwd() / DEFAULT_ROOT]
        chosen = session.chosen_root_log_dir if session is not None else None
        if chosen is not None:
            roots.append(chosen)
        return roots
    items = [root] if isinstance(root, (str, Path)) else list(root)
    for item in items:
        if not isinstance(item, (str, Path)):
            raise InvalidTypeError("root: expected a directory path or a list of them, got "
                                   f"{item!r}")
    return [Path(item) for item in items]


def _run_files(root: Path, run_id: str = "*") -> list[Path]:
    if not root.is_dir():
        return []
    patterns = (f"{RUNS_DIR}/{run_id}/{RUN_FILE}", f"*/{RUNS_DIR}/{run_id}/{RUN_FILE}",
                f"*/*/{RUNS_DIR}/{run_id}/{RUN_FILE}")
    return sorted({p for pattern in patterns for p in root.glob(pattern)})


def _project_of(path: str) -> str:
    if not isinstance(path, str):
        raise InvalidValueError(f"path: expected 'project' or 'entity/project', got {path!r}")
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts or len(parts) > 2:
        raise InvalidValueError(f"path: expected 'project' or 'entity/project', got {path!r}")
    return parts[-1]


def _normalize_filter(query):
    """``config.<key>.value`` -> ``config.<key>`` (wandb stores config values that way)."""
    if isinstance(query, list):
        return [_normalize_filter(q) for q in query]
    if not isinstance(query, dict):
        return query
    out = {}
    for key, value in query.items():
        if isinstance(key, str) and key.startswith("config.") and key.endswith(".value"):
            key = key[: -len(".value")]
        out[key] = _normalize_filter(value)
    return out


def _flat(values: dict, prefix: str = "") -> dict:
    """Nested dicts flattened to dotted keys; rich-value descriptors (with ``_type``) kept."""
    out = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and "_type" not in value:
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _ordered(runs: list[ApiRun], order: str) -> list[ApiRun]:
    if not isinstance(order, str) or not order.lstrip("+-"):
        raise InvalidValueError("order: expected a key such as '-created_at' or "
                                f"'+summary_metrics.loss', got {order!r}")
    descending = not order.startswith("+")
    key = order.lstrip("+-")
    if key.startswith("config.") and key.endswith(".value"):
        key = key[: -len(".value")]
    present = [(r, lookup(r.record(), key)) for r in runs]
    have = [(r, v) for r, v in present if v is not None]
    missing = [r for r, v in present if v is None]
    try:
        have.sort(key=lambda rv: rv[1], reverse=descending)
    except TypeError:
        have.sort(key=lambda rv: str(rv[1]), reverse=descending)
    return [r for r, _ in have] + missing


def _keys(keys) -> list[str] | None:
    if keys is None:
        return None
    if isinstance(keys, str):
        return [keys]
    keys = list(keys)
    if not all(isinstance(k, str) for k in keys):
        raise InvalidValueError(f"keys: expected a list of strings, got {keys!r}")
    return keys


def _sample(rows: list, samples: int) -> list:
    if len(rows) <= samples:
        return rows
    if samples == 1:
        return rows[-1:]
    n = len(rows) - 1
    picks = sorted({round(i * n / (samples - 1)) for i in range(samples)})
    return [rows[i] for i in picks]


def _event(path: Path, number: int, line: str) -> dict | None:
    """One history line as a dict; None for a last line its writer did not finish (a process
    killed mid-append leaves one without its newline)."""
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        if not line.endswith("\n"):
            return None
        raise InvalidValueError(f"{path}: line {number} is not JSON; the history file is damaged "
                                f"({line[:60]!r}...)") from None
    if not isinstance(event, dict) or not isinstance(event.get("_step"), int):
        raise InvalidValueError(f"{path}: line {number} is not a history row (a JSON object with "
                                "an integer '_step')")
    return event


def _read_json(path: Path, default=None):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if default is not None:
            return default
        raise


def _live_run(session, run_dir: Path):
    """``session``'s running run when it is the one at ``run_dir``, else None."""
    run = getattr(session, "run", None) if session is not None else None
    if run is not None and run.state == "running" and run.dir.resolve() == run_dir.resolve():
        return run
    return None


def _flush_live(session, run_dir: Path) -> None:
    """Flush ``session``'s running run when it is the one at ``run_dir``."""
    run = _live_run(session, run_dir)
    if run is not None:
        run.flush()


def _age_seconds(stamp) -> float:
    """Seconds since an ISO time written by the run (``inf`` when missing or unreadable)."""
    import datetime

    try:
        then = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z")
    except (TypeError, ValueError):
        return math.inf
    return (datetime.datetime.now(datetime.timezone.utc) - then).total_seconds()
