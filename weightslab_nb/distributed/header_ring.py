"""The control relay's headers through shared memory, when every rank runs on one machine.

Rank 0 writes one header (run state, whether changes follow) per batch boundary; the other
ranks read it at the same boundary. Over gloo that is a broadcast per step (55-110 us on a busy
CPU); here it is a few memory reads. The headers sit in a ring of ``slots`` entries in a small
file mapped by every rank (under ``/dev/shm`` where there is one): rank 0 publishes header
``n`` in slot ``n % slots`` and then the count ``n``; rank ``r`` waits until the count reaches
the header it needs, reads it and writes how many it has read. Rank 0 never overwrites a header
a rank has not read yet: it waits for the slowest rank when it is ``slots`` headers ahead. With
DDP neither side waits in practice, since the gradient all-reduce keeps the ranks within a step
of each other.

A wait checks every :data:`LIVENESS_CHECK` seconds that the ranks it waits for are still alive
(their process ids are in the ring), so a dead rank fails the others at once instead of after
``timeout``. The file is unlinked as soon as every rank has mapped it: nothing is left behind,
even after a crash.

The ring is used only on x86 processors (:func:`ordered_stores`); elsewhere, and between
machines, the relay sends the headers over gloo.

Layout (int64): ``[posted, (state, changed) * slots, read[world], pid[world], token]``; the
token, a random number rank 0 writes and sends to the others, proves they opened the same file
(on another machine with a path of the same name they would not): :func:`open_ring`. Writes are
plain stores in program order (the slot before the count); the ranks run on one machine, where
the processors keep stores in that order for another core (x86; the count's store is the
release on the others).
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from weightslab_nb.errors import RankError
from weightslab_nb.tracking.processes import alive as _alive

SLOTS = 4
LIVENESS_CHECK = 0.1  # seconds between two checks of the other ranks while waiting
SPINS = 200  # reads before a wait starts sleeping


def ring_folder() -> Path:
    """Where ring files go: ``/dev/shm`` (memory) when the machine has it, else the temp dir."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


class HeaderRing:
    """One rank's view of the shared ring of headers.

    Parameters
    ----------
    path : str or Path
        The ring file: rank 0 creates it (:meth:`create`), the others open it (:meth:`attach`).
    rank, world : int
        This rank and the number of ranks.
    timeout : float
        Seconds a wait lasts at most before :class:`~weightslab_nb.errors.RankError`.
    slots : int, default :data:`SLOTS`
        Headers rank 0 may be ahead of the slowest rank.
    """

    def __init__(self, path, rank: int, world: int, timeout: float, slots: int = SLOTS,
                 *, create: bool = False):
        self.rank, self.world, self.timeout, self.slots = rank, world, timeout, slots
        size = 2 + 2 * slots + 2 * world
        self._ring = np.memmap(path, dtype=np.int64, mode="w+" if create else "r+",
                               shape=(size,))
        self._slots = self._ring[1:1 + 2 * slots].reshape(slots, 2)
        self._read = self._ring[1 + 2 * slots:1 + 2 * slots + world]
        self._pids = self._ring[1 + 2 * slots + world:1 + 2 * slots + 2 * world]
        self._pids[rank] = os.getpid()
        self._count = 0  # headers this rank published (rank 0) or read (the others)

    @classmethod
    def create(cls, rank: int, world: int, timeout: float, slots: int = SLOTS) -> HeaderRing:
        """Rank 0: a new ring file in :func:`ring_folder` (its path is :attr:`path`)."""
        fd, path = tempfile.mkstemp(prefix="weightslab-relay-", suffix=".ring",
                                    dir=ring_folder())
        os.close(fd)
        ring = cls(path, rank, world, timeout, slots, create=True)
        ring.path = path
        return ring

    @classmethod
    def attach(cls, path, rank: int, world: int, timeout: float,
               slots: int = SLOTS) -> HeaderRing:
        """Another rank: open rank 0's ring file."""
        ring = cls(path, rank, world, timeout, slots)
        ring.path = str(path)
        return ring

    @property
    def token(self) -> int:
        """The random number rank 0 wrote into the ring (0 until then)."""
        return int(self._ring[-1])

    # the header transport's interface (see relay.GlooHeaders)
    def post(self, state: int, changed: bool):
        """Start the next boundary's header: rank 0 publishes it, the others have nothing to do
        (they read it in :meth:`wait`). Returns what :meth:`wait` takes."""
        if self.rank == 0:
            self.publish(state, changed)
            return state, changed
        return None

    def wait(self, posted) -> tuple[int, bool]:
        """The header :meth:`post` started: ``(state, changed)``."""
        return posted if self.rank == 0 else self.read()

    def publish(self, state: int, changed: bool) -> None:
        """Rank 0: the next header. Waits while the slowest rank is ``slots`` headers behind.

        Raises
        ------
        RankError
            A rank died, or did not read for ``timeout`` seconds.
        """
        n = self._count + 1
        others = [r for r in range(self.world) if r != self.rank]
        self._wait(lambda: int(self._read[others].min()) >= n - self.slots, others,
                   f"rank 0 waited for the other ranks to reach boundary {n - self.slots}")
        slot = self._slots[n % self.slots]
        slot[0], slot[1] = state, int(changed)
        self._ring[0] = n  # after the slot: the others read the slot once they see n
        self._count = n

    def read(self) -> tuple[int, bool]:
        """Another rank: the next header ``(state, changed)``, once rank 0 published it.

        Raises
        ------
        RankError
            Rank 0 died, or published nothing for ``timeout`` seconds.
        """
        n = self._count + 1
        self._wait(lambda: int(self._ring[0]) >= n, [0],
                   f"rank {self.rank} waited for rank 0's header of boundary {n}")
        state, changed = (int(v) for v in self._slots[n % self.slots])
        self._count = n
        self._read[self.rank] = n
        return state, bool(changed)

    def _wait(self, ready, ranks: list[int], what: str) -> None:
        for _ in range(SPINS):
            if ready():
                return
        start = checked = time.monotonic()
        pause = 2e-5
        while not ready():
            now = time.monotonic()
            if now - checked >= LIVENESS_CHECK:
                checked = now
                dead = [r for r in ranks if self._pids[r] and not _alive(int(self._pids[r]))]
                if dead:
                    raise RankError(f"the control relay lost rank {dead[0]}: {what}, and that "
                                    f"rank's process has exited")
            if now - start > self.timeout:
                raise RankError(f"the control relay timed out after {self.timeout:g} s: {what}")
            time.sleep(pause)  # a paused run polls; a running one never gets here
            pause = min(pause * 2, 1e-3)


def ordered_stores() -> bool:
    """Whether this processor makes one core's plain stores visible to the others in program
    order (x86): the ring's count is then a safe signal that its slot is written. On others
    (ARM, POWER) the headers go over gloo."""
    return platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")


def open_ring(rank: int, world: int, group, timeout: float) -> HeaderRing | None:
    """Set up the ring for ``group`` (a collective: every rank calls it): None, on every rank,
    when a rank cannot open rank 0's file (the ranks run on several machines), cannot see
    another rank's process, or runs on a processor that may reorder stores
    (:func:`ordered_stores`), and the headers then go over ``group``."""
    import secrets

    import torch.distributed as dist

    usable = [None] * world  # a processor that keeps stores in order, on every rank
    dist.all_gather_object(usable, ordered_stores(), group=group)
    if not all(usable):
        return None
    ring, box = None, [None]
    if rank == 0:
        ring = HeaderRing.create(0, world, timeout)
        ring._ring[-1] = secrets.randbits(62) + 1
        box = [(ring.path, ring.token)]
    try:
        dist.broadcast_object_list(box, src=0, group=group)
        path, token = box[0]
        if rank != 0:
            try:
                ring = HeaderRing.attach(path, rank, world, timeout)
                if ring.token != token:
                    ring = None
            except (OSError, ValueError):
                ring = None
        opened = [None] * world
        dist.all_gather_object(opened, ring is not None, group=group)
    finally:
        if rank == 0:  # every rank that could map it has (or one failed): nothing stays behind
            os.unlink(ring.path)
    if not all(opened):
        return None
    # a wait tells a dead rank by its process id: every rank must see the others' processes
    # (ranks in containers sharing /dev/shm but not their process ids would not)
    sees = all(_alive(int(ring._pids[r])) for r in range(world) if r != rank)
    seen = [None] * world
    dist.all_gather_object(seen, sees, group=group)
    return ring if all(seen) else None
