"""A sweep on disk and its Optuna study: create, find, load; the trial's config.

A sweep lives in ``<root>/sweeps/<sweep id>/``:

``sweep.json``
    ``{"id", "name", "project", "method", "storage", "created_at", "config"}``: what
    :class:`~weightslab_nb.tracking.sweeps.query.Sweep` and the agents read.
``study.db``
    The Optuna study (SQLite), unless ``storage=`` named another database (any SQLAlchemy
    URL, such as PostgreSQL, so agents on several machines share one study). The study is
    named after the sweep id and keeps the sweep config in its user attributes, so an agent
    given the storage URL alone finds everything.

Optuna is imported here, when a sweep is created or loaded, never at package import.
"""

from __future__ import annotations

import json
import secrets
import string
import time
from dataclasses import dataclass
from pathlib import Path

from weightslab_nb.errors import InvalidTypeError, InvalidValueError, UnknownNameError
from weightslab_nb.experiment import write_atomic
from weightslab_nb.tracking.sweeps.config import SweepSpec, parse_sweep_config

SWEEPS_DIR = "sweeps"
SWEEP_FILE = "sweep.json"
STUDY_FILE = "study.db"
LOCK_FILE = "agents.lock"
CONFIG_ATTR = "wl_sweep_config"
SQLITE_TIMEOUT = 60.0  # seconds a writer waits for another one's lock
_ALPHABET = string.ascii_lowercase + string.digits


@dataclass
class SweepHandle:
    """A sweep found on disk or in a storage: its id, project, spec, storage URL, and folder
    (None when only the storage is known)."""

    id: str
    project: str
    spec: SweepSpec
    storage_url: str
    dir: Path | None
    created_at: str | None = None

    @property
    def lock_path(self) -> Path | None:
        """The file lock the agents of a SQLite study take to claim a trial (None for a
        server database, whose row locks do that)."""
        if not self.storage_url.startswith("sqlite:///"):
            return None
        return Path(self.storage_url[len("sqlite:///"):]).with_name(LOCK_FILE)

    def storage(self):
        """An Optuna ``RDBStorage`` on the sweep's database."""
        return open_storage(self.storage_url)

    def study(self):
        """The sweep's Optuna study (sampler and pruner from its config)."""
        import optuna

        return optuna.load_study(study_name=self.id, storage=self.storage(),
                                 sampler=make_sampler(self.spec), pruner=make_pruner(self.spec))


def open_storage(url: str):
    """An Optuna ``RDBStorage`` for ``url`` (SQLite waits up to :data:`SQLITE_TIMEOUT` for a
    lock instead of failing at once)."""
    from optuna.storages import RDBStorage

    kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT}} if url.startswith("sqlite") else {}
    return RDBStorage(url, engine_kwargs=kwargs)


def make_sampler(spec: SweepSpec):
    """``grid`` -> GridSampler over every combination (the same order in every process),
    ``random`` -> RandomSampler, ``bayes`` -> TPESampler."""
    import optuna

    if spec.method == "grid":
        space = {p.name: _grid_choices(p) for p in spec.parameters}
        return optuna.samplers.GridSampler(space, seed=0)
    if spec.method == "random":
        return optuna.samplers.RandomSampler()
    return optuna.samplers.TPESampler()


def make_pruner(spec: SweepSpec):
    """``early_terminate: hyperband`` -> HyperbandPruner, else no pruning."""
    import optuna

    if spec.hyperband is None:
        return optuna.pruners.NopPruner()
    hb = spec.hyperband
    return optuna.pruners.HyperbandPruner(min_resource=hb["min_iter"],
                                          max_resource=hb["max_iter"] or "auto",
                                          reduction_factor=hb["eta"])


def _primitive(values) -> bool:
    return all(v is None or isinstance(v, (bool, int, float, str)) for v in values)


def _grid_choices(param) -> list:
    values = param.grid_values()
    return values if _primitive(values) else list(range(len(values)))


def suggest_config(trial, spec: SweepSpec) -> dict:
    """The run config of ``trial``: every parameter suggested through Optuna, constants
    added, nested groups as nested dicts."""
    flat = dict(spec.constants)
    for p in spec.parameters:
        if p.kind in ("categorical", "int_uniform") and spec.method == "grid":
            choices = _grid_choices(p)
            picked = trial.suggest_categorical(p.name, choices)
            values = p.grid_values()
            flat[p.path] = picked if _primitive(values) else values[picked]
        elif p.kind == "categorical":
            if _primitive(p.choices):
                flat[p.path] = trial.suggest_categorical(p.name, list(p.choices))
            else:  # lists, dicts...: Optuna picks an index
                flat[p.path] = p.choices[trial.suggest_categorical(
                    p.name, list(range(len(p.choices))))]
        elif p.kind == "int_uniform":
            flat[p.path] = trial.suggest_int(p.name, p.low, p.high)
        elif p.kind == "q_uniform":
            flat[p.path] = trial.suggest_float(p.name, p.low, p.high, step=p.q)
        else:
            flat[p.path] = trial.suggest_float(p.name, p.low, p.high,
                                               log=p.kind != "uniform")
    config: dict = {}
    for path, value in flat.items():
        node = config
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return config


# ---------------------------------------------------------------- create and find
def create_sweep(config, root: Path, project: str | None = None,
                 storage: str | None = None) -> SweepHandle:
    """Check ``config``, create its study and write ``<root>/sweeps/<id>/sweep.json``.

    ``project``: default the config's ``project``, else ``"weightslab"``. ``storage``: an
    SQLAlchemy URL; default SQLite in the sweep's folder.

    Raises
    ------
    InvalidValueError, InvalidTypeError
        A bad config (see :func:`~weightslab_nb.tracking.sweeps.config.parse_sweep_config`),
        project or storage; nothing is created then.
    """
    import optuna

    from weightslab_nb.tracking.run import DEFAULT_PROJECT, _dumps

    spec = parse_sweep_config(config)
    if project is not None and (not isinstance(project, str) or not project.strip()):
        raise InvalidValueError(f"project: expected a non-empty string, got {project!r}")
    if storage is not None and (not isinstance(storage, str) or "://" not in storage):
        raise InvalidTypeError(f"storage: expected an SQLAlchemy URL such as "
                               f"'postgresql://user@host/db', got {storage!r}")
    project = project or spec.project or DEFAULT_PROJECT
    try:
        _dumps(spec.config)
    except (TypeError, ValueError) as exc:
        raise InvalidTypeError(f"sweep config: values must be JSON-able ({exc})") from None
    sweeps = Path(root) / SWEEPS_DIR
    sweep_id = _new_id(sweeps)
    folder = sweeps / sweep_id
    folder.mkdir(parents=True)
    url = storage or f"sqlite:///{(folder / STUDY_FILE).resolve()}"
    direction = "maximize" if spec.goal == "maximize" else "minimize"
    study = optuna.create_study(storage=open_storage(url), study_name=sweep_id,
                                direction=direction, sampler=make_sampler(spec),
                                pruner=make_pruner(spec))
    study.set_user_attr(CONFIG_ATTR, {"config": spec.config, "project": project})
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    record = {"id": sweep_id, "name": spec.name or sweep_id, "project": project,
              "method": spec.method, "storage": url, "created_at": created,
              "config": spec.config}
    write_atomic(folder / SWEEP_FILE, _dumps(record, indent=1).encode("utf-8"))
    return SweepHandle(sweep_id, project, spec, url, folder, created)


def _new_id(sweeps: Path) -> str:
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        if not (sweeps / candidate).exists():
            return candidate


def split_path(path) -> tuple[str | None, str]:
    """``"id"``, ``"project/id"`` or ``"entity/project/id"`` -> ``(project or None, id)``."""
    if not isinstance(path, str) or not path.strip("/"):
        raise InvalidValueError(f"sweep_id: expected 'sweep_id' or 'project/sweep_id', got "
                                f"{path!r}")
    parts = path.strip("/").split("/")
    return (parts[-2] if len(parts) >= 2 else None), parts[-1]


def sweep_files(root: Path, sweep_id: str = "*") -> list[Path]:
    """The ``sweep.json`` files under ``root`` (itself and two levels of sub-folders, as
    runs are searched)."""
    if not Path(root).is_dir():
        return []
    patterns = (f"{SWEEPS_DIR}/{sweep_id}/{SWEEP_FILE}", f"*/{SWEEPS_DIR}/{sweep_id}/{SWEEP_FILE}",
                f"*/*/{SWEEPS_DIR}/{sweep_id}/{SWEEP_FILE}")
    return sorted({p for pattern in patterns for p in Path(root).glob(pattern)})


def read_sweep(folder: Path) -> SweepHandle:
    """The sweep whose ``sweep.json`` is in ``folder``."""
    record = json.loads((Path(folder) / SWEEP_FILE).read_text(encoding="utf-8"))
    return SweepHandle(record["id"], record["project"], parse_sweep_config(record["config"]),
                       record["storage"], Path(folder), record.get("created_at"))


def find_sweep(path: str, roots, storage: str | None = None) -> SweepHandle:
    """The sweep ``path`` (``"id"`` or ``"project/id"``) under ``roots``; with ``storage``,
    looked up in that database instead (an agent on another machine).

    Raises
    ------
    UnknownNameError
        No such sweep (the message names where it looked).
    InvalidValueError
        A malformed path, or an id found in several places.
    """
    import glob

    project, sweep_id = split_path(path)
    if storage is not None:
        return _from_storage(sweep_id, project, storage)
    found = {}
    for root in roots:
        for file in sweep_files(Path(root), glob.escape(sweep_id)):
            handle = read_sweep(file.parent)
            if project is None or handle.project == project:
                found[file.parent.resolve()] = handle
    if not found:
        raise UnknownNameError(f"sweep_id: no sweep {path!r} under {[str(r) for r in roots]} "
                               "(pass dir= the folder wl.sweep wrote to, or storage= its "
                               "database URL)")
    if len(found) > 1:
        raise InvalidValueError(f"sweep_id: {path!r} exists in several places "
                                f"({[str(p) for p in found]}); pass dir=")
    return next(iter(found.values()))


def _from_storage(sweep_id: str, project: str | None, url: str) -> SweepHandle:
    import optuna

    try:
        summaries = optuna.get_all_study_names(storage=open_storage(url))
    except Exception as exc:  # a URL SQLAlchemy cannot open
        raise InvalidValueError(f"storage: cannot open {url!r} ({exc})") from None
    if sweep_id not in summaries:
        raise UnknownNameError(f"sweep_id: no sweep {sweep_id!r} in {url!r}; sweeps there: "
                               f"{sorted(summaries)}")
    study = optuna.load_study(study_name=sweep_id, storage=open_storage(url))
    attrs = study.user_attrs.get(CONFIG_ATTR) or {}
    if "config" not in attrs or (project is not None and attrs.get("project") != project):
        raise UnknownNameError(f"sweep_id: {sweep_id!r} in {url!r} is not a sweep of "
                               f"project {project!r}")
    return SweepHandle(sweep_id, attrs["project"], parse_sweep_config(attrs["config"]), url,
                       None)
