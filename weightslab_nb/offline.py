"""Opening a finished (or crashed) run to look at it: ``wl.open(root_log_dir)``.

The session returned is an ordinary :class:`~weightslab_nb.session.Session`, restored from the
run directory as a reopened run is (history, ledger snapshot, edit journal replayed), so every
panel and module function works on it unchanged. Its
:class:`~weightslab_nb.access.RunAccess` says what it may change:

* read-only (the default): nothing. The history file is opened with DuckDB's ``read_only``
  (a write-ahead log a killed writer left is replayed in memory; both files stay as they
  are), no leftover is cleaned, no journal, snapshot, manifest or tracking-run file is
  written; edits raise :class:`~weightslab_nb.errors.ReadOnlyError` before changing anything.
* ``writable=True``: tags, categorical tags and discards are made and persisted as in a live
  session (journal, then ledger snapshot); the history file is still only read, and
  recording, training and evaluating are still refused (the run has no model here).

A run still being written by its process is refused: DuckDB lets one process write a file and
no other open it meanwhile ("Could not set lock"); the error says to attach with
``wl.connect`` instead. A copy of a file another process is writing could be torn, so none is
made. Conversely, while a run is open here its process cannot reopen the file for writing.

The tracking run logged last under ``runs/`` (``wl.init``/``wl.log``) becomes
``session.run``, read back from its files
(:class:`~weightslab_nb.tracking.recorded.RecordedRun`), so the media panel shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from weightslab_nb.access import RunAccess
from weightslab_nb.arguments import check_bool, check_path
from weightslab_nb.errors import (
    InvalidTypeError,
    InvalidValueError,
    MissingFileError,
    StateError,
)
from weightslab_nb.session import Session
from weightslab_nb.watch.data import origin_from_name

HISTORY_FILE = "history.duckdb"
HISTORY_TABLES = ("signals", "experiments", "samples", "global_history", "sample_history")


def open_run(root_log_dir, *, writable: bool = False, dataset=None) -> Session:
    """Open the run stored under ``root_log_dir`` to look at it (``wl.open`` is this, and makes
    the session current).

    Parameters
    ----------
    root_log_dir : str or Path
        A run directory (what a training session wrote: ``history.duckdb`` and, beside it,
        the ledger snapshot, the edit journal, ``runs/``...).
    writable : bool, default False
        False: nothing is written under ``root_log_dir`` and every change is refused. True:
        tags, categorical tags and discards are allowed and persisted (a later ``wl.open`` or
        a training session on the same directory sees them).
    dataset : indexable dataset, or dict of origin (or loader name) -> dataset, optional
        Where the grid and the sample view draw inputs from (thumbnails): what the run trained
        on, ``dataset[i]`` giving ``(inputs, targets, ...)``. Its sample ids are its
        ``sample_ids`` attribute, else its indices, as ``watch_or_edit(..., flag="data")``
        gives them. A bare dataset goes to origin ``"train"`` when the run has it, else to the
        first origin recorded. Without one the grid shows values with placeholder images.

    Returns
    -------
    Session
        The run's samples (last values, tags, categorical tags, discards), history (curves,
        per-sample history, evaluation markers) and tracking run (``session.run``, finished
        or ``"crashed"``). Close it with ``session.close()`` (or use it in a ``with``).

    Raises
    ------
    MissingFileError
        ``root_log_dir`` does not exist, or holds no run (no history file, or one that was
        never written).
    InvalidValueError
        ``root_log_dir`` is not a directory or its history file cannot be read; a dataset's
        sample ids are not samples of the origin it was given for; an unknown origin.
    InvalidTypeError
        ``writable`` is not a bool, ``dataset`` is not indexable.
    StateError
        The run is still being written (its process holds the history file, or a live
        session of this process has it open).
    """
    root = Path(check_path(root_log_dir, "root_log_dir"))
    writable = check_bool(writable, "writable")
    if not root.exists():
        raise MissingFileError(f"root_log_dir: {root} does not exist")
    if not root.is_dir():
        raise InvalidValueError(f"root_log_dir: {root} is not a directory")
    history = root / HISTORY_FILE
    if not history.is_file() or history.stat().st_size == 0:
        raise MissingFileError(f"root_log_dir: {root} holds no run: it has no history file "
                               f"({HISTORY_FILE}, written at a run's first flush)")
    _check_history(root, history)
    access = RunAccess("edits" if writable else "read-only", root)
    try:
        session = Session(root_log_dir=root, access=access)
    except Exception as exc:
        if _is_duckdb_error(exc):  # the file changed hands since the check
            raise _history_error(root, history, exc) from None
        raise
    try:
        # the run reader brings in wl.Api and the artifact store: loaded when a run is opened
        from weightslab_nb.tracking.recorded import latest_recorded_run

        session.run = latest_recorded_run(root)
        if session.recorder.loss_column is None and session.table.signals:
            # the grid's default sort: the first per-sample signal the run recorded
            session.recorder.loss_column = next(iter(session.table.signals))
        if dataset is not None:
            _watch_datasets(session, dataset)
    except BaseException:
        session.close()
        raise
    return session


def _check_history(root: Path, history: Path) -> None:
    """Open the history file read-only once: refuse a file in use or with no tables."""
    import duckdb

    try:
        con = duckdb.connect(str(history), read_only=True)
    except duckdb.Error as exc:
        raise _history_error(root, history, exc) from None
    try:
        tables = {name for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()}
    finally:
        con.close()
    missing = [t for t in HISTORY_TABLES if t not in tables]
    if missing:
        raise MissingFileError(f"root_log_dir: {root} holds no run: its history file has no "
                               f"{', '.join(missing)} table (the run stopped before its first "
                               "flush)")


def _is_duckdb_error(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb")


def _history_error(root: Path, history: Path, exc: BaseException) -> Exception:
    """The error to raise for a history file DuckDB would not open."""
    text = str(exc)
    if "Could not set lock" in text:
        holder = text.split("Conflicting lock is held in", 1)[-1].split(". See", 1)[0].strip()
        return StateError(
            f"root_log_dir: the run {root} is still being written by another process "
            f"({holder or 'it holds the history file'}). wl.open reads finished or crashed "
            "runs: attach to a live one with wl.connect(root_log_dir), or open it once its "
            "process ended")
    if "different configuration" in text:
        return StateError(
            f"root_log_dir: the run {root} is open for writing in this process (a live "
            "Session on that directory); use that session, or close it first (session.close())")
    return InvalidValueError(f"root_log_dir: {history} cannot be read as a run history ({text})")


def _watch_datasets(session: Session, dataset) -> None:
    """Watch each dataset under its origin, for thumbnails (checked before any is watched)."""
    origins = session.origins()
    if isinstance(dataset, Mapping):
        pairs = [(_origin_of(session, origins, k), d) for k, d in dataset.items()]
    else:
        if not origins:
            raise InvalidValueError(f"dataset: the run {session.root_log_dir} recorded no "
                                    "samples to draw")
        pairs = [("train" if "train" in origins else origins[0], dataset)]
    watch = session.feature("watch_or_edit")  # a restricted session refuses watch_or_edit
    for origin, data in pairs:
        if not hasattr(data, "__getitem__") or not hasattr(data, "__len__"):
            raise InvalidTypeError(f"dataset: expected an indexable dataset (len() and "
                                   f"dataset[i]) for origin {origin!r}, got "
                                   f"{type(data).__name__}")
        ids = getattr(data, "sample_ids", None)
        ids = list(range(len(data))) if ids is None else list(ids)
        unknown = session.unknown_ids(ids, origin)
        if unknown:
            raise InvalidValueError(
                f"dataset: {len(unknown)} of its {len(ids)} sample ids are not samples of "
                f"origin {origin!r} in this run (first: {unknown[:5]}); pass the dataset the "
                "run recorded")
    for origin, data in pairs:
        watch(data, None, "data", loader_name=f"{origin}_loader", origin=origin)


def _origin_of(session: Session, origins: list[str], key) -> str:
    """The origin a ``dataset`` key names: an origin, or a loader name (``"val_loader"``; the
    run's loaders are not watched here, so their names are derived as watching derives
    them)."""
    if not isinstance(key, str) or not key:
        raise InvalidTypeError(f"dataset: keys must be origin or loader names, got {key!r}")
    return session.resolve_origin(key if key in origins else origin_from_name(key))
