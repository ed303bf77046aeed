"""Attach a session to a ``torchrun`` run: rank 0 is the hub, the other ranks feed it.

The user's script is the single-process script plus the usual DDP lines (``init_process_group``,
``DistributedDataParallel``). When a watched training loader starts its first pass under an
initialised process group of two ranks or more, every rank calls :func:`attach` (all ranks
reach that point together, as they run the same script):

* a gloo group of its own is created for the control relay (its timeout bounds how long a rank
  waits for a dead one);
* rank 0 starts the :class:`~weightslab_nb.distributed.hub.Hub` in its session and sends its
  address and key to the others over that group;
* every other rank connects, and its session becomes a feeder (:meth:`Session.become_rank`:
  no files of its own; its recorder ships to the hub);
* every rank installs a :class:`~weightslab_nb.distributed.rank.RankRuntime`, whose relay runs
  at each batch boundary, and applies the hub's current discards before its first batch.

When the session closes, a feeding rank ships what is left and says goodbye; rank 0 waits (up
to ``timeout``) for every rank's goodbye, so their last records reach the history.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from weightslab_nb.distributed.channel import HubLink
from weightslab_nb.distributed.control import HubControl
from weightslab_nb.distributed.hub import Hub
from weightslab_nb.distributed.rank import RankRuntime
from weightslab_nb.distributed.ranks import detect

log = logging.getLogger(__name__)

RELAY_TIMEOUT = 60.0  # seconds a collective of the control relay waits for the other ranks
GOODBYE_WAIT = 30.0   # seconds the hub waits for the ranks' last records when it closes


def attach(session) -> RankRuntime | None:
    """Attach ``session`` to the process group's run (once; later calls return the same
    runtime). None when ``torch.distributed`` is not initialised or has one rank, or when the
    session already runs under a launcher (:mod:`weightslab_nb.distributed.launch`)."""
    runtime = getattr(session, "distributed", None)
    if runtime is not None:
        return runtime
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    info = detect()
    group = dist.new_group(backend="gloo", timeout=timedelta(seconds=RELAY_TIMEOUT))
    if info.rank == 0:
        hub = Hub(session, info.world, local_rank=0, host=_listen_host())
        box = [(hub.address, hub.authkey)]
        dist.broadcast_object_list(box, src=0, group=group)
        runtime = RankRuntime(session, 0, group, source=HubControl(session, take_requests=True))
        session.on_closed.append(lambda timeout: _close_hub(hub, info.world, timeout))
    else:
        box = [None]
        dist.broadcast_object_list(box, src=0, group=group)
        address, authkey = box[0]
        link = HubLink(address, authkey, info.rank)
        session.become_rank()
        runtime = RankRuntime(session, info.rank, group, link=link)
        session.on_closed.append(lambda timeout: _close_link(session, link, timeout))
    session.distributed = runtime
    return runtime


def _listen_host() -> str:
    """Loopback when every rank runs on this machine, else the rendezvous address (the ranks
    on other machines reach rank 0 there)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    return "127.0.0.1" if local >= world else os.environ.get("MASTER_ADDR", "127.0.0.1")


def _close_link(session, link: HubLink, timeout: float) -> None:
    session.recorder.flush()  # what is still queued goes out before the goodbye
    link.close(timeout)


def _close_hub(hub: Hub, world: int, timeout: float) -> None:
    others = set(range(1, world))
    with hub.changed:
        hub.changed.wait_for(lambda: others <= hub.gone, min(timeout, GOODBYE_WAIT))
    hub.close()
