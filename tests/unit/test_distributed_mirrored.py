"""Rank 0's mirrored control source keeps every rank held while it evaluates for the hub."""

from __future__ import annotations

from weightslab_nb.distributed.mirrored import MirroredSource
from weightslab_nb.distributed.relay import PAUSE, RUN, STOP


def test_an_evaluation_holds_the_ranks_whatever_the_hub_pushes_until_it_ends():
    source = MirroredSource()
    source.push((RUN, None))
    source.hold()
    assert source.poll() == (PAUSE, None)
    source.push((STOP, [{"discards": {}}]))  # a stop waits for the pass; changes still flow
    assert source.poll() == (PAUSE, [{"discards": {}}])
    source.release()
    assert source.poll() == (STOP, None)


def test_a_pass_starts_only_once_a_poll_after_the_hold_found_every_rank_held():
    reports = []
    source = MirroredSource(report=reports.append)
    source.held(True)  # held by the hub's pause, polled before the hold: may be released yet
    since = source.hold()
    assert not source.wait_held(since, 0.0)
    source.poll()  # this poll reports a pause: the ranks stay where they are
    assert source.wait_held(since, 0.0)
    source.held(False)
    assert not source.wait_held(since, 0.0)
    assert reports == [("held", True), ("held", False)]
