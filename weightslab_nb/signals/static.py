"""Static signals: computed from the samples themselves over a whole watched data set."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.signals.context import BatchSignalContext, SharedFrame, SignalContext

if TYPE_CHECKING:
    from weightslab_nb.session import Session
    from weightslab_nb.signals.registry import Signal, SignalRegistry
    from weightslab_nb.watch.data import WatchedLoader

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 256


def resolve_loader(session: "Session", dataset_or_loader, origin: str | None) -> "WatchedLoader":
    """The watched loader meant by ``dataset_or_loader`` (and ``origin``).

    Accepted: a :class:`~weightslab_nb.watch.data.WatchedLoader`; a loader name or origin
    string; None with ``origin`` given; or the very ``Dataset`` / ``DataLoader`` object that
    was passed to ``watch_or_edit(..., flag="data")`` (``origin`` picks one loader when the
    same data set is watched by several).

    Raises
    ------
    ValueError
        Nothing watched matches (the message lists the watched loaders), the data set is
        watched by several loaders and ``origin`` does not pick one, or ``origin`` contradicts
        the loader given.
    """
    from weightslab_nb.watch.data import WatchedLoader

    loaders = session.registry.all("data")
    known = ", ".join(f"{n!r} (origin {ld.origin!r})" for n, ld in loaders.items()) or "none"
    if isinstance(dataset_or_loader, WatchedLoader):
        loader = dataset_or_loader
        if origin is not None and origin not in (loader.origin, loader.name):
            raise InvalidValueError(f"origin: {origin!r} does not match the loader given (name "
                                    f"{loader.name!r}, origin {loader.origin!r})")
        return loader
    if dataset_or_loader is None or isinstance(dataset_or_loader, str):
        key = dataset_or_loader if dataset_or_loader is not None else origin
        if key is None:
            raise InvalidValueError("dataset_or_loader: pass a watched loader, a loader name or an "
                                    "origin (or origin=)")
        loader = session.registry.loader_for_origin(key)
        if loader is None:
            raise InvalidValueError(f"dataset_or_loader: no watched loader named or with origin "
                                    f"{key!r}; watched: {known}")
        if origin is not None and origin not in (loader.origin, loader.name):
            raise InvalidValueError(f"origin: {origin!r} does not match loader {key!r} (origin "
                                    f"{loader.origin!r})")
        return loader
    target = dataset_or_loader.dataset if _is_dataloader(dataset_or_loader) \
        else dataset_or_loader
    matches = [ld for ld in loaders.values() if ld.dataset is target]
    if origin is not None:
        matches = [ld for ld in matches if origin in (ld.origin, ld.name)]
    if not matches:
        raise InvalidValueError(
            f"dataset_or_loader: this {type(dataset_or_loader).__name__} is not watched"
            f"{'' if origin is None else f' with origin {origin!r}'}; wrap it first with "
            f"wl.watch_or_edit(data, flag='data', loader_name=...) and pass the loader it "
            f"returns (watched: {known})")
    if len(matches) > 1:
        raise InvalidValueError("dataset_or_loader: this data set is watched by several loaders "
                                f"({', '.join(repr(m.name) for m in matches)}); pick one with "
                                "origin=")
    return matches[0]


def _is_dataloader(obj) -> bool:
    try:
        from torch.utils.data import DataLoader
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(obj, DataLoader)


def select_static(registry: "SignalRegistry", signals) -> list["Signal"]:
    """The static signals to run: all of them (None), or the ones named (a name or a list)."""
    if signals is None:
        return registry.static()
    names = [signals] if isinstance(signals, str) else signals
    if not hasattr(names, "__iter__"):
        raise InvalidTypeError(f"signals: expected None, a signal name or a list of names, got "
                               f"{type(signals).__name__}")
    chosen = []
    for name in names:
        if not isinstance(name, str):
            raise InvalidTypeError(f"signals: names must be strings, got {name!r}")
        if name not in registry:
            raise InvalidValueError(f"signals: no signal named {name!r}; registered: "
                                    f"{registry.names() or 'none'}")
        signal = registry.get(name)
        if signal.is_dynamic:
            raise InvalidValueError(f"signals: {name!r} is a dynamic signal (subscribed to "
                                    f"{signal.subscribe_to!r}); compute_signals runs static ones")
        if signal not in chosen:
            chosen.append(signal)
    return chosen


def compute_static(session: "Session", registry: "SignalRegistry", loader: "WatchedLoader",
                   chosen: list["Signal"], progress: bool = True,
                   chunk_size: int = DEFAULT_CHUNK) -> dict[str, int]:
    """Run ``chosen`` over every sample of ``loader``; see :func:`compute_signals`."""
    from weightslab_nb.watch.batches import unpack_batch

    counts = {s.name: 0 for s in chosen}
    runnable = [s for s in chosen if s.enabled]
    for s in chosen:
        if not s.enabled:
            log.warning("signal %r is disabled (%s); skipped. Register it again to re-enable it",
                        s.name, s.last_error)
    if not runnable:
        return counts
    dataset, ids, origin = loader.dataset, list(loader.sample_ids), loader.origin
    n = len(ids)
    step = session.controller.step
    bar = _progress(n, origin, progress)
    try:
        for start in range(0, n, chunk_size):
            if not any(s.enabled for s in runnable):
                break
            stop = min(n, start + chunk_size)
            chunk_ids = ids[start:stop]
            data = [unpack_batch(dataset[i])[0] for i in range(start, stop)]
            frame = SharedFrame(session)
            for signal in runnable:
                if not signal.enabled:
                    continue
                if signal.batched:
                    ctx = BatchSignalContext(chunk_ids, origins=[origin] * len(chunk_ids),
                                             step=step, signal_name=signal.name,
                                             session=session, data=data, dataframe=frame)
                    out = registry.batch_result(signal, ctx, len(chunk_ids), step)
                    if out is None:
                        continue
                else:
                    out = np.full(len(chunk_ids), np.nan)
                    for i, sid in enumerate(chunk_ids):
                        ctx = SignalContext(sid, data=data[i], origin=origin, step=step,
                                            signal_name=signal.name, session=session,
                                            dataframe=frame)
                        value = registry.sample_result(signal, ctx, step, sid)
                        if value is not None:
                            out[i] = value
                        if not signal.enabled:
                            break
                counts[signal.name] += registry.save(signal, loader.rows[start:stop], out,
                                                     step, log_values=False)
            if bar is not None:
                bar.update(stop - start)
    finally:
        if bar is not None:
            bar.close()
    return counts


def _progress(total: int, origin: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"compute_signals [{origin}]", unit="sample",
                mininterval=0.5, maxinterval=2.0)
