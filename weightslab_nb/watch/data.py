"""Watched data loaders: yield ``(inputs, targets, sample_ids)`` over the active samples.

The loader owns a batch sampler that draws dataset indices in (shuffled) order and drops the
samples that are discarded at the moment each batch is drawn. With ``num_workers=0`` a discard
therefore takes effect from the next batch on; with worker processes, batches already prefetched
(at most ``num_workers * prefetch_factor``) still contain the samples they were drawn with.
"""

from __future__ import annotations

import inspect
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from weightslab_nb.arguments import (
    check_int,
    check_optional_bool,
    check_optional_int,
    check_optional_name,
)
from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.ledger.class_names import check_class_names
from weightslab_nb.ledger.convert import scalar_targets
from weightslab_nb.ledger.handoff import hand_over
from weightslab_nb.ledger.ids import normalize_ids
from weightslab_nb.watch.batches import unpack_batch
from weightslab_nb.watch.sharding import (Shard, epoch_order, fit_to_ranks, global_batches,
                                          rank_part, shard_of)

if TYPE_CHECKING:
    from weightslab_nb.session import Session

EVAL_ORIGINS = ("val", "valid", "validation", "test", "eval", "evaluation")
# DataLoader settings carried over when a DataLoader is watched.
_CARRIED = ("num_workers", "collate_fn", "pin_memory", "timeout", "worker_init_fn",
            "multiprocessing_context", "generator", "persistent_workers", "pin_memory_device")

def origin_from_name(loader_name: str) -> str:
    """``"train_loader"`` -> ``"train"``; other names are kept."""
    return loader_name[: -len("_loader")] if loader_name.endswith("_loader") and \
        len(loader_name) > len("_loader") else loader_name


class ActiveBatchSampler:
    """Batches of dataset indices drawn from the samples that are not discarded.

    The shuffled order of a pass comes from ``seed`` when given (one numpy generator for the
    loader's life: the same orders on every run). Without it, each pass draws its seed from
    torch, as PyTorch's ``RandomSampler`` does: from ``generator`` (the ``generator=`` of the
    watched ``DataLoader`` or keyword), else from torch's global generator, so
    ``torch.manual_seed`` makes the order repeatable and leaves the global stream where a plain
    ``DataLoader`` would (one draw per shuffled pass).
    """

    def __init__(self, loader: "WatchedLoader", batch_size: int, shuffle: bool, drop_last: bool,
                 seed: int | None, generator=None):
        self.loader = loader
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.shard: Shard | None = None  # this rank's shard of the pass being drawn
        self._rng = np.random.default_rng(seed) if seed is not None else None
        self._generator = generator
        self._epoch: int | None = None  # set_epoch
        self._passes = 0
        self.drawn: deque[np.ndarray] = deque()

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` for the next passes' permutation when sharded (as
        ``DistributedSampler.set_epoch``); a single process's order does not depend on it."""
        self._epoch = epoch

    def _pass_order(self, n: int) -> np.ndarray:
        """Loader positions in the order of the pass about to start."""
        shard = self.shard
        if shard is None:
            return self._pass_rng().permutation(n) if self.shuffle else np.arange(n)
        epoch = self._epoch if self._epoch is not None else \
            int(shard.sampler.epoch) if shard.sampler is not None else self._passes
        return fit_to_ranks(epoch_order(n, self.shuffle, shard.seed, epoch), shard)

    def _pass_rng(self) -> np.random.Generator:
        if self._rng is not None:
            return self._rng
        import torch

        draw = torch.empty((), dtype=torch.int64).random_(generator=self._generator)
        return np.random.default_rng(int(draw.item()) & (2**63 - 1))

    def __len__(self) -> int:
        return global_batches(self.loader.active_count(), self.batch_size,
                              self.loader.current_shard(), self.drop_last)

    def __iter__(self):
        self.drawn.clear()
        shard = self.shard = self.loader.current_shard()
        # once per epoch: a steered batch size applies next epoch
        width = self.batch_size * (1 if shard is None else shard.world)
        order = self._pass_order(len(self.loader.rows))
        self._passes += 1
        view = self.loader.discards  # the table, or under DDP what the relay applied so far
        version = -1
        pos = 0
        while True:
            if view.discard_version != version:  # drop what was discarded since the last look
                version = view.discard_version
                order = order[pos:][~view.discarded[self.loader.rows[order[pos:]]]]
                order = fit_to_ranks(order, shard)
                pos = 0
            batch = order[pos : pos + width]  # one global batch: every rank's part of a step
            pos += len(batch)
            if len(batch) == 0 or (self.drop_last and len(batch) < width):
                return
            if shard is not None:
                batch = rank_part(batch, shard)
            self.drawn.append(batch)
            yield batch.tolist()


class WatchedLoader:
    """A map-style dataset (or DataLoader) watched by a session.

    Iterating yields ``(inputs, targets, sample_ids)`` per batch; ``sample_ids`` is a LongTensor
    for int ids and a list of str otherwise. A training loader waits at each batch boundary while
    the session is paused and counts one training step per batch.

    Use :func:`weightslab_nb.watch_or_edit` (``flag="data"``) to create one.
    """

    def __init__(self, session: "Session", source, name: str, origin: str | None = None,
                 batch_size: int | None = None, shuffle: bool | None = None,
                 drop_last: bool | None = None, is_training: bool | None = None,
                 sample_ids=None, id_prefix: str | None = None, seed: int | None = None,
                 class_names=None, **loader_kwargs):
        import torch
        from torch.utils.data import DataLoader, IterableDataset, RandomSampler
        from torch.utils.data.distributed import DistributedSampler

        origin = check_optional_name(origin, "origin", "an origin")
        batch_size = check_optional_int(batch_size, "batch_size", 1)
        shuffle = check_optional_bool(shuffle, "shuffle")
        drop_last = check_optional_bool(drop_last, "drop_last")
        is_training = check_optional_bool(is_training, "is_training")
        seed = check_optional_int(seed, "seed", 0)
        if class_names is not None:
            class_names = check_class_names(class_names)
        if id_prefix is not None and not isinstance(id_prefix, str):
            raise InvalidTypeError(f"id_prefix: expected a string or None, got "
                                   f"{type(id_prefix).__name__}")
        generator = loader_kwargs.get("generator")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise InvalidTypeError(f"generator: expected a torch.Generator or None, got "
                                   f"{type(generator).__name__}")
        unknown = sorted(set(loader_kwargs) - set(inspect.signature(DataLoader).parameters))
        if unknown:
            raise InvalidTypeError(f"watch_or_edit: unexpected keyword(s) {unknown} for data")
        if isinstance(source, DataLoader):
            carried = {k: getattr(source, k) for k in _CARRIED if hasattr(source, k)}
            if carried.get("num_workers", 0) > 0:
                carried["prefetch_factor"] = source.prefetch_factor
            loader_kwargs = {**carried, **loader_kwargs}
            batch_size = batch_size if batch_size is not None else (source.batch_size or 1)
            if shuffle is None:
                shuffle = isinstance(source.sampler, RandomSampler) or \
                    bool(getattr(source.sampler, "shuffle", False) and
                         isinstance(source.sampler, DistributedSampler))
            wrapped_sampler = source.sampler
            drop_last = source.drop_last if drop_last is None else drop_last
            dataset = source.dataset
        else:
            dataset, wrapped_sampler = source, None
        if isinstance(dataset, IterableDataset) or not hasattr(dataset, "__getitem__"):
            raise InvalidTypeError("obj: watched data must be a map-style Dataset (with "
                                   "__getitem__ and __len__) or a DataLoader over one, got "
                                   f"{type(dataset).__name__}")
        self.session = session
        self.dataset = dataset
        self.name = name
        self.origin = origin or origin_from_name(name)
        self.is_training = (self.origin not in EVAL_ORIGINS) if is_training is None else is_training
        self.batch_size = 32 if batch_size is None else batch_size
        self.sample_ids = self._resolve_ids(sample_ids, id_prefix)
        self._index_of: dict | None = None
        self.rows = session.register_samples(self.sample_ids, self.origin,
                                             self._known_targets())
        if class_names is not None:
            session.set_class_names(self.origin, class_names)
        self._wrapped_sampler, self._seed = wrapped_sampler, seed
        # what the sampler reads discards from: the table, or under DDP a mirror that changes
        # only at the step boundaries where every rank applies the same discards
        self.discards = session.table
        self.sampler = ActiveBatchSampler(self, self.batch_size, bool(shuffle), bool(drop_last),
                                          seed, loader_kwargs.get("generator"))
        self._loader = DataLoader(dataset, batch_sampler=self.sampler, **loader_kwargs)

    # ---------------------------------------------------------------- ids
    def _resolve_ids(self, sample_ids, id_prefix):
        n = len(self.dataset)
        ids = sample_ids if sample_ids is not None else getattr(self.dataset, "sample_ids", None)
        if ids is None:
            ids = list(range(n)) if id_prefix is None else [f"{id_prefix}{i}" for i in range(n)]
        else:
            ids = normalize_ids(ids, "sample_ids")
            if id_prefix is not None:
                ids = [f"{id_prefix}{s}" for s in ids]
        if len(ids) != n:
            raise InvalidValueError(f"sample_ids: {len(ids)} ids for a dataset of {n} samples")
        if len(set(ids)) != n:
            raise InvalidValueError("sample_ids: ids must be unique within a dataset")
        return ids

    def _known_targets(self) -> np.ndarray | None:
        """Labels readable without loading samples: TensorDataset tensors or ``.targets``."""
        tensors = getattr(self.dataset, "tensors", None)
        targets = tensors[1] if tensors is not None and len(tensors) > 1 else \
            getattr(self.dataset, "targets", None)
        return scalar_targets(targets, len(self.dataset)) if targets is not None else None

    def index_of(self, sample_id) -> int:
        """Dataset index of ``sample_id`` (KeyError if it is not in this loader)."""
        if self._index_of is None:
            self._index_of = {s: i for i, s in enumerate(self.sample_ids)}
        return self._index_of[sample_id]

    def holds(self, sample_id) -> bool:
        """True when ``sample_id`` is one of this loader's samples."""
        try:
            self.index_of(sample_id)
        except KeyError:
            return False
        return True

    def sample_input(self, sample_id):
        """The inputs part of ``dataset[index_of(sample_id)]`` (KeyError for a foreign id)."""
        return self.sample_item(sample_id)[0]

    def sample_item(self, sample_id) -> tuple:
        """``(inputs, targets)`` of ``dataset[index_of(sample_id)]`` (KeyError for a foreign
        id; targets may be None)."""
        inputs, targets, _ = unpack_batch(self.dataset[self.index_of(sample_id)])
        return inputs, targets

    def current_shard(self) -> Shard | None:
        """This rank's shard of the next pass (None in a single process); see
        :func:`~weightslab_nb.watch.sharding.shard_of`. Read when a pass starts, so a loader
        watched before ``init_process_group`` (or in the notebook before the ranks were
        launched) is sharded once it runs on the ranks."""
        return shard_of(self._wrapped_sampler, self.is_training, self._seed)

    def active_count(self) -> int:
        """Samples of this loader that are not discarded."""
        return int((~self.discards.discarded[self.rows]).sum())

    # ---------------------------------------------------------------- iteration
    def __len__(self) -> int:
        return len(self.sampler)

    def set_epoch(self, epoch: int) -> None:
        """Seed the next passes' shuffled order with ``epoch`` under DDP, as
        ``DistributedSampler.set_epoch`` does (call it with the same epoch on every rank);
        without it a sharded loader counts its own passes. A single process reshuffles every
        pass whatever the epoch.

        Raises
        ------
        InvalidTypeError, InvalidValueError
            ``epoch`` is not an int >= 0.
        """
        self.sampler.set_epoch(check_int(epoch, "epoch", 0))

    def __iter__(self):
        controller = self.session.controller
        if self.is_training:
            if self.session.distributed is None and self.current_shard() is not None:
                from weightslab_nb.distributed.torchrun import attach

                attach(self.session)  # under torchrun: every rank, at its first pass
            controller.new_epoch()
        try:
            yield from self._batches(controller)
        finally:
            if self.is_training:  # a loop outside start_training holds nothing any more
                controller.pass_ended()

    def _batches(self, controller):
        import torch

        int_ids = all(isinstance(s, int) for s in self.sample_ids[:1])
        # int ids: one LongTensor per batch, indexed from this array (never a Python list)
        ids_arr = np.asarray(self.sample_ids, dtype=np.int64 if int_ids else object)
        from_numpy = torch.from_numpy
        session, rows, table = self.session, self.rows, self.session.table
        training = self.is_training
        it = None
        drawn = self.sampler.drawn
        while True:
            if training:
                controller.batch_boundary()
            if it is None:  # the pass's first batch: its sampler reads the batch size now
                if training:
                    session.begin_pass()
                it = iter(self._loader)
            try:
                batch = next(it)
            except StopIteration:
                return
            indices = drawn.popleft()
            ids = from_numpy(ids_arr[indices]) if int_ids else ids_arr[indices].tolist()
            if type(batch) is list or type(batch) is tuple:
                inputs = batch[0] if batch else None
                targets = batch[1] if len(batch) > 1 else None
            else:
                inputs, targets, _ = unpack_batch(batch)
            hand_over(table, ids, rows[indices])
            if training:
                session.advance_step()
            yield inputs, targets, ids

    def __repr__(self) -> str:
        return (f"<WatchedLoader {self.name!r} origin={self.origin!r} samples={len(self.rows)} "
                f"active={self.active_count()} batch_size={self.batch_size}>")
