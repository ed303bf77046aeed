"""What a session keeps in its run directory besides the history: restore on open, snapshots.

The history itself is the :class:`~weightslab_nb.history.HistoryStore`'s; :class:`RunFiles`
adds what lives beside it in ``root_log_dir``: the sample-table snapshot (see
:mod:`weightslab_nb.ledger.persist`) and the experiment manifest (``manifest.json``).
Checkpoints are :mod:`weightslab_nb.experiment`'s.
"""

from __future__ import annotations

import logging
import time

from weightslab_nb.experiment import Manifest
from weightslab_nb.ledger import persist

log = logging.getLogger(__name__)

MIN_SNAPSHOT_GAP = 5.0  # seconds between two ledger snapshots at least


class RunFiles:
    """The run-directory files of one session (``session.files``).

    Uses the session's public ``lock``, ``table``, ``history``, ``controller``, ``changes``,
    ``closed``, ``root_log_dir`` and ``refresh_experiment_hash()``.
    """

    def __init__(self, session):
        self.session = session
        self._manifest_pending: list[dict] = []
        self._persisted = (0, 0, 0)  # change counters at the last ledger snapshot
        self._next_snapshot = 0.0

    def restore_if_present(self) -> None:
        """Load the run stored under ``root_log_dir``, if any (only into an empty session)."""
        s = self.session
        with s.lock:
            if len(s.table) or s.history.connected:
                return
            restored = s.history.restore()
            if restored is None:
                return
            samples, last_step = restored
            for start, end in _runs(samples):
                _, annotation, origin = samples[start]
                s.table.add_samples([sid for sid, _, _ in samples[start:end]], origin, annotation)
            step = persist.restore(s.root_log_dir, s.table)
            s.controller.step = max(last_step, step or 0)
            self._persisted = (s.changes.table, s.changes.tags, s.table.discard_version)
            s.changes.table += 1
            s.changes.tags += 1
            s.refresh_experiment_hash()
            s.changes.history += 1

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
        """Flush hook: save the manifest and, when the ledger changed, a snapshot of it."""
        s = self.session
        with s.lock:
            entries, self._manifest_pending = self._manifest_pending, []
            state = (s.changes.table, s.changes.tags, s.table.discard_version)
            # registering samples alone is not worth a file; recordings, tags and discards are
            worth = s.history.has_data() or state[1:] != self._persisted[1:]
            due = state != self._persisted and worth and (
                s.closed or time.monotonic() >= self._next_snapshot)
            if due:
                cols, registry = persist.snapshot(s.table)
                step = s.controller.step
        if not (entries or due) or not (due or s.history.has_data()):
            self._manifest_pending[:0] = entries
            return
        if entries:
            Manifest(s.root_log_dir).record(
                [{k: v for k, v in e.items() if k != "recorded_before"} for e in entries])
        if due:
            started = time.monotonic()
            persist.save(s.root_log_dir, cols, registry, step)
            self._persisted = state
            # keep snapshots to a small share of the time
            self._next_snapshot = time.monotonic() + max(
                MIN_SNAPSHOT_GAP, 20 * (time.monotonic() - started))


def _runs(samples: list[tuple]) -> list[tuple[int, int]]:
    """``[start, end)`` runs of consecutive restored rows sharing annotation id and origin."""
    runs, start = [], 0
    for i in range(1, len(samples) + 1):
        if i == len(samples) or samples[i][1:] != samples[start][1:]:
            runs.append((start, i))
            start = i
    return runs
