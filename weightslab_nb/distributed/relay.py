"""Control that every rank applies at the same step boundary.

Pausing, stopping, discarding samples, changing the batch size or the learning rate must happen
on all ranks at once: a rank that pauses while another goes on leaves the other waiting in
DDP's gradient all-reduce, and a rank that drops a discarded sample one step later than another
draws a different number of batches. So the hub decides, and at every batch boundary rank 0
tells every rank what to do, over a ``torch.distributed`` group of its own (gloo, so it works
on CPU and next to nccl; created with a timeout so a dead rank ends the run instead of hanging
it):

1. rank 0 polls the hub and sends a two-number header: the run state (run, pause or stop) and
   whether changes follow. It is sent at the end of one boundary and read at the next one, so
   it travels while the step trains: the ranks never wait for each other at a boundary (DDP's
   all-reduce already keeps them together), and what rank 0 polled at a boundary applies, on
   every rank, at the next. When every rank runs on one machine the headers go through shared
   memory (:mod:`weightslab_nb.distributed.header_ring`: a few memory reads per step);
   otherwise each is an asynchronous gloo broadcast (:class:`GlooHeaders`);
2. if changes follow, rank 0 broadcasts them (``broadcast_object_list``) and every rank applies
   them (``apply(changes)``) before drawing its next batch;
3. while the state is pause, every rank stays in the relay and rank 0 sends a new header each
   ``heartbeat`` seconds (or at once on a change), so no collective waits longer than that and
   a paused run holds for as long as the user wants;
4. on stop, every rank raises :class:`~weightslab_nb.errors.TrainingStopped`.

The cost on a running step is a read of shared memory, or one asynchronous broadcast of two
integers between machines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from weightslab_nb.distributed.header_ring import open_ring
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
    shared : bool, default True
        Send the headers through shared memory when every rank can map rank 0's file (one
        machine); False always uses gloo broadcasts. Setting it up is a collective: every rank
        passes the same value.
    timeout : float, default 60.0
        Seconds a rank waits for a header in shared memory (a dead rank is noticed sooner:
        its process is gone). Over gloo, the group's own timeout applies.
    """

    def __init__(self, rank: int, group, apply: Callable[[object], None],
                 source: ControlSource | None = None, heartbeat: float = 1.0,
                 shared: bool = True, timeout: float = 60.0):
        if rank == 0 and source is None:
            raise ValueError("source: rank 0 relays the hub's control and needs a source")
        self.rank = rank
        self.group = group
        self._apply = apply
        self._source = source
        self._heartbeat = heartbeat
        ring = None
        if shared:
            import torch.distributed as dist

            ring = open_ring(rank, dist.get_world_size(group), group, timeout)
        self.headers = ring if ring is not None else GlooHeaders(rank, group)
        self._posted = None  # (what the header transport posted, changes rank 0 polled)

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
        state = self._complete()
        if state == PAUSE:
            if self.rank == 0:
                self._source.held(True)
            while state == PAUSE:
                if self.rank == 0:
                    self._source.wait(self._heartbeat)
                self._post()
                state = self._complete()
            if self.rank == 0:
                self._source.held(False)
        if state == STOP:
            raise TrainingStopped("training stopped on request (all ranks)")
        self._post()  # the next boundary's header travels while this step trains

    def _post(self) -> None:
        """Send rank 0's header for the next boundary (not waited for)."""
        state, changes = self._source.poll() if self.rank == 0 else (RUN, None)
        self._posted = (self.headers.post(state, changes is not None), changes)

    def _complete(self) -> int:
        """Wait for the header in flight (posting one first at the first boundary), apply the
        changes it announces (their content is broadcast now), return the state."""
        import torch.distributed as dist

        if self._posted is None:
            self._post()
        (posted, changes), self._posted = self._posted, None
        try:
            state, changed = self.headers.wait(posted)
            if changed:
                box = [changes]
                dist.broadcast_object_list(box, src=0, group=self.group)
                changes = box[0]
        except RankError:
            raise
        except RuntimeError as exc:  # gloo: a peer closed its connection, or a timeout
            raise RankError(f"the control relay lost another rank at a batch boundary: "
                            f"{exc}") from exc
        if changed:
            self._apply(changes)
        return state


class GlooHeaders:
    """The headers as asynchronous gloo broadcasts from rank 0 over ``group``: one is started
    at a boundary and waited for at the next. Two header tensors are used in turn (one travels
    while the other is read), written and read through their numpy views (a torch item access
    costs more than the broadcast)."""

    def __init__(self, rank: int, group):
        import torch

        self.rank, self.group = rank, group
        self._headers = [torch.zeros(2, dtype=torch.int64) for _ in range(2)]
        self._views = [h.numpy() for h in self._headers]
        self._next = 0

    def post(self, state: int, changed: bool):
        """Start the broadcast of rank 0's header (the arguments are ignored elsewhere)."""
        import torch.distributed as dist

        i, self._next = self._next, self._next ^ 1
        if self.rank == 0:
            self._views[i][0], self._views[i][1] = state, changed
        try:
            return dist.broadcast(self._headers[i], src=0, group=self.group, async_op=True), i
        except RuntimeError as exc:  # gloo: a peer closed its connection
            raise RankError(f"the control relay lost another rank at a batch boundary: "
                            f"{exc}") from exc

    def wait(self, posted) -> tuple[int, bool]:
        """The header the broadcast ``posted`` brought: ``(state, changed)``."""
        work, i = posted
        work.wait()
        return int(self._views[i][0]), bool(self._views[i][1])
