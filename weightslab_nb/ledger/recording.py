"""Recording per-sample and global values: the public recording calls of a session.

A recording call validates ids and shapes at once (so errors reach the caller) and hands the
batch over to the session's :class:`~weightslab_nb.ledger.recorder.Recorder` (no conversion,
no lock beyond a list append). The recorder applies everything queued in bulk: to the sample
table under ``session.lock``, then to the history buffers, then to the applied-batch listeners
(which hand batches over to the dynamic signals' thread). Readers drain before they read; the
recorder's ingest thread drains before each flush. While an evaluation runs, the evaluating
thread's recordings are captured instead (see :meth:`Recorder.capture`).
"""

from __future__ import annotations

import logging

import numpy as np

from weightslab_nb.arguments import check_bool, check_optional_int, check_optional_name
from weightslab_nb.errors import (AmbiguousSampleError, InvalidTypeError, InvalidValueError,
                                  UnknownSampleError)
from weightslab_nb.ledger.convert import check_values, to_values
from weightslab_nb.ledger.handoff import last_batch_origin, last_batch_rows
from weightslab_nb.ledger.ids import normalize_ids
from weightslab_nb.ledger.sample_table import annotation_ids

log = logging.getLogger(__name__)

UNASSIGNED_ORIGIN = "unassigned"  # origin of ids first seen in save_signals
SIGNAL_WAIT = 60.0  # seconds a reader waits for dynamic signals at most
SIGNAL_ROUNDS = 4   # signal -> values -> signal chains a reader follows


def _fits(tensor, batch_size: int) -> bool:
    """True for a real tensor of ``batch_size`` rows (or a scalar): the common case, checked
    without building an error message; anything else goes through ``check_values``."""
    return not tensor.dtype.is_complex and (tensor.dim() == 0 or tensor.shape[0] == batch_size)


class BatchRecording:
    """Mixin of :class:`~weightslab_nb.session.Session`: ``record_batch``, ``save_signals``,
    ``save_instance_signals``, ``record_scalar`` and ``drain``.

    Uses the session's public ``lock``, ``table``, ``registry``, ``recorder``, ``changes``,
    ``drain_waiters``, ``access`` (a session opened on a finished run refuses recordings with
    :class:`~weightslab_nb.errors.ReadOnlyError`), ``rows_of()`` and ``resolve_origin()``.
    """

    def record_batch(self, name: str, batch_ids, values, preds=None, targets=None,
                     step: int | None = None, log: bool = True, evidence: bool = False) -> None:
        """Record one per-sample value for each sample of a batch.

        Parameters
        ----------
        name : str
            Signal name; the table column is ``signals//<name>``.
        batch_ids : LongTensor, ndarray or sequence of int/str, length B
        values : Tensor, ndarray or sequence, shape ``[B]`` or ``[B, ...]`` (averaged per sample)
        preds, targets : optional
            ``[B, C]`` scores or ``[B]`` values; ``[B]`` targets. Stored as ``prediction`` /
            ``target`` when they have one value per sample, ignored otherwise.
        step : int, optional
            Defaults to the current training step.
        log : bool, default True
            Also record the batch mean/min/max as one global point.
        evidence : bool, default False
            Derive the classification evidence (``<name>/margin``, ``<name>/p_label``, ...; see
            :mod:`weightslab_nb.ledger.evidence`) when ``preds`` are ``[B, C]`` scores and
            ``targets`` class indices; silently nothing for other shapes.

        Shapes are checked at once and the batch reduced to what the ledger stores (``[B]``
        values, ``[B, C]`` scores or ``[B]`` predictions, ``[B]`` targets) without its autograd
        graph: CPU tensors are kept detached when they own their storage (do not modify them in
        place after recording; losses and model outputs never are in an ordinary loop), CUDA
        tensors are copied asynchronously into pinned host memory (never waited for by the
        step). The writes happen when the batch is applied, in bulk, by the next reader or the
        history writer (within ``flush_interval``).

        Ids are resolved as :meth:`save_signals` resolves them.

        Raises
        ------
        UnknownSampleError
            If an id was never registered by a watched loader (nothing is recorded).
        AmbiguousSampleError
            An id several origins hold that the calling thread's last batch does not settle.
        ValueError
            If ``values`` does not have one entry per id.
        """
        self.access.check_recording("record_batch")
        rows = last_batch_rows(self.table, batch_ids)  # the batch a watched loader yielded
        if rows is None:
            rows, _ = self._batch_rows(batch_ids, None, may_add=False)
        if not (hasattr(values, "detach") and hasattr(values, "dim") and
                _fits(values, len(rows))):
            values = check_values(values, len(rows), f"values (signal {name!r})")
        if evidence is not True and evidence is not False:
            evidence = check_bool(evidence, "evidence")
        self.recorder.record_rows(name, rows, values, preds, targets, step, log, evidence=evidence)

    def _batch_rows(self, batch_ids, origin: str | None, may_add: bool):
        """``(rows, None)`` for known ids, or ``(None, ids)`` when ``may_add`` and some ids are
        new (the caller adds them once everything else is checked).

        Resolution order: the very ids object the calling thread's watched loader yielded
        (its rows are known); ``origin`` when given; else the one origin holding each id; an
        id several origins hold is taken from the origin of the thread's last watched batch
        (a loss called in that loader's loop), else it is ambiguous.
        """
        if origin is None:
            rows = last_batch_rows(self.table, batch_ids)
            if rows is not None:
                return rows, None
        elif may_add and self._new_origin(origin):
            return None, normalize_ids(batch_ids, "batch_ids")
        try:
            try:
                return self.rows_of(batch_ids, origin, argument="batch_ids"), None
            except AmbiguousSampleError:
                fallback = last_batch_origin(self.table) if origin is None else None
                if fallback is None:
                    raise
                return self.rows_of(batch_ids, fallback, argument="batch_ids"), None
        except UnknownSampleError:
            if not may_add:
                raise
            return None, normalize_ids(batch_ids, "batch_ids")

    def _new_origin(self, origin) -> bool:
        """True when ``origin`` names no origin or loader yet (recording may create it)."""
        if not isinstance(origin, str) or not origin:
            raise InvalidTypeError(f"origin: expected an origin name (a non-empty string) or "
                                   f"None, got {origin!r}")
        return origin not in self.table.origins and origin not in self.registry.all("data")

    def _add_batch(self, ids: list, origin: str | None) -> np.ndarray:
        """Add the ids no origin holds (to ``origin``, created when new, else to
        ``"unassigned"``) and return the rows of all of them; call under ``self.lock``."""
        if origin is None:
            target = UNASSIGNED_ORIGIN
        else:
            target = origin if self._new_origin(origin) else self.resolve_origin(origin)
        known = self.table.has if origin is None else \
            (lambda s: self.table.has(s, origin=target))
        self.table.add_samples([s for s in ids if not known(s)], target)
        return self._batch_rows(ids, target if origin is not None else None, may_add=False)[0]

    def drain(self, wait_signals: bool = True, timeout: float | None = SIGNAL_WAIT) -> bool:
        """Apply every batch recorded so far to the sample table and history buffers.

        Parameters
        ----------
        wait_signals : bool, default True
            Also wait until the dynamic signals due for those batches have run (in their own
            thread, see :mod:`weightslab_nb.signals.registry`) and apply the values they saved,
            for a few rounds (signals subscribed to other signals' values). User reads pass
            True; the history writer and the panels pass False, so that a slow signal never
            delays a flush or a refresh.
        timeout : float or None, default 60
            Seconds to wait for the signals; on timeout a warning is logged and the reader
            goes on without their latest values.

        Returns
        -------
        bool
            False when the signals did not finish within ``timeout``.

        Must not be called while holding ``session.lock``.
        """
        self.recorder.drain()
        if not wait_signals or not self.drain_waiters:
            return True
        for _ in range(SIGNAL_ROUNDS):
            if not all(wait(timeout) for wait in list(self.drain_waiters)):
                log.warning("dynamic signals are still running after %s s; reading without "
                            "their latest values", timeout)
                return False
            if not self.recorder.drain():
                break  # the signals saved nothing new
        return True

    def add_applied_listener(self, listener) -> None:
        """Call ``listener(batches)`` after each bulk apply, from the draining thread, with the
        :class:`~weightslab_nb.ledger.pending.PreparedBatch` list just applied. No session lock
        is held then: the listener may read and write through session methods."""
        self.recorder.on_applied.append(listener)

    def record_scalar(self, name: str, value: float, count: int = 1, vmin: float | None = None,
                      vmax: float | None = None, step: int | None = None) -> None:
        """Record one global point (mean ``value``, band ``[vmin, vmax]``) for ``name``."""
        self.access.check_recording("record_scalar")
        self.recorder.record_scalar(name, value, count, vmin, vmax, step)

    def record_scalar_series(self, name: str, steps, values, exp: int | None = None) -> None:
        """Record one global point of ``name`` per ``(step, value)`` at once: ``steps`` and
        ``values`` are equal-length sequences or arrays; ``exp`` is a history experiment id
        (default: the current experiment). Not captured by an evaluation pass."""
        self.access.check_recording("record_scalar_series")
        self.recorder.record_scalar_series(name, steps, values, exp)

    def save_signals(self, signals: dict, batch_ids, preds_raw=None, targets=None, preds=None,
                     step: int | None = None, log: bool = True,
                     origin: str | None = None) -> None:
        """Record per-sample signals of one batch, with optional predictions and targets.

        Parameters
        ----------
        signals : dict[str, Tensor | ndarray | float]
            Name -> values of shape ``[B]`` (``[B, ...]`` is averaged per sample; a scalar is
            broadcast to the batch). Names may carry the ``signals//`` prefix or not.
        batch_ids : sequence of int/str or LongTensor, length B
            Ids not seen before are added (to ``origin``, else to ``"unassigned"``).
        preds_raw : ``[B, C]`` scores, optional
            Their argmax is stored as the prediction when ``preds`` is not given.
        targets : ``[B]``, optional
        preds : ``[B]``, optional
        step : int, optional
            Defaults to the current training step.
        log : bool, default True
            Also record each signal's batch mean/min/max as a global curve point.
        origin : str, optional
            The origin (or loader name) of the ids. Without it: the ids the calling thread's
            watched loader yielded are its own; other ids resolve to the one origin holding
            them, and an id several origins hold to the origin of the thread's last watched
            batch.

        Raises
        ------
        TypeError, ValueError
            Wrong types, or a signal whose first dimension is not B; nothing is recorded then.
        AmbiguousSampleError
            An id several origins hold that neither ``origin`` nor the thread's last batch
            settles.
        """
        self.access.check_recording("save_signals")
        if not isinstance(signals, dict) or not signals:
            raise InvalidTypeError("signals: expected a non-empty dict of name -> values")
        if log is not True and log is not False:  # the common values skip the full check
            log = check_bool(log, "log")
        if step is not None and (type(step) is not int or step < 0):
            step = check_optional_int(step, "step", 0)
        rows, ids = self._batch_rows(batch_ids, origin, may_add=True)
        n = len(rows) if rows is not None else len(ids)
        checked = []
        for name, values in signals.items():
            if not isinstance(name, str) or not name:
                raise InvalidTypeError(f"signals: names must be non-empty strings, got {name!r}")
            if not (hasattr(values, "dim") and hasattr(values, "detach") and _fits(values, n)):
                # anything but a tensor of the right shape (which the recorder detaches)
                values = check_values(values, n, f"signals[{name!r}]")
            checked.append((name, values))
        preds = preds if preds is not None else preds_raw  # detached by the recorder
        if rows is None:
            with self.lock:
                rows = self._add_batch(ids, origin)
        record = self.recorder.record_rows
        for i, (name, values) in enumerate(checked):
            if i == 0:
                record(name, rows, values, preds, targets, step, log)
            else:
                record(name, rows, values, None, None, step, log)

    def save_instance_signals(self, signals: dict, batch_ids, batch_idx, step: int | None = None,
                              origin: str | None = None, targets=None, log: bool = True) -> None:
        """Record per-instance values (detection boxes, segmentation masks) of one batch.

        Parameters
        ----------
        signals : dict[str, Tensor | ndarray]
            Name -> flat values, one per instance (length N, all instances of the batch).
        batch_ids : sequence of int/str or LongTensor, length B
            The sample id of each batch position.
        batch_idx : sequence of int or LongTensor, length N
            For each instance, the batch position (0..B-1) of its sample.
        step : int, optional
            Defaults to the current training step.
        origin : str, optional
            The origin (or loader name) of the ids: ids it does not hold yet are added to it.
            Without it, ids resolve as in :meth:`save_signals` and ids no origin holds are
            added to ``"unassigned"``.
        targets : length-N sequence, optional
            One target per instance; stored when each is a single number.
        log : bool, default True
            Also record each signal's mean/min/max over the instances as a global point.

        Instances get annotation ids 1, 2, ... in the order they appear for each sample within
        this call (annotation id 0 is the sample's own row); the values land at
        ``(sample_id, annotation_id)`` rows of the sample table and in the instance history.

        Raises
        ------
        ValueError
            A ``batch_idx`` entry outside ``0..B-1`` or a signal whose length is not N; nothing
            is recorded then.
        TypeError
            Non-numeric values or ids of the wrong type.
        """
        self.access.check_recording("save_instance_signals")
        if not isinstance(signals, dict) or not signals:
            raise InvalidTypeError("signals: expected a non-empty dict of name -> values")
        log = check_bool(log, "log")
        step = check_optional_int(step, "step", 0)
        origin = check_optional_name(origin, "origin", "an origin")
        ids = normalize_ids(batch_ids, "batch_ids")
        positions = np.asarray(to_values(batch_idx, "batch_idx"))
        if positions.ndim != 1 or not np.all(positions == np.round(positions)):
            raise InvalidValueError("batch_idx: expected a flat sequence of integer batch "
                                    "positions")
        positions = positions.astype(np.int64)
        if positions.size and (positions.min() < 0 or positions.max() >= len(ids)):
            raise InvalidValueError(f"batch_idx: positions must lie in 0..{len(ids) - 1}")
        checked = [(name, check_values(values, len(positions), f"signals[{name!r}]"))
                   for name, values in signals.items()]
        annotation = annotation_ids(positions)
        sample_rows, missing = self._batch_rows(batch_ids, origin, may_add=True)
        with self.lock:
            if sample_rows is None:
                sample_rows = self._add_batch(missing, origin)
            rows = np.empty(len(positions), dtype=np.int64)
            for ann in np.unique(annotation):
                at = np.flatnonzero(annotation == ann)
                for code in np.unique(self.table.origin_code[sample_rows[positions[at]]]):
                    part = at[self.table.origin_code[sample_rows[positions[at]]] == code]
                    rows[part] = self.table.add_samples([ids[p] for p in positions[part]],
                                                        self.table.origins[code], int(ann))
            self.changes.table += 1
        for i, (name, values) in enumerate(checked):
            self.recorder.record_rows(name, rows, values, None,
                                      targets if i == 0 else None, step, log)
