"""How a watched loader shares its samples between DDP ranks.

Under ``torch.distributed`` every rank runs the same loop over the same dataset, and each must
train on its own part of every epoch. PyTorch's ``DistributedSampler`` does this with a
permutation seeded by ``seed + epoch`` (the same on every rank) of which rank ``r`` takes
positions ``r, r + W, r + 2W, ...``. A watched loader does the same over its *active* samples,
with one difference that matters while training is steered: discards arrive mid-epoch. Each
step therefore takes one *global batch* of ``batch_size * W`` positions from the pass order,
and rank ``r`` trains on its interleaved part ``global_batch[r::W]``: without discards these are
exactly ``DistributedSampler``'s batches. A discard (applied by every rank at the same step
boundary) removes samples from the rest of the order, which is then dealt out the same way, so
every rank still draws the same number of batches and no collective waits on a rank that ran
out.

Each active sample is drawn once per epoch across all ranks. The one exception is a last global
batch with fewer samples than ranks: it is cycled to one sample per rank (``DistributedSampler``
pads the same way), so that every rank has a batch to step on. With the wrapped sampler's
``drop_last=True`` the order is cut to a multiple of ``W`` instead (as that sampler cuts it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Shard:
    """One rank's place among ``world`` ranks.

    Attributes
    ----------
    rank : int
        This process's rank, ``0 <= rank < world``.
    world : int
        Number of ranks (>= 2; a single process is not sharded).
    seed : int
        Seed of the per-epoch permutation; the same on every rank.
    drop_tail : bool
        Cut each order to a multiple of ``world`` (``DistributedSampler(drop_last=True)``)
        instead of cycling a last global batch that is smaller than ``world``.
    sampler : object, optional
        The ``DistributedSampler`` these settings came from; its ``epoch`` (set by the user's
        ``set_epoch``) picks the permutation.
    """

    rank: int
    world: int
    seed: int = 0
    drop_tail: bool = False
    sampler: object = None


def shard_of(sampler, is_training: bool, seed: int | None) -> Shard | None:
    """The shard a watched loader draws, or None for a single process.

    ``sampler`` is the sampler of a wrapped ``DataLoader`` (None otherwise): a
    ``DistributedSampler`` is carried over as it is (its ranks, seed, ``drop_last`` and, through
    ``set_epoch``, its epoch), for training and evaluation loaders alike. Without one, a
    *training* loader is sharded when ``torch.distributed`` is initialised with more than one
    rank (``seed`` or 0 seeds the permutation); an evaluation loader is then not sharded (an
    evaluation often runs on one rank only; wrap a DataLoader with a ``DistributedSampler`` to
    shard it).
    """
    from torch.utils.data.distributed import DistributedSampler

    if isinstance(sampler, DistributedSampler):
        if sampler.num_replicas < 2:
            return None
        return Shard(int(sampler.rank), int(sampler.num_replicas), int(sampler.seed),
                     bool(sampler.drop_last), sampler)
    if not is_training:
        return None
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    return Shard(dist.get_rank(), dist.get_world_size(), 0 if seed is None else seed)


def epoch_order(n: int, shuffle: bool, seed: int, epoch: int) -> np.ndarray:
    """Loader positions ``0..n-1`` in the order of one epoch, the same on every rank:
    ``DistributedSampler``'s permutation (``torch.randperm`` seeded with ``seed + epoch``) when
    shuffling, else in order."""
    if not shuffle:
        return np.arange(n)
    import torch

    generator = torch.Generator().manual_seed(seed + epoch)
    return torch.randperm(n, generator=generator).numpy()


def fit_to_ranks(order: np.ndarray, shard: Shard | None) -> np.ndarray:
    """``order`` cut to a multiple of the ranks when the shard drops its tail, else as is."""
    if shard is None or not shard.drop_tail:
        return order
    return order[: len(order) // shard.world * shard.world]


def rank_part(global_batch: np.ndarray, shard: Shard | None) -> np.ndarray:
    """This rank's positions of one global batch: ``global_batch[rank::world]``, the batch
    cycled to one position per rank first when it has fewer than ``world``."""
    if shard is None:
        return global_batch
    if len(global_batch) < shard.world:
        global_batch = np.resize(global_batch, shard.world)
    return global_batch[shard.rank :: shard.world]


def global_batches(active: int, batch_size: int, shard: Shard | None, drop_last: bool) -> int:
    """Batches each rank draws in a pass over ``active`` samples (``len()`` of the loader)."""
    world = 1 if shard is None else shard.world
    if shard is not None and shard.drop_tail:
        active = active // world * world
    width = batch_size * world
    return active // width if drop_last else -(-active // width)
