"""A rank's side of a distributed run: the relay at every boundary, and shipping to the hub.

A rank's session keeps what its watched loaders and wrappers need (its samples, their rows,
the step count), but records nothing to files: with a link to the hub, its recorder hands each
drained batch to :meth:`RankRuntime.ship_batches` (converted to numpy off the training step, as
a single process's recorder converts them), which ships the batch's ``(origin, sample ids)``,
values, raw predictions and targets, its step and its curve statistics ``(sum, count, min,
max)``; the hub records them (:mod:`weightslab_nb.distributed.hub`). Scalars go the same way.
"""

from __future__ import annotations

import os

import numpy as np

from weightslab_nb.distributed.control import RankControl, sample_ids
from weightslab_nb.distributed.relay import ControlRelay
from weightslab_nb.ledger.convert import cpu_numpy
from weightslab_nb.ledger.host_copy import resolve

SHIP_EVERY = 0.2  # seconds between two rounds of a feeding rank's recorder (at most)
#: ``WEIGHTSLAB_NB_RELAY=gloo`` (set the same on every rank) sends the relay's headers as gloo
#: broadcasts even when the ranks share a machine (see :mod:`~weightslab_nb.distributed.relay`).
RELAY_ENV = "WEIGHTSLAB_NB_RELAY"


class RankRuntime:
    """Attach one rank's ``session`` to a distributed run.

    Parameters
    ----------
    session : Session
        The rank's session (the hub session itself on the rank that owns it).
    rank : int
        This rank.
    group : torch.distributed.ProcessGroup
        The control group (see :class:`~weightslab_nb.distributed.relay.ControlRelay`).
    link : HubLink, optional
        The channel to a hub in another process; None on the rank that owns the hub (its
        records are the hub's own).
    source : ControlSource, optional
        Rank 0's source of control (required on rank 0).
    """

    def __init__(self, session, rank: int, group, link=None, source=None):
        self.session = session
        self.rank = rank
        self.link = link
        self.control = RankControl(session, hub=link is None)
        self.relay = ControlRelay(rank, group, self.control.apply, source,
                                  shared=os.environ.get(RELAY_ENV, "shared") != "gloo")
        self._attached = False
        session.controller.boundary_hook = self.boundary
        self._shown = (-1, -1)  # the (step, epoch) last reported to the hub
        if link is not None:
            session.recorder.divert = self.ship_batches
            session.recorder.divert_scalar = self.ship_scalar
            # a round ships what was recorded; no files to write, so rounds are cheap
            session.recorder.flush_interval = min(session.recorder.flush_interval, SHIP_EVERY)
            if rank == 0:  # the hub's step follows rank 0's, after the records of those steps
                session.add_flush_hook(self._progress)
                if source is not None:
                    source.report = self.report_held
        if link is None and session.steering is not None:
            # the hub's steering applies hyperparameter changes only when the relay polls
            # them, so that every rank trains the same step with them
            session.steering.relayed = True

    def boundary(self) -> None:
        """Before each batch is drawn (the controller's ``boundary_hook``, in place of its
        pause gate): the relay's exchange. The first time, the loaders watched by now switch to
        the relayed discards. Discards and hyperparameter changes apply to the batch about to
        be drawn, a pause holds every rank here, a stop raises."""
        if not self._attached:
            self.control.attach()
            self._attached = True
        self.relay.boundary()

    def _progress(self) -> None:
        """After a round of the rank's recorder (its records shipped): rank 0's step and epoch,
        so that a hub waiting for a step finds that step's records there."""
        controller = self.session.controller
        shown = (controller.step, controller.epoch)
        if shown != self._shown:
            self._shown = shown
            self.link.ship(("progress", *shown))

    def report_held(self, message) -> None:
        """Rank 0's report that every rank is held (or goes on): its records and step first."""
        self.session.recorder.flush()
        self.link.ship(message)

    def ship_batches(self, batches) -> None:
        """Ship drained batches to the hub (the recorder's ``divert``)."""
        table = self.session.table
        for p in batches:
            b = p.batch
            codes = table.origin_code[b.rows]
            for code in np.unique(codes):  # one origin per batch in practice
                mine = codes == code if len(codes) and codes.min() != codes.max() else None
                rows = b.rows if mine is None else b.rows[mine]
                values = p.values if mine is None else p.values[mine]
                stats = None
                if b.log and len(values):
                    stats = (float(values.sum()), len(values), float(values.min()),
                             float(values.max()))
                self.link.ship(("samples", b.column, table.origins[int(code)],
                                sample_ids(table, rows), values, _part(resolve(b.preds), mine),
                                _part(resolve(b.targets), mine), b.step, b.evidence, stats))

    def ship_scalar(self, name, value, count, vmin, vmax, step) -> None:
        """Ship one global point to the hub (the recorder's ``divert_scalar``)."""
        self.link.ship(("scalar", name, value, count, vmin, vmax, step))


def _part(values, mine):
    """``values`` (a tensor, an array, a list or None) as numpy (or the list), restricted to
    the positions ``mine``: what travels to the hub holds no tensor."""
    if hasattr(values, "detach"):
        values = cpu_numpy(values.detach())
    if values is None or mine is None:
        return values
    if isinstance(values, np.ndarray):
        return values[mine]
    return [v for v, keep in zip(values, mine) if keep]
