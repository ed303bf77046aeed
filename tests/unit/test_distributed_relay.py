"""The control relay on two real gloo ranks (forked processes): every rank applies the hub's
changes, pause and stop at the same batch boundary; a dead rank fails the others quickly. Both
header transports: shared memory (ranks on one machine) and gloo broadcasts."""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
from datetime import timedelta

import pytest

from weightslab_nb.distributed.header_ring import SLOTS
from weightslab_nb.distributed.relay import PAUSE, RUN, STOP, ControlRelay
from weightslab_nb.errors import RankError, TrainingStopped

TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Script:
    """Rank 0's source: a (state, changes) per poll, from a list; records what it was told."""

    def __init__(self, polls):
        self.polls = list(polls)
        self.events = []

    def poll(self):
        return self.polls.pop(0) if self.polls else (RUN, None)

    def wait(self, timeout):
        self.events.append("wait")

    def held(self, paused):
        self.events.append("held" if paused else "released")


def _rank(rank, port, polls, die_at, shared, out):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=2, timeout=timedelta(seconds=30))
    group = dist.new_group(backend="gloo", timeout=timedelta(seconds=5))
    applied = []
    boundary = 0
    source = Script(polls) if rank == 0 else None
    relay = ControlRelay(rank, group, lambda c: applied.append((boundary, c)), source,
                         heartbeat=0.01, shared=shared, timeout=30)
    result = {"rank": rank, "transport": type(relay.headers).__name__}
    try:
        for boundary in range(20):
            if boundary == die_at and rank == 1:
                os._exit(7)
            relay.boundary()
        result["end"] = "completed"
    except TrainingStopped:
        result["end"] = f"stopped at {boundary}"
    except RankError as exc:
        result["end"] = f"failure at {boundary}: {type(exc).__name__}"
    result["applied"] = applied
    result["events"] = source.events if source else []
    out.put(result)
    out.close()
    out.join_thread()  # the queue's feeder thread hands the result over before the exit
    os._exit(0)


def _run(polls, die_at=None, shared=True):
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_rank, args=(r, port, polls, die_at, shared, out)) for r in (0, 1)]
    for p in procs:
        p.start()
    results = {}
    try:
        for _ in range(2 if die_at is None else 1):
            res = out.get(timeout=TIMEOUT)
            results[res["rank"]] = res
    finally:
        for p in procs:
            p.join(TIMEOUT)
            if p.is_alive():
                p.kill()
    return results, [p.exitcode for p in procs]


TRANSPORTS = [pytest.param(True, id="shared-memory"), pytest.param(False, id="gloo")]


@pytest.mark.parametrize("shared", TRANSPORTS)
def test_changes_pause_and_stop_reach_every_rank_at_the_same_boundary(shared):
    polls = [(RUN, None)] * 3 + [(RUN, {"discard": [5, 6]})] + [(RUN, None)] + \
        [(PAUSE, None), (PAUSE, {"lr": 0.1}), (PAUSE, None), (RUN, None)] + \
        [(RUN, None)] * 2 + [(STOP, None)]
    results, codes = _run(polls, shared=shared)
    assert codes == [0, 0]
    assert results[0]["transport"] == ("HeaderRing" if shared else "GlooHeaders")
    for rank in (0, 1):
        assert results[rank]["applied"] == [(3, {"discard": [5, 6]}), (5, {"lr": 0.1})]
        assert results[rank]["end"] == "stopped at 8"
    assert results[0]["events"] == ["held", "wait", "wait", "wait", "released"]


@pytest.mark.parametrize("shared", TRANSPORTS)
def test_a_rank_that_dies_fails_the_others_at_their_next_boundary(shared):
    results, codes = _run([(RUN, None)] * 20, die_at=4, shared=shared)
    assert codes[1] == 7
    if shared:
        # rank 0 may publish the headers of the ring's free slots before it waits for rank 1
        # and finds its process gone (no collective holds these two ranks together)
        assert results[0]["end"] in {f"failure at {b}: RankError" for b in range(4, 4 + SLOTS + 1)}
    else:
        # the header of a boundary travels during the step before it: rank 0 notices at the
        # boundary where rank 1 died, or at the next
        assert results[0]["end"] in ("failure at 4: RankError", "failure at 5: RankError")


def test_rank_zero_needs_a_source():
    with pytest.raises(ValueError, match="source"):
        ControlRelay(0, None, lambda c: None)
