"""The shared-memory ring of relay headers, with both ends in this process: order, the bound
on how far rank 0 runs ahead, and a dead or silent rank failing the wait."""

from __future__ import annotations

import multiprocessing as mp
import os

import pytest

from weightslab_nb.distributed.header_ring import SLOTS, HeaderRing
from weightslab_nb.errors import RankError


@pytest.fixture
def ends():
    rank0 = HeaderRing.create(0, 2, timeout=0.5)
    rank1 = HeaderRing.attach(rank0.path, 1, 2, timeout=0.5)
    yield rank0, rank1
    os.unlink(rank0.path)


def test_headers_arrive_in_order_and_rank_zero_stays_within_the_ring(ends):
    rank0, rank1 = ends
    for n in range(SLOTS):
        rank0.publish(n % 3, n == 2)
    with pytest.raises(RankError, match="timed out"):
        rank0.publish(0, False)  # rank 1 read nothing: the ring is full
    assert [rank1.read() for _ in range(SLOTS)] == [(0, False), (1, False), (2, True), (0, False)]
    rank0.publish(2, False)  # room again
    assert rank1.read() == (2, False)


def test_a_rank_waiting_for_a_header_rank_zero_never_sends_times_out(ends):
    _, rank1 = ends
    with pytest.raises(RankError, match="rank 1 waited for rank 0's header of boundary 1"):
        rank1.read()


def test_a_dead_rank_is_named_before_the_timeout():
    rank0 = HeaderRing.create(0, 2, timeout=30)
    child = mp.get_context("fork").Process(
        target=lambda: HeaderRing.attach(rank0.path, 1, 2, timeout=30))
    child.start()
    child.join(30)
    assert child.exitcode == 0  # rank 1 wrote its pid and exited
    for _ in range(SLOTS):
        rank0.publish(0, False)
    with pytest.raises(RankError, match="lost rank 1"):
        rank0.publish(0, False)  # does not wait the 30 s
    os.unlink(rank0.path)
