"""The hub's end of a distributed run: the ranks' records land in the hub session.

Every rank but the hub's own ships what it records (see
:mod:`weightslab_nb.distributed.rank`); the hub records it as if its own training loop had:

* per-sample batches go to ``recorder.record_rows`` with the hub's rows of the shipped
  ``(origin, sample ids)`` (ranks may register their samples in another order), without a
  per-batch curve point;
* the curve points are merged per step over all ranks (:class:`StepMerger`): each rank's batch
  statistics (shipped, or taken from the hub's own batches before they are applied) make one
  point per signal and step, over the global batch;
* progress (step, epoch) and "every rank is held" reports update the hub's controller; errors,
  lost ranks and goodbyes update :attr:`Hub.failures` and :attr:`Hub.gone`;
* other kinds go to the feature that registered them in :attr:`Hub.handlers` (rank 0's
  answers to the hub's evaluations, :mod:`weightslab_nb.distributed.remote_eval`).
"""

from __future__ import annotations

import logging
import threading

from weightslab_nb.distributed.channel import HubServer
from weightslab_nb.distributed.merge import StepMerger
from weightslab_nb.ledger.sample_table import bare_signal_name

log = logging.getLogger(__name__)


class Hub:
    """Receive ``world`` ranks' records into ``session`` (see the module docstring).

    Parameters
    ----------
    session : Session
        The hub session.
    world : int
        Number of ranks.
    local_rank : int, optional
        The rank that trains in the hub's own process (0 under ``torchrun``), whose batches
        are recorded locally: their curve statistics go through the merge too. None when no
        rank trains in the hub's process (ranks launched from the notebook).
    host : str, default "127.0.0.1"
        Interface the ranks connect to.

    Attributes
    ----------
    failures : list[tuple[int, str]]
        ``(rank, what happened)`` for each rank that raised or was lost, in order.
    gone : set[int]
        Ranks whose connection ended: after their goodbye (everything they shipped was
        recorded) or lost.
    changed : threading.Condition
        Notified when ``failures`` or ``gone`` change (and by the handlers' own changes).
    handlers : dict[str, callable]
        Message kind -> ``handler(rank, *fields)`` for kinds this module does not know,
        called on the rank's reader thread.
    """

    def __init__(self, session, world: int, local_rank: int | None = None,
                 host: str = "127.0.0.1"):
        self.session = session
        self.world = world
        self.failures: list[tuple[int, str]] = []
        self.gone: set[int] = set()
        self.changed = threading.Condition()
        self.handlers: dict = {}
        self.merger = StepMerger(world, self._point)
        recorder = session.recorder
        if local_rank is not None:
            self._local = local_rank
            recorder.before_apply.append(self._local_stats)
            recorder.divert_scalar = self._local_scalar
        self.server = HubServer(self._receive, self._lost, host, on_bye=self._bye)

    @property
    def address(self):
        """``(host, port)`` the ranks connect to."""
        return self.server.address

    @property
    def authkey(self) -> bytes:
        """The key the ranks present."""
        return self.server.authkey

    # ---------------------------------------------------------------- records
    def _receive(self, rank: int, message) -> None:
        kind = message[0]
        if kind == "samples":
            self._samples(rank, *message[1:])
        elif kind == "scalar":
            _, name, value, count, vmin, vmax, step = message
            self.merger.add(rank, name, step, value * count, count, vmin, vmax)
        elif kind == "progress":
            self.session.controller.follow(step=message[1], epoch=message[2])
        elif kind == "held":
            self.session.controller.hold(bool(message[1]))
        elif kind == "error":
            self.failed(rank, message[1], gone=False)  # its goodbye follows
        elif kind == "done":  # the rank's training function returned; its goodbye follows
            pass
        elif kind in self.handlers:
            self.handlers[kind](rank, *message[1:])
        else:
            log.warning("rank %d sent an unknown message %r", rank, kind)

    def _samples(self, rank, name, origin, ids, values, preds, targets, step, evidence,
                 stats) -> None:
        session = self.session
        rows = session.rows_of(ids, origin, argument="batch_ids")
        session.recorder.record_rows(name, rows, values, preds, targets, step, log=False,
                                     evidence=evidence)
        if stats is not None:
            self.merger.add(rank, bare_signal_name(name), step, *stats)

    def _point(self, name, step, mean, count, vmin, vmax) -> None:
        self.session.recorder.record_point(name, mean, count, vmin, vmax, step)

    def _local_stats(self, batches) -> None:
        """The hub's own batches: their curve statistics join the merge (not a point each)."""
        for p in batches:
            if p.stats is not None:
                mean, vmin, vmax = p.stats
                n = len(p.values)
                self.merger.add(self._local, bare_signal_name(p.batch.column), p.batch.step,
                                mean * n, n, vmin, vmax)
                p.stats = None

    def _local_scalar(self, name, value, count, vmin, vmax, step) -> None:
        self.merger.add(self._local, name, step, value * count, count, vmin, vmax)

    # ---------------------------------------------------------------- failures
    def _bye(self, rank: int) -> None:
        with self.changed:
            self.gone.add(rank)
            self.changed.notify_all()

    def _lost(self, rank: int, reason: str) -> None:
        self.failed(rank, f"rank {rank} stopped without ending its run: {reason}")

    def failed(self, rank: int, text: str, gone: bool = True) -> None:
        """Record that ``rank`` failed (``text`` says how); count it as gone unless its
        goodbye is still to come (``gone=False``: it reported its own error)."""
        with self.changed:
            self.failures.append((rank, text))
            if gone:
                self.gone.add(rank)
            self.changed.notify_all()

    def close(self) -> None:
        """Stop receiving; the curve points still waiting for a rank are recorded."""
        self.server.close()
        self.merger.close()
        recorder = self.session.recorder
        if self._local_stats in recorder.before_apply:
            recorder.before_apply.remove(self._local_stats)
        if recorder.divert_scalar == self._local_scalar:
            recorder.divert_scalar = None
