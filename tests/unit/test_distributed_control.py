"""What the relay carries between a hub session and the ranks' sessions (in one process here;
tests/unit/test_distributed_relay.py runs the relay itself on real gloo ranks)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from weightslab_nb.distributed.control import DiscardMirror, HubControl, RankControl
from weightslab_nb.distributed.relay import PAUSE, RUN, STOP
from weightslab_nb.errors import TrainingStopped

DATA = TensorDataset(torch.arange(32.0)[:, None], torch.zeros(32, dtype=torch.long))


def _watch(session, rank=0, name="train_loader"):
    sampler = DistributedSampler(DATA, num_replicas=2, rank=rank, shuffle=False)
    return session.watch_or_edit(DataLoader(DATA, batch_size=4, sampler=sampler), flag="data",
                                 loader_name=name)


def test_the_hub_relays_its_discards_and_ranks_draw_from_them_at_the_boundary(make_session):
    hub = make_session("hub")
    _watch(hub)
    hub.discard_samples([1, 2])  # before training: relayed at the first poll
    rank = make_session("rank1")
    loader = _watch(rank, rank=1)
    control = RankControl(rank)
    control.attach()
    assert loader.discards is control.mirror
    source = HubControl(hub)
    state, changes = source.poll()
    assert state == RUN and set(changes["discards"]["train"][0].tolist()) == {1, 2}
    control.apply(changes)
    assert source.poll() == (RUN, None)  # nothing new
    it = iter(loader)
    first = [int(i) for i in next(it)[2]]
    hub.discard_samples([31, 29, 1], discarded=True)
    hub.discard_samples([2], discarded=False)
    # the rank does not see the hub's table: nothing changes until the change is relayed
    assert [int(i) for i in next(it)[2]] == [11, 13, 15, 17]
    state, changes = source.poll()
    on, off = changes["discards"]["train"]
    assert sorted(on.tolist()) == [29, 31] and off.tolist() == [2]
    control.apply(changes)
    rest = [int(i) for _, _, ids in it for i in ids]
    assert first == [3, 5, 7, 9]
    assert 29 not in rest and 31 not in rest
    assert rest[-1] == 30  # the rest of the order was dealt out again without 29 and 31
    assert rank.table.discarded.sum() == 0  # the rank's own table is left alone


def test_the_hub_state_reads_pause_and_stop(make_session):
    hub = make_session("hub")
    source = HubControl(hub)
    assert source.poll()[0] == RUN
    hub.controller.pause()
    assert source.poll()[0] == PAUSE
    released = threading.Event()
    waiter = threading.Thread(target=lambda: (source.wait(30), released.set()))
    waiter.start()
    hub.controller.resume()
    assert released.wait(30)
    waiter.join()
    source.held(True)
    assert hub.controller.state == "paused"
    source.held(False)
    assert hub.controller.state == "running"


def test_a_relayed_boundary_replaces_the_pause_gate(make_session):
    hub = make_session("hub")
    controller = hub.controller
    calls = []
    controller.boundary_hook = lambda: calls.append("relay")
    controller.pause()  # the gate would block; the relay decides instead
    controller.batch_boundary()
    assert calls == ["relay"] and controller.state == "running"

    def stop():
        raise TrainingStopped("stopped on every rank")

    controller.boundary_hook = stop
    with pytest.raises(TrainingStopped):
        controller.batch_boundary()
    assert controller.state == "stopped" and controller.stop_reason == "requested"


def test_a_mirror_grows_to_the_rows_it_is_given():
    mirror = DiscardMirror(2)
    mirror.set(np.array([5]), True)
    assert mirror.discarded.tolist() == [False] * 5 + [True]
    assert mirror.discard_version == 1
    mirror.cover(3)
    assert len(mirror.discarded) == 6
