"""Control that every rank applies at the same step boundary.

Pausing, stopping, discarding samples, changing the batch size or the learning rate must happen
on all ranks at once: a rank that pauses while another goes on leaves the other waiting in
DDP's gradient all-reduce, and a rank that drops a discarded sample one step later than another
draws a different number of batches. So the hub decides, and at every batch boundary rank 0
tells every rank what to do, over a ``torch.distributed`` group of its own (gloo, so it works
on CPU and next to nccl; created with a timeout so a dead rank ends the run instead of hanging
it):

1. rank 0 broadcasts a two-number header: the run state (run, pause or stop) and whether
   changes follow;
2. if they do, rank 0 broadcasts them (``broadcast_object_list``) and every rank applies them
   (``apply(changes)``) before drawing its next batch;
3. while the state is pause, every rank stays in the relay and rank 0 repeats the header each
   ``heartbeat`` seconds (or at once on a change), so no collective waits longer than that and
   a paused run holds for as long as the user wants;
4. on stop, every rank raises :class:`~weightslab_nb.errors.TrainingStopped`.

The cost on a running step is one broadcast of two integers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from weightslab_nb.errors import RankError, TrainingStopped

RUN, PAUSE, STOP = 0, 1, 2


class ControlSource(Protocol):
    """What rank 0 relays: the hub's wishes, as rank 0 sees them."""

    def poll(self) -> tuple[int, object | None]:
        """``(state, changes)``: the state the hub wants now and what changed since the last
        poll (None when nothing did). Changes are applied by every rank in poll order."""

    def wait(self, timeout: float) -> None:
        """While paused: return after ``timeout`` seconds, or earlier when the hub changes."""

    def held(self, paused: bool) -> None:
        """Every rank is held at the boundary (``True``), or goes on again (``False``)."""


class ControlRelay:
    """Apply the hub's control on every rank at the same batch boundary.

    Parameters
    ----------
    rank : int
        This process's rank in ``group``.
    group : torch.distributed.ProcessGroup
        A group of every rank, used for nothing else (``dist.new_group(backend="gloo",
        timeout=...)``): its timeout bounds how long a rank waits for a dead one.
    apply : callable
        ``apply(changes)`` on every rank, for each change set rank 0 polled.
    source : ControlSource, optional
        Rank 0's view of the hub (required on rank 0, ignored elsewhere).
    heartbeat : float, default 1.0
        Seconds between two headers while paused.
    """

    def __init__(self, rank: int, group, apply: Callable[[object], None],
                 source: ControlSource | None = None, heartbeat: float = 1.0):
        if rank == 0 and source is None:
            raise ValueError("source: rank 0 relays the hub's control and needs a source")
        self.rank = rank
        self.group = group
        self._apply = apply
        self._source = source
        self._heartbeat = heartbeat
        import torch

        # one header tensor for the run, written and read through its numpy view (a torch
        # item write or read costs more than the broadcast itself at this size)
        self._header = torch.zeros(2, dtype=torch.int64)
        self._view = self._header.numpy()

    def boundary(self) -> None:
        """Called by every rank before it draws a batch: apply what the hub decided, hold while
        it pauses.

        Raises
        ------
        TrainingStopped
            The hub stopped the run (every rank raises it at this boundary).
        RankError
            A collective failed: another rank died or timed out.
        """
        state = self._exchange()
        if state == PAUSE:
            if self.rank == 0:
                self._source.held(True)
            while state == PAUSE:
                if self.rank == 0:
                    self._source.wait(self._heartbeat)
                state = self._exchange()
            if self.rank == 0:
                self._source.held(False)
        if state == STOP:
            raise TrainingStopped("training stopped on request (all ranks)")

    def _exchange(self) -> int:
        """One header (and the changes it announces) from rank 0 to every rank."""
        import torch.distributed as dist

        changes, view = None, self._view
        if self.rank == 0:
            state, changes = self._source.poll()
            view[0], view[1] = state, changes is not None
        try:
            dist.broadcast(self._header, src=0, group=self.group)
            changed = bool(view[1])
            if changed:
                box = [changes]
                dist.broadcast_object_list(box, src=0, group=self.group)
                changes = box[0]
        except RuntimeError as exc:  # gloo: a peer closed its connection, or a timeout
            raise RankError(f"the control relay lost another rank at a batch boundary: "
                            f"{exc}") from exc
        if changed:
            self._apply(changes)
        return int(view[0])
