"""What a session keeps in its run directory: restore on open, snapshots on flush, checkpoints.

The history itself is the :class:`~weightslab_nb.history.HistoryStore`'s; this mixin adds what
lives beside it in ``root_log_dir``: the sample-table snapshot (``ledger.parquet`` +
``ledger.json``, see :mod:`weightslab_nb.ledger.persist`), the experiment manifest
(``manifest.json``) and model/optimizer checkpoints (``checkpoints/<hash>/step_<N>.pt``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)


class RunPersistence:
    """Mixin of :class:`~weightslab_nb.session.Session`: loading and saving the run directory.

    Uses the session's ``lock``, ``table``, ``history``, ``registry``, ``controller``,
    ``changes`` and its manifest/snapshot bookkeeping (``_manifest_pending``, ``_persisted``,
    ``_next_snapshot``).
    """

    def _restore_if_present(self) -> None:
        """Load the run stored under ``root_log_dir``, if any (only into an empty session)."""
        from weightslab_nb.ledger import persist

        with self.lock:
            if len(self.table) or self.history.connected:
                return
            restored = self.history.restore()
            if restored is None:
                return
            samples, last_step = restored
            for start, end in _runs(samples):
                _, annotation, origin = samples[start]
                self.table.add_samples([s for s, _, _ in samples[start:end]], origin, annotation)
            step = persist.restore(self._root_log_dir, self.table)
            self.controller.step = max(last_step, step or 0)
            self._persisted = (self.changes.table, self.changes.tags, self.table.discard_version)
            self.changes.table += 1
            self.changes.tags += 1
            self._refresh_experiment_hash()
            self.changes.history += 1

    def _before_flush(self) -> None:
        """Run by every history flush (writer thread, close): apply queued batches, then save
        the manifest and, when the ledger changed, a snapshot of it."""
        from weightslab_nb.experiment import Manifest
        from weightslab_nb.ledger import persist

        self.drain(wait_signals=False)  # a slow signal never delays a flush
        for hook in list(self._flush_hooks):
            try:  # e.g. a tracking run appending its rows; a failure must not stop the flush
                hook()
            except Exception:
                log.exception("a flush hook failed")
        with self.lock:
            entries, self._manifest_pending = self._manifest_pending, []
            state = (self.changes.table, self.changes.tags, self.table.discard_version)
            # registering samples alone is not worth a file; recordings, tags and discards are
            worth = self.history.has_data() or state[1:] != self._persisted[1:]
            due = state != self._persisted and worth and (
                self._closed or time.monotonic() >= self._next_snapshot)
            if due:
                cols, registry = persist.snapshot(self.table)
                step = self.controller.step
        if not (entries or due) or not (due or self.history.has_data()):
            self._manifest_pending[:0] = entries
            return
        if entries:
            Manifest(self.root_log_dir).record(
                [{k: v for k, v in e.items() if k != "recorded_before"} for e in entries])
        if due:
            started = time.monotonic()
            persist.save(self.root_log_dir, cols, registry, step)
            self._persisted = state
            # keep snapshots to a small share of the time: at least 5 s apart
            self._next_snapshot = time.monotonic() + max(5.0, 20 * (time.monotonic() - started))

    def add_flush_hook(self, hook) -> None:
        """Call ``hook()`` at every history flush (the writer thread, ``close``), after the
        queued batches are applied; no session lock is held then. A failing hook is logged."""
        self._flush_hooks.append(hook)

    def remove_flush_hook(self, hook) -> None:
        """Stop calling ``hook`` (no-op when it is not registered)."""
        if hook in self._flush_hooks:
            self._flush_hooks.remove(hook)

    def save_checkpoint(self) -> Path:
        """Save every watched model's and optimizer's state now; return the file.

        The file is ``<root_log_dir>/checkpoints/<experiment hash>/step_<step>.pt``. Call it
        between steps (from the training loop, or while paused) for a consistent state.
        """
        from weightslab_nb.experiment import save_checkpoint

        return save_checkpoint(self.root_log_dir, self._exp_hash, self.controller.step,
                               self.registry.all("model"), self.registry.all("optimizer"))

    def load_checkpoint(self, path: str | Path) -> int:
        """Load a checkpoint into the watched models and optimizers (by name); return its step.

        Raises ``KeyError`` if a watched model or optimizer is missing from the file.
        """
        from weightslab_nb.experiment import load_checkpoint

        return load_checkpoint(Path(path), self.registry.all("model"),
                               self.registry.all("optimizer"))


def _runs(samples: list[tuple]) -> list[tuple[int, int]]:
    """``[start, end)`` runs of consecutive restored rows sharing annotation id and origin."""
    runs, start = [], 0
    for i in range(1, len(samples) + 1):
        if i == len(samples) or samples[i][1:] != samples[start][1:]:
            runs.append((start, i))
            start = i
    return runs
