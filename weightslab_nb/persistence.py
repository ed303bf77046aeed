"""What a session keeps in its run directory besides the history: edits, snapshots, manifest.

The history itself is the :class:`~weightslab_nb.history.HistoryStore`'s; :class:`RunFiles`
adds what lives beside it in ``root_log_dir``:

* ``journal/``: every user edit (tags, categorical tags, discards and restores, the tag
  registry, applied hyperparameter changes), appended to an
  :class:`~weightslab_nb.ledger.journal.EditJournal` *before* the table changes and synced to
  disk within 0.1 s, so an edit survives ``kill -9`` and power loss;
* ``ledger.parquet``: a snapshot of the sample table (one file, published atomically, see
  :mod:`weightslab_nb.ledger.persist`) saying which journal records it includes; the records it
  includes are then dropped from the journal. Snapshots are incremental: while only recordings
  and new samples changed the table, a snapshot is a *delta* (``ledger-deltas/``: the rows
  written since the previous snapshot, value columns only), so its cost follows what changed,
  not the table's size; an edit (tags, discards, registry), a chain of :data:`MAX_DELTAS`
  deltas, deltas holding half the table's rows together, or closing the session writes a full
  snapshot again (compaction), which drops the deltas;
* ``manifest.json``: the experiment hashes the run went through.

Reopening loads the history's samples, the snapshot, then replays the journal records after
the snapshot's. An edit of samples that are not in the table yet (the run was killed before
they were flushed) waits until a watched loader registers them again. Leftovers of
interrupted writes are removed first. Checkpoints are :mod:`weightslab_nb.experiment`'s.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict

import numpy as np

from weightslab_nb.errors import StateError, UnknownSampleError
from weightslab_nb.experiment import Manifest, clean_leftovers
from weightslab_nb.ledger import persist
from weightslab_nb.ledger.journal import EditJournal, read_records

log = logging.getLogger(__name__)

MIN_SNAPSHOT_GAP = 5.0  # seconds between two ledger snapshots at least
MAX_DELTAS = 32  # deltas after one full snapshot at most (a reopen reads them all)
JOURNAL_DIR = "journal"
# the user function behind each journaled operation (named by a refusal)
_OPERATIONS = {"tag": "tag_samples", "register_tag": "register_tag",
               "register_categorical": "register_categorical_tag",
               "categorical": "set_categorical_tag", "discard": "discard_samples"}


class RunFiles:
    """The run-directory files of one session (``session.files``).

    Uses the session's public ``lock``, ``table``, ``history``, ``controller``, ``changes``,
    ``closed``, ``root_log_dir``, ``access``, ``refresh_experiment_hash()`` and its tagging
    methods (to replay edits). A session whose ``access`` refuses edits (a run opened
    read-only) writes no file here: nothing is cleaned, journaled, snapshotted or recorded
    in the manifest; the run is only read.
    """

    def __init__(self, session):
        self.session = session
        self._manifest_pending: list[dict] = []
        self._persisted = (0, 0, 0)  # change counters at the last ledger snapshot
        self._base: str | None = None  # id of the full snapshot deltas may extend
        self._deltas = 0             # deltas written after it
        self._delta_rows = 0         # rows those deltas held
        self._snapshot_rows = 0      # table rows at the last snapshot
        self._next_snapshot = 0.0
        self._journal: EditJournal | None = None
        self._journal_start = 0      # the snapshot's journal_seq when the run was reopened
        self._replaying = False
        self._deferred: list[tuple[int, dict]] = []  # (seq, record) waiting for their samples
        self._unflushed: list[tuple[int, int]] = []  # (seq, highest row) of recent edits
        self._hyperparameters: dict[str, object] = {}  # journaled values, replayed on watch
        self._disabled = False  # a DDP rank's session: no files (see disable)
        self._inherited = None  # a journal a forked rank inherited: kept, never used

    # ---------------------------------------------------------------- reopening
    def restore_if_present(self) -> None:
        """Load the run stored under ``root_log_dir``, if any (only into an empty session)."""
        s = self.session
        with s.lock:
            if len(s.table) or s.history.connected or self._journal is not None:
                return
            root = s.root_log_dir
            if not root.exists():
                return
            removed = clean_leftovers(root) if s.access.writes_files else []
            if removed:
                log.info("removed %d leftover file(s) of interrupted writes under %s",
                         len(removed), root)
            restored = s.history.restore()
            samples, last_step = restored if restored is not None else ([], 0)
            for start, end in _runs(samples):
                _, annotation, origin = samples[start]
                s.table.add_samples([sid for sid, _, _ in samples[start:end]], origin, annotation)
            info = persist.restore_snapshot(root, s.table)
            self._journal_start = info.journal_seq if info is not None else 0
            if info is not None:
                self._hyperparameters.update(info.extra.get("hyperparameters", {}))
                self._base = info.base or None
                self._deltas, self._delta_rows = info.deltas, info.delta_rows
            self._snapshot_rows = len(s.table)
            s.table.take_changed(len(s.table))  # what was read back is on disk already
            s.controller.step = max(last_step, info.step if info is not None else 0)
            self._persisted = (s.changes.table, s.changes.tags, s.table.discard_version)
            self._replay(read_records(root / JOURNAL_DIR, after_seq=self._journal_start))
            s.changes.table += 1
            s.changes.tags += 1
            s.refresh_experiment_hash()
            s.changes.history += 1

    def _replay(self, entries) -> None:
        """Apply journaled records in order; those whose samples are missing wait. Replayed
        records stay in the journal until a snapshot includes their rows."""
        self._replaying = True
        try:
            with self.session.access.replaying():
                for entry in entries:
                    self.session.history.persist_samples = True  # edited samples: name them
                    leftover = self._apply(entry.record, entry.seq)
                    if leftover is not None:
                        self._deferred.append((entry.seq, leftover))
        finally:
            self._replaying = False

    def samples_added(self) -> None:
        """Retry the edits that waited for samples (the session calls it when a loader
        registers samples; under the session lock)."""
        if not self._deferred:
            return
        waiting, self._deferred = self._deferred, []
        self._replaying = True
        try:
            with self.session.access.replaying():
                for seq, record in waiting:
                    leftover = self._apply(record, seq)
                    if leftover is not None:
                        self._deferred.append((seq, leftover))
        finally:
            self._replaying = False

    def _apply(self, record: dict, seq: int) -> dict | None:
        """Apply journaled edit ``seq`` through the session's own methods; return the part
        whose samples are not in the table yet (None when everything applied)."""
        s = self.session
        op = record.get("op")
        try:
            if op == "hp":
                self._note_hyperparameters(record["values"], record.get("deleted", []))
                return None
            if op == "register_tag":
                s.register_tag(record["name"])
                return None
            if op == "register_categorical":
                s.register_categorical_tag(record["name"], record["values"])
                return None
            origin, ids = record["origin"], record["ids"]
            known = [i for i in ids if s.table.has(i, origin=origin)]
            if known:
                rows = s.table.rows_for(known, origin=origin)
                self._unflushed.append((seq, int(rows.max())))
                if op == "tag":
                    s.tag_samples(known, record["tag"], record["mode"], origin=origin)
                elif op == "categorical":
                    s.set_categorical_tag(known, record["tag"], record["value"], origin=origin)
                elif op == "discard":
                    s.discard_samples(known, record["discarded"], origin=origin)
                else:
                    raise ValueError(f"unknown journal operation {op!r}")
            if len(known) < len(ids):
                known_set = set(known)
                return {**record, "ids": [i for i in ids if i not in known_set]}
            return None
        except (KeyError, ValueError, TypeError, UnknownSampleError) as exc:
            log.warning("skipping a journaled edit that cannot be applied (%s): %.200r", exc,
                        record)
            return None

    def journaled_hyperparameters(self) -> dict[str, object]:
        """The hyperparameter values applied in earlier sessions of this run (dotted key ->
        last value), for the steering to request again when hyperparameters are watched."""
        return dict(self._hyperparameters)

    # ---------------------------------------------------------------- journaling edits
    def journal_edit(self, fields: dict, rows: np.ndarray | None = None) -> None:
        """Append one edit to the journal before the table changes (call under the session
        lock, after validating). With ``rows``, one record per origin holding them, each with
        the rows' sample ids and ``"origin"``.

        Raises
        ------
        OSError
            The journal cannot be written: the edit is not made (the caller raises first).
        ReadOnlyError
            The session was opened read-only (``session.access``): the edit is not made.
        """
        if self._replaying:
            return
        op = fields.get("op")
        self.session.access.check_edit(_OPERATIONS.get(op, str(op)))
        journal = self._open_journal()
        if rows is None:
            journal.append(fields)
            return
        table = self.session.table
        by_origin: dict[int, list[int]] = defaultdict(list)
        for code, row in zip(table.origin_code[rows].tolist(), rows.tolist()):
            by_origin[code].append(row)
        for code, members in by_origin.items():
            seq = journal.append({**fields, "origin": table.origins[code],
                                  "ids": table.sample_id[members].tolist()})
            self._unflushed.append((seq, max(members)))

    def disable(self) -> None:
        """Write no file any more: the session feeds a hub in another process (a DDP rank),
        which keeps the run's files. A journal inherited from the process that forked this one
        is left open and untouched (it is that process's). Edits are refused from then on."""
        self._disabled = True
        self._inherited, self._journal = self._journal, None

    def journal_hyperparameters(self, records: list[dict]) -> None:
        """Journal hyperparameter changes applied together, as one record (a deleted key is
        forgotten; a value that is not JSON is skipped with a warning)."""
        if self._replaying or not records or self._disabled:
            return
        values, deleted = {}, []
        for record in records:
            key, value = record["key"], record.get("new")
            if record.get("deleted"):
                deleted.append(key)
                continue
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError):
                log.warning("hyperparameter %r = %.80r is not JSON: not journaled", key, value)
                continue
            values[key] = value
        if not (values or deleted):
            return
        with self.session.lock:
            self._open_journal().append({"op": "hp", "values": values, "deleted": deleted})
            self._note_hyperparameters(values, deleted)

    def _note_hyperparameters(self, values: dict, deleted: list) -> None:
        for key in deleted:
            self._hyperparameters.pop(key, None)
        self._hyperparameters.update(values)

    def _open_journal(self) -> EditJournal:
        if self._disabled:
            raise StateError("this session feeds the hub of a distributed run (a DDP rank): "
                             "tag and discard through the hub (rank 0, or the notebook that "
                             "launched the ranks)")
        if self._journal is None:
            self._journal = EditJournal(self.session.root_log_dir / JOURNAL_DIR,
                                        start_after=self._journal_start)
            # edited samples are worth naming in the history file even before any value
            self.session.history.persist_samples = True
        return self._journal

    @property
    def journaled_edits(self) -> int:
        """Sequence number of the last edit journaled (0 when none; it never goes back)."""
        return self._journal_start if self._journal is None else self._journal.last_seq

    # ---------------------------------------------------------------- manifest and snapshots
    def note_experiment(self, entry: dict) -> None:
        """Queue a manifest entry for a new experiment hash (call under the session lock).

        ``entry["recorded_before"]`` is the history change count when the hash began: an entry
        under which nothing was recorded before the next one is replaced by it.
        """
        pending = self._manifest_pending
        if pending and pending[-1]["recorded_before"] == entry["recorded_before"]:
            pending.pop()  # nothing was recorded under that hash: only the newer one matters
        pending.append(entry)

    def after_flush(self) -> None:
        """Flush hook (after the history was flushed): save the manifest and, when the ledger
        changed, a snapshot of it; then drop the journal records the snapshot includes."""
        s = self.session
        if self._disabled or not s.access.writes_files:
            return
        with s.lock:
            entries, self._manifest_pending = self._manifest_pending, []
            state = (s.changes.table, s.changes.tags, s.table.discard_version)
            # registering samples alone is not worth a file; recordings, tags and discards are
            worth = s.history.has_data() or state[1:] != self._persisted[1:]
            due = state != self._persisted and worth and (
                s.closed or time.monotonic() >= self._next_snapshot)
            due = due or (s.closed and self._deltas > 0)  # closing compacts the deltas
            if due:
                n = len(s.table)
                rows = s.table.take_changed(self._snapshot_rows)
                # recordings and new samples only: a delta; else (or when deltas pile up) a
                # full snapshot that compacts them
                delta = self._base is not None and not s.closed and \
                    state[1:] == self._persisted[1:] and self._deltas < MAX_DELTAS and \
                    2 * (self._delta_rows + len(rows)) <= n
                if delta:
                    cols, registry = persist.changed_rows(s.table, rows), None
                else:
                    cols, registry = persist.snapshot(s.table)
                step = s.controller.step
                covered = self._covered_seq()
                hyperparameters = dict(self._hyperparameters)
        if not (entries or due) or not (due or s.history.has_data()):
            self._manifest_pending[:0] = entries
            return
        if entries:
            Manifest(s.root_log_dir).record(
                [{k: v for k, v in e.items() if k != "recorded_before"} for e in entries])
        if due:
            started = time.monotonic()
            extra = {"hyperparameters": hyperparameters}
            try:
                if delta:
                    persist.save_delta(s.root_log_dir, cols, self._base, self._deltas + 1, step,
                                       journal_seq=covered, extra=extra)
                    self._deltas += 1
                    self._delta_rows += len(rows)
                else:
                    self._base = persist.save(s.root_log_dir, cols, registry, step,
                                              journal_seq=covered, extra=extra)
                    self._deltas = self._delta_rows = 0
            except BaseException:
                self._base = None  # the rows taken are not on disk: the next one is full
                raise
            self._snapshot_rows = n
            self._persisted = state
            if self._journal is not None and covered > 0:
                self._journal.compact(covered)
            # keep snapshots to a small share of the time
            self._next_snapshot = time.monotonic() + max(
                MIN_SNAPSHOT_GAP, 20 * (time.monotonic() - started))

    def _covered_seq(self) -> int:
        """The last journal record a snapshot taken now includes for sure (under the lock).

        Every record is in the table, except those still waiting for their samples, and those
        touching rows the history file does not name yet (a reopen would not have the rows to
        put their values in): the snapshot covers the records before the first of those.
        """
        if self._journal is None:
            return self._journal_start
        flushed_rows = self.session.history.written_samples
        self._unflushed = [(seq, row) for seq, row in self._unflushed if row >= flushed_rows]
        waiting = [seq for seq, _ in self._deferred] + [seq for seq, _ in self._unflushed]
        return min(waiting) - 1 if waiting else self._journal.last_seq

    def close(self) -> None:
        """Sync and close the journal (after the final flush)."""
        if self._journal is not None:
            self._journal.close()

    def check_movable(self) -> None:
        """Raise ``StateError`` when edits were journaled: the run directory is fixed."""
        if self._journal is not None:
            raise StateError(f"root_log_dir: edits are already journaled under "
                             f"{self._journal.directory.parent}; set the directory before "
                             "tagging or discarding")


def _runs(samples: list[tuple]) -> list[tuple[int, int]]:
    """``[start, end)`` runs of consecutive restored rows sharing annotation id and origin."""
    runs, start = [], 0
    for i in range(1, len(samples) + 1):
        if i == len(samples) or samples[i][1:] != samples[start][1:]:
            runs.append((start, i))
            start = i
    return runs
