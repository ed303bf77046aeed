"""The rank-to-hub channel and the per-step merge of the ranks' curve points."""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing import AuthenticationError
import os
import threading

import numpy as np
import pytest

from weightslab_nb.distributed.channel import HubLink, HubServer
from weightslab_nb.distributed.merge import StepMerger
from weightslab_nb.distributed.ranks import detect

TIMEOUT = 20.0


class Inbox:
    """What the hub received, with a condition to wait on."""

    def __init__(self):
        self.messages: list[tuple[int, object]] = []
        self.lost: list[tuple[int, str]] = []
        self.cond = threading.Condition()

    def on_message(self, rank, message):
        with self.cond:
            self.messages.append((rank, message))
            self.cond.notify_all()

    def on_lost(self, rank, reason):
        with self.cond:
            self.lost.append((rank, reason))
            self.cond.notify_all()

    def wait(self, predicate) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self), TIMEOUT)


@pytest.fixture
def hub():
    inbox = Inbox()
    server = HubServer(inbox.on_message, inbox.on_lost)
    yield server, inbox
    server.close()


def test_records_arrive_in_order_with_their_arrays(hub):
    server, inbox = hub
    links = [HubLink(server.address, server.authkey, rank) for rank in (0, 1)]
    assert server.wait_for_ranks([0, 1], TIMEOUT)
    for i in range(200):
        for link in links:
            link.ship({"step": i, "values": np.full(64, i, np.float32)})
    assert all(link.flush(TIMEOUT) for link in links)
    assert inbox.wait(lambda box: len(box.messages) == 400)
    for rank in (0, 1):
        mine = [m for r, m in inbox.messages if r == rank]
        assert [m["step"] for m in mine] == list(range(200))
        assert mine[-1]["values"].dtype == np.float32 and mine[-1]["values"][0] == 199
    for link in links:
        link.close()
    assert not inbox.lost  # a goodbye is not a loss


def test_the_hub_controls_a_rank(hub):
    server, _ = hub
    got, arrived = [], threading.Event()
    link = HubLink(server.address, server.authkey, 0,
                   on_control=lambda m: (got.append(m), arrived.set()))
    assert server.wait_for_ranks([0], TIMEOUT)
    assert server.send(0, {"pause": True})
    assert arrived.wait(TIMEOUT) and got == [{"pause": True}]
    assert not server.send(5, {"pause": True})  # no such rank
    link.close()


def test_a_wrong_key_is_refused(hub):
    server, inbox = hub
    with pytest.raises(AuthenticationError):
        HubLink(server.address, b"not the key", 0)
    link = HubLink(server.address, server.authkey, 1)  # the hub still accepts others
    assert server.wait_for_ranks([1], TIMEOUT)
    link.close()


def _die_after_shipping(address, authkey):
    link = HubLink(address, authkey, 1)
    link.ship({"step": 1})
    link.flush(TIMEOUT)
    os._exit(3)  # no goodbye: as a rank that is killed


def test_a_rank_that_dies_is_reported_lost_after_what_it_shipped(hub):
    server, inbox = hub
    proc = mp.get_context("fork").Process(target=_die_after_shipping,
                                           args=(server.address, server.authkey))
    proc.start()
    proc.join(TIMEOUT)
    assert proc.exitcode == 3
    assert inbox.wait(lambda box: box.lost)
    assert inbox.messages == [(1, {"step": 1})]
    assert inbox.lost[0][0] == 1


def test_the_merger_makes_one_point_per_step_over_all_ranks():
    points = []
    merger = StepMerger(2, lambda *p: points.append(p))
    merger.add(0, "loss", 1, total=2.0, count=4, vmin=0.1, vmax=1.0)
    assert points == [] and merger.pending() == 1
    merger.add(1, "loss", 1, total=6.0, count=4, vmin=0.5, vmax=3.0)
    assert points == [("loss", 1, 1.0, 8, 0.1, 3.0)]
    merger.add(1, "loss", 2, total=1.0, count=2, vmin=0.5, vmax=0.5)  # rank 0 never reports
    merger.add(0, "acc", 2, total=1.0, count=1, vmin=1.0, vmax=1.0)
    merger.close()
    assert points[1:] == [("acc", 2, 1.0, 1, 1.0, 1.0), ("loss", 2, 0.5, 2, 0.5, 0.5)]
    assert merger.pending() == 0


def test_a_signal_only_some_ranks_record_is_emitted_once_every_rank_is_past_it():
    points = []
    merger = StepMerger(2, lambda *p: points.append(p))
    merger.add(0, "eval", 5, total=2.0, count=2, vmin=0.5, vmax=1.5)  # rank 0 evaluates alone
    merger.add(0, "loss", 5, total=1.0, count=1, vmin=1.0, vmax=1.0)
    merger.add(1, "loss", 5, total=3.0, count=1, vmin=3.0, vmax=3.0)
    assert points == [("loss", 5, 2.0, 2, 1.0, 3.0)]
    merger.add(0, "loss", 6, total=1.0, count=1, vmin=1.0, vmax=1.0)
    assert len(points) == 1  # rank 1 may still report eval at step 5
    merger.add(1, "loss", 6, total=1.0, count=1, vmin=1.0, vmax=1.0)
    assert points[1:] == [("loss", 6, 1.0, 2, 1.0, 1.0), ("eval", 5, 1.0, 2, 0.5, 1.5)]


def test_rank_detection_reads_torchruns_environment(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    info = detect()
    assert (info.rank, info.world, info.local_rank, info.distributed) == (1, 2, 1, True)
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match="RANK"):
        detect()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ValueError, match="RANK: expected an integer"):
        detect()
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name)
    assert not detect().distributed


def test_closing_the_hub_frees_its_port_and_its_accepting_thread():
    import socket

    def accepting():
        return sum(t.name == "wl-hub-accept" and t.is_alive() for t in threading.enumerate())

    before = accepting()
    server = HubServer(lambda rank, message: None, lambda rank, reason: None)
    host, port = server.address
    assert accepting() == before + 1
    server.close()
    server.close()  # safe twice
    assert accepting() == before
    with pytest.raises(OSError):  # nothing listens on the port any more
        socket.create_connection((host, port), timeout=1.0).close()
