"""Watched loaders under DDP: each rank draws its own part of the active samples.

Every rank is simulated here by its own session (as every DDP process has its own) wrapping a
DataLoader whose ``DistributedSampler`` names the rank; the ranks are stepped in lockstep, as
DDP's collectives make them run.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from weightslab_nb.errors import InvalidTypeError, InvalidValueError


def _data(n: int) -> TensorDataset:
    """``n`` samples whose input is their own index."""
    return TensorDataset(torch.arange(float(n))[:, None], torch.zeros(n, dtype=torch.long))


def _ranks(make_session, data, world=2, batch_size=4, drop_last=False, **sampler_kwargs):
    """One watched loader per rank, each in its own session."""
    loaders = []
    for rank in range(world):
        session = make_session(f"rank{rank}")
        sampler = DistributedSampler(data, num_replicas=world, rank=rank, **sampler_kwargs)
        source = DataLoader(data, batch_size=batch_size, sampler=sampler, drop_last=drop_last)
        loaders.append((session, sampler,
                        session.watch_or_edit(source, flag="data", loader_name="train_loader")))
    return loaders


def _lockstep(loaders, between=None):
    """Batches of every rank, step by step; ``between(step, drawn_so_far)`` runs at each step
    boundary.
    Fails when a rank runs out before the others (DDP would hang on its next collective)."""
    its = [iter(loader) for _, _, loader in loaders]
    per_rank = [[] for _ in its]
    step = 0
    while True:
        if between is not None:
            between(step, per_rank)
        got = [next(it, None) for it in its]
        if all(b is None for b in got):
            return per_rank
        assert all(b is not None for b in got), f"ranks ran out at different steps: {step}"
        for mine, (_, _, ids) in zip(per_rank, got):
            mine.append([int(i) for i in ids])
        step += 1


def test_without_discards_each_rank_draws_distributed_samplers_batches(make_session):
    data = _data(48)
    ranks = _ranks(make_session, data, shuffle=True, seed=7)
    for epoch in (0, 3):
        for _, sampler, _ in ranks:
            sampler.set_epoch(epoch)
        drawn = _lockstep(ranks)
        for rank, batches in enumerate(drawn):
            plain = DistributedSampler(data, num_replicas=2, rank=rank, shuffle=True, seed=7)
            plain.set_epoch(epoch)
            expected = [[int(x) for x in xs[:, 0]]
                        for xs, _ in DataLoader(data, batch_size=4, sampler=plain)]
            assert batches == expected


def test_the_ranks_share_an_epoch_once_each_with_equal_batch_counts(make_session):
    data = _data(45)  # the last global batch (5 samples) is split 3 / 2
    ranks = _ranks(make_session, data, shuffle=True)
    drawn = _lockstep(ranks)
    flat = [[i for b in batches for i in b] for batches in drawn]
    assert set(flat[0]).isdisjoint(flat[1])
    assert sorted(flat[0] + flat[1]) == list(range(45))
    assert len(drawn[0]) == len(drawn[1]) == len(ranks[0][2]) == 6


def test_a_last_global_batch_smaller_than_the_ranks_is_cycled(make_session):
    data = _data(41)  # 5 global batches of 8, then 1 sample for 2 ranks
    drawn = _lockstep(_ranks(make_session, data, shuffle=False))
    assert len(drawn[0]) == len(drawn[1]) == 6
    assert drawn[0][-1] == drawn[1][-1] == [40]
    assert sorted(i for batches in drawn for b in batches[:-1] for i in b) == list(range(40))


def test_a_discard_mid_epoch_reaches_every_rank_at_the_same_boundary(make_session):
    ranks = _ranks(make_session, _data(64), shuffle=True, seed=1)
    removed: list[int] = []

    def between(step, drawn):
        if step == 3:  # every rank drew 3 batches: discard 10 samples no rank drew yet
            seen = {i for batches in drawn for b in batches for i in b}
            removed.extend(sorted(set(range(64)) - seen)[:10])
            for session, _, _ in ranks:  # the hub's change, applied by every rank
                session.discard_samples(removed, origin="train")

    drawn = _lockstep(ranks, between)
    flat = [i for batches in drawn for b in batches for i in b]
    assert len(removed) == 10 and not set(flat) & set(removed)
    assert len(flat) == len(set(flat)) == 54  # every other sample once, none twice
    assert len(drawn[0]) == len(drawn[1]) == 7  # 3 steps of 8, then 30 left: 4 steps


def test_drop_last_drops_the_same_step_on_every_rank(make_session):
    drawn = _lockstep(_ranks(make_session, _data(45), drop_last=True, shuffle=False))
    assert len(drawn[0]) == len(drawn[1]) == 5
    assert all(len(b) == 4 for batches in drawn for b in batches)


def test_the_samplers_drop_last_cuts_the_order_to_a_multiple_of_the_ranks(make_session):
    # DistributedSampler(drop_last=True): the sampler's own flag, not the DataLoader's
    ranks = []
    data = _data(45)
    for rank in range(2):
        session = make_session(f"cut{rank}")
        sampler = DistributedSampler(data, num_replicas=2, rank=rank, shuffle=True,
                                     drop_last=True)
        ranks.append((session, sampler, session.watch_or_edit(
            DataLoader(data, batch_size=4, sampler=sampler), flag="data",
            loader_name="train_loader")))
    drawn = _lockstep(ranks)
    flat = [i for batches in drawn for b in batches for i in b]
    assert len(flat) == len(set(flat)) == 44
    assert len(drawn[0]) == len(drawn[1]) == len(ranks[0][2]) == 6


def test_the_order_follows_set_epoch(make_session):
    (session, sampler, loader), = _ranks(make_session, _data(40), world=2, shuffle=True)[:1]
    same = [[int(i) for _, _, ids in loader for i in ids] for _ in range(2)]
    assert same[0] == same[1]  # like DistributedSampler: no set_epoch, the same order
    sampler.set_epoch(1)
    moved = [int(i) for _, _, ids in loader for i in ids]
    plain = DistributedSampler(_data(40), num_replicas=2, rank=0, shuffle=True)
    plain.set_epoch(1)
    assert moved != same[0] and moved == list(plain)
    loader.set_epoch(0)  # the loader's own set_epoch takes precedence
    assert [int(i) for _, _, ids in loader for i in ids] == same[0]
    with pytest.raises(InvalidTypeError, match="epoch"):
        loader.set_epoch(1.5)
    with pytest.raises(InvalidValueError, match="epoch"):
        loader.set_epoch(-1)


def test_a_single_process_is_not_sharded(session):
    data = _data(20)
    loader = session.watch_or_edit(DataLoader(data, batch_size=4, shuffle=True), flag="data",
                                   loader_name="train_loader")
    assert loader.current_shard() is None
    assert sorted(int(i) for _, _, ids in loader for i in ids) == list(range(20))
    one = DistributedSampler(data, num_replicas=1, rank=0)
    loader = session.watch_or_edit(DataLoader(data, batch_size=4, sampler=one), flag="data",
                                   loader_name="single_loader")
    assert loader.current_shard() is None and len(loader) == 5
