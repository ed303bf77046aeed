"""Per-sample batches recorded on the hot path and applied to the ledger later, in bulk.

The training thread only checks shapes, copies its tensors into small host buffers (see
:mod:`weightslab_nb.ledger.host_copy`) and appends a :class:`PendingBatch`. Waiting for
asynchronous device copies, converting to float64, taking the argmax of the predictions and
writing the sample table and history happen in :meth:`BatchQueue.drain`, run by the history
writer thread every flush interval and by every reader before it reads, so a reader always sees
everything recorded before its call.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from weightslab_nb.ledger.convert import (
    class_predictions,
    per_sample,
    scalar_targets,
    score_matrix,
    to_values,
)
from weightslab_nb.ledger.evidence import Evidence
from weightslab_nb.ledger.evidence_bulk import derive
from weightslab_nb.ledger.host_copy import resolve

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PendingBatch:
    """One recorded batch of one signal, as the training thread handed it over."""

    column: str            # sample-table column, "signals//<name>"
    signal: int            # history signal id
    rows: np.ndarray       # int64 sample-table rows, length B
    values: object         # host array or HostCopy, shape [B] or scalar
    preds: object | None   # host [B, C] scores or [B] values (array or HostCopy)
    targets: object | None  # host [B] / [B, 1] array, HostCopy or list
    step: int
    exp: int
    log: bool
    evidence: bool = False  # derive classification evidence from [B, C] preds and targets


@dataclass
class PreparedBatch:
    """A :class:`PendingBatch` converted to numpy."""

    batch: PendingBatch
    values: np.ndarray            # float64 [B]
    preds: np.ndarray | None      # float64 [B]
    targets: np.ndarray | None    # float64 [B]
    stats: tuple[float, float, float] | None  # mean, min, max when logged
    evidence: Evidence | None = None  # classification evidence (batch.evidence and [B, C])


def prepare_all(items: list[PendingBatch]) -> list[PreparedBatch]:
    """Convert recorded batches to numpy, in order (``[B]`` values, predictions, targets, when
    logged (mean, min, max), and when asked for and possible the classification
    :class:`~weightslab_nb.ledger.evidence.Evidence`): the plain ones (see :func:`_plain`) converted
    together (:func:`_convert_plain`), the others each on its own (a batch that fails is logged
    and left out), the classification evidence of all of them derived together
    (:func:`weightslab_nb.ledger.evidence_bulk.derive`)."""
    plain = [(i, v) for i, batch in enumerate(items)
             if (v := _plain(batch)) is not None] if len(items) > 1 else []
    converted = _convert_plain(items, plain) if plain else None
    if converted is not None and len(plain) == len(items):
        return converted  # all plain (the common case): nothing else to do
    bulk = dict(zip((i for i, _ in plain), converted)) if converted is not None else {}
    prepared, wanting = [], []
    for i, batch in enumerate(items):
        p = bulk.get(i)
        if p is not None:
            prepared.append(p)
            continue
        try:
            p, scores = _convert(batch)
        except Exception:  # shapes were checked when recorded; report, keep the rest
            log.exception("could not convert a recorded batch of %s", batch.column)
            continue
        prepared.append(p)
        if scores is not None:
            wanting.append((p, scores, p.targets))
    for (p, scores, _), evidence in zip(wanting, derive(wanting)):
        p.evidence = evidence
        p.preds = evidence.predicted if evidence is not None else \
            class_predictions(scores, len(scores))
    return prepared


def _convert(batch: PendingBatch) -> tuple[PreparedBatch, np.ndarray | None]:
    """The batch converted, but for its evidence; and its ``[B, C]`` scores when evidence is
    wanted (the caller derives it, then sets ``preds``), else None."""
    b = len(batch.rows)
    batch.values, batch.preds, batch.targets = (resolve(batch.values), resolve(batch.preds),
                                                resolve(batch.targets))
    values = per_sample(to_values(batch.values, batch.column), b, batch.column)
    stats = None
    if batch.log and b:
        stats = (float(np.add.reduce(values)) / b, float(np.minimum.reduce(values)),
                 float(np.maximum.reduce(values)))
    targets = scalar_targets(batch.targets, b)
    scores = score_matrix(batch.preds, b) if batch.evidence and targets is not None and b \
        else None
    preds = None if scores is not None else class_predictions(batch.preds, b)
    return PreparedBatch(batch, values, preds, targets, stats), scores


def _plain(batch: PendingBatch):
    """The values of a batch without predictions or targets whose values are a 1-d CPU tensor
    or numeric array of one number per row (not converted yet); None for any other batch
    (:func:`_convert` takes it)."""
    if batch.preds is not None or batch.targets is not None:
        return None
    v = batch.values
    if type(v) is np.ndarray:
        if v.ndim != 1 or v.dtype.kind not in "biuf":
            return None
    elif not getattr(v, "is_cpu", False) or v.dim() != 1:  # a HostCopy has no is_cpu
        return None
    return v if len(v) == len(batch.rows) else None


def _joined(values: list) -> np.ndarray | None:
    """One float64 array of 1-d tensors and arrays, in order; None when a tensor has a dtype
    numpy lacks. Tensors of one dtype are joined by one ``torch.cat`` (a tensor's ``numpy()``
    per batch would let go of the GIL for each, and wait to get it back while the training
    thread records)."""
    dtypes = {v.dtype for v in values if type(v) is not np.ndarray}
    try:
        if len(dtypes) == 1 and not any(type(v) is np.ndarray for v in values):
            import torch

            return np.asarray(torch.cat(values).numpy(), dtype=np.float64)  # a new buffer
        return np.concatenate([v if type(v) is np.ndarray else v.numpy() for v in values],
                              dtype=np.float64)
    except (TypeError, RuntimeError):  # bfloat16 and the like: converted one by one
        return None


def _convert_plain(items: list[PendingBatch], plain: list[tuple[int, object]]
                   ) -> list[PreparedBatch] | None:
    """:func:`_convert` of many plain batches at once: one float64 copy of all their values
    (each batch gets a view of it) and the logged batches' (mean, min, max) reduced per batch
    length as rows of a matrix (the same numbers as one reduction per batch). None when their
    values cannot be joined (:func:`_joined`)."""
    values = _joined([v for _, v in plain])
    if values is None:
        return None
    sizes = np.fromiter((len(v) for _, v in plain), np.int64, len(plain))
    ends = np.cumsum(sizes)
    starts = ends - sizes
    stats: list = [None] * len(plain)
    logged = np.fromiter((items[i].log for i, _ in plain), bool, len(plain)) & (sizes > 0)
    for size in np.unique(sizes[logged]).tolist():
        which = np.flatnonzero(logged & (sizes == size))
        if len(which) == len(plain):  # every batch of one length: a reshape, no gather
            block = values.reshape(len(plain), size)
        else:
            block = values[starts[which, None] + np.arange(size)]
        found = zip((np.add.reduce(block, axis=1) / size).tolist(),
                    np.minimum.reduce(block, axis=1).tolist(),
                    np.maximum.reduce(block, axis=1).tolist())
        if len(which) == len(plain):
            stats = list(found)
        else:
            for k, st in zip(which.tolist(), found):
                stats[k] = st
    return [PreparedBatch(items[i], values[a:b], None, None, st)
            for (i, _), a, b, st in zip(plain, starts.tolist(), ends.tolist(), stats)]


#: Queued rows from which the recording thread waits for the ingest thread (about 16-20 MB of
#: ids and values; the ingest thread takes them in a fraction of a second).
MAX_QUEUED_ROWS = 1 << 20


class BatchQueue:
    """Hand-over point between the training thread and the ledger.

    ``put`` holds a lock for one list append; ``drain`` swaps the list out and applies it with
    ``apply``, one drain at a time so that later batches always land after earlier ones.

    Parameters
    ----------
    busy_rows : int, default 100_000
        Queued rows from which :meth:`put` reports that a drain is due early.
    max_rows : int, default :data:`MAX_QUEUED_ROWS`
        Queued rows from which :attr:`full` is True: the recorder then holds the recording
        thread back (:meth:`wait_for_room`) until a drain took the backlog.
    """

    def __init__(self, busy_rows: int = 100_000, max_rows: int = MAX_QUEUED_ROWS):
        self._lock = threading.Lock()
        self._taken = threading.Condition(self._lock)  # notified when a drain takes batches
        self._drain_lock = threading.RLock()  # listeners run inside a drain and may read
        self._items: list[PendingBatch] = []
        self._rows = 0  # rows queued since the last drain
        self.busy_rows = busy_rows
        self.max_rows = max_rows

    def locks(self) -> tuple:
        """The queue's locks, in the order a drain takes them (for fork guards)."""
        return (self._drain_lock, self._lock)

    def put(self, batch: PendingBatch) -> bool:
        """Queue one batch (any thread; one list append under a lock). Returns True once per
        drain: for the batch with which the queued rows reach ``busy_rows``."""
        n = len(batch.rows)
        with self._lock:
            self._items.append(batch)
            before = self._rows
            self._rows = before + n
        return before < self.busy_rows <= before + n

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def rows(self) -> int:
        """Rows queued and not drained yet."""
        return self._rows

    @property
    def full(self) -> bool:
        """True when ``max_rows`` or more rows wait (a lock-free read: a hint, not a promise)."""
        return self._rows >= self.max_rows

    def wait_for_room(self, timeout: float) -> bool:
        """Block until a drain brought the queued rows under half of ``max_rows``, or for
        ``timeout`` seconds; True when there is room. Returns False at once in a thread that
        is inside a drain (it would wait for itself)."""
        if self._drain_lock._is_owned():
            return False
        with self._taken:
            return self._taken.wait_for(lambda: self._rows < self.max_rows // 2, timeout)

    def drain(self, apply: Callable[[list[PreparedBatch]], None],
              max_rows: int | None = None) -> int:
        """Convert and apply everything queued so far (or, with ``max_rows``, the oldest
        batches up to about that many rows, the rest staying queued in order); return the
        number of batches.

        Never call it while holding a lock that ``apply`` takes.
        """
        with self._drain_lock:
            with self._lock:
                if max_rows is None or self._rows <= max_rows:
                    items, self._items, self._rows = self._items, [], 0
                else:
                    k, taken = 0, 0
                    while k < len(self._items) and taken < max_rows:
                        taken += len(self._items[k].rows)
                        k += 1
                    items, self._items = self._items[:k], self._items[k:]
                    self._rows -= taken
                self._taken.notify_all()
            prepared = prepare_all(items)
            if prepared:
                apply(prepared)
            return len(items)
