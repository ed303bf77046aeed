"""``collect_metrics``: per-sample metrics over a data set, stored on a watched loader's samples.

This is our version of 3LC's ``tlc.collect_metrics`` (the contract is
``reference/tlc-collect-metrics.txt``). 3LC writes a metrics table joined to a *foreign* Table by
row index; here the join target is a watched loader
(:class:`~weightslab_nb.watch.data.WatchedLoader`, what ``wl.watch_or_edit(ds, flag="data")``
returns): dataset index ``i`` is the loader's sample ``loader.sample_ids[i]``, and every metric
becomes a ``signals//<name>`` column of the sample table plus one per-sample history entry at the
current training step. Aggregates go to the session's global history.

The pass runs in two phases so that a failure never leaves half a result behind: first every
batch is loaded, predicted and measured (nothing is recorded), then, once all values are known
and checked, they are stored with :meth:`~weightslab_nb.session.Session.save_signals` and
:meth:`~weightslab_nb.session.Session.record_scalar`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from weightslab_nb.arguments import check_bool
from weightslab_nb.errors import InvalidTypeError, InvalidValueError, StateError, WeightslabError
from weightslab_nb.ledger.sample_table import bare_signal_name, signal_column
from weightslab_nb.ledger.convert import to_values
from weightslab_nb.watch.batches import INPUT_KEYS, unpack_batch
from weightslab_nb.watch.data import WatchedLoader

if TYPE_CHECKING:
    import pandas as pd

    from weightslab_nb.session import Session

DEFAULT_BATCH_SIZE = 32  # samples per batch when ``dataloader_args`` does not say
_ORDERING_ARGS = ("sampler", "batch_sampler")  # DataLoader options that would reorder rows

T_co = TypeVar("T_co", covariant=True)

MetricsCollector = Callable[[Any, Any], dict]
"""A collector: ``fn(batch, predictor_output) -> {metric name: B values}``."""


@runtime_checkable
class MapDataset(Protocol[T_co]):
    """Anything indexable by position with a length: ``len(ds)`` and ``ds[i]``.

    A torch map-style ``Dataset`` (``TensorDataset``, a custom class with both methods) and a
    :class:`~weightslab_nb.watch.data.WatchedLoader` both qualify; an ``IterableDataset`` does
    not.
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> T_co: ...


class MetricsCollectorError(WeightslabError, RuntimeError):
    """A metrics collector raised while :func:`collect_metrics` ran; nothing was recorded.

    Attributes
    ----------
    collector : str
        The collector's name (its ``__name__``, else its class name).
    batch : int
        Index of the batch it failed on (0-based).

    The collector's own exception is the ``__cause__``, so the traceback shows where it failed.
    """

    def __init__(self, collector: str, batch: int, error: BaseException):
        self.collector = collector
        self.batch = batch
        super().__init__(f"metrics_collectors: collector {collector!r} raised on batch {batch}: "
                         f"{type(error).__name__}: {error}")


@dataclass
class MetricsResult:
    """What one :func:`collect_metrics` call collected and stored.

    Attributes
    ----------
    columns : list of str
        Sample-table columns written, metrics first (in the order collectors returned them),
        then constants: ``["signals//accuracy", "signals//loss", "signals//epoch"]``. A
        metric that was NaN for every sample writes no column and is not listed; empty when
        no sample was collected. (``inf`` values are stored as they are and make their
        aggregate infinite.)
    rows : int
        Number of samples collected (discarded ones skipped with ``exclude_zero_weights``).
    aggregates : dict[str, float]
        Aggregate name (``"val_accuracy_avg"``) -> mean over the collected samples, NaN values
        left out; empty when ``collect_aggregates=False``.
    frame : pandas.DataFrame
        Index ``sample_id`` (one row per collected sample, in data set order), one float
        column per metric (bare names, e.g. ``"accuracy"``; NaN where a collector returned
        NaN) and one per constant.
    step : int
        The training step the values were stored at (the session's step when the call began).
    """

    columns: list[str]
    rows: int
    aggregates: dict[str, float]
    frame: pd.DataFrame = field(repr=False)
    step: int

    def __repr__(self) -> str:
        aggs = ", ".join(f"{k}={v:.4g}" for k, v in self.aggregates.items())
        return (f"<MetricsResult rows={self.rows} step={self.step} columns={self.columns}"
                f"{' ' + aggs if aggs else ''}>")


def collect_metrics(table: MapDataset, metrics_collectors, *, predictor=None,
                    foreign_table_url: str | WatchedLoader | None = None,
                    constants: dict[str, Any] | None = None,
                    constants_schemas: dict | None = None, run_url: str | None = None,
                    collect_aggregates: bool = True, split: str = "",
                    exclude_zero_weights: bool = False,
                    dataloader_args: dict[str, Any] | None = None,
                    session: Session, progress: bool = True) -> MetricsResult:
    """Measure every sample of a data set with your collectors and store one value per sample.

    ::

        def accuracy(batch, output):
            inputs, targets = batch
            return {"accuracy": (output.argmax(1) == targets).float()}

        val_loader = wl.watch_or_edit(val_ds, flag="data", loader_name="val_loader")
        wl.collect_metrics(val_loader, accuracy, split="val", constants={"epoch": 3})
        # -> columns signals//accuracy and signals//epoch; global point "val_accuracy_avg"

    Our adaptation of 3LC's ``tlc.collect_metrics``: a watched loader plays the part of 3LC's
    Table, the sample table the part of the metrics table, and the session's global history
    the part of the Run's aggregate values.

    Parameters
    ----------
    table : WatchedLoader or map-style dataset
        What to iterate, in index order. A watched loader is its own join target: its
        ``dataset`` is iterated and row ``i`` is its sample ``sample_ids[i]``. Any other
        object with ``__len__`` and ``__getitem__`` needs ``foreign_table_url``.
    metrics_collectors : callable or list of callables
        Each is called once per batch as ``fn(batch, predictor_output)`` and returns a dict
        metric name -> ``B`` per-sample numbers (tensor, ndarray or list of length ``B``;
        shape ``[B, 1]`` is accepted too). ``batch`` is what a DataLoader over ``table``
        yields (for a watched loader: ``dataset`` samples collated, not the
        ``(inputs, targets, ids)`` triple its iteration yields). Names must be non-empty
        strings, unique across collectors, and the same set in every batch; a
        ``signals//`` prefix is allowed and stripped from the bare name. NaN means "no value"
        for that sample.
    predictor : torch.nn.Module or callable, optional
        Called once per batch on the batch's inputs (``batch[0]`` of a tuple/list batch, the
        ``image``/``input``/``x``/``data`` entry of a dict batch, the batch itself otherwise;
        see :func:`~weightslab_nb.watch.batches.unpack_batch`); its result is
        ``predictor_output``. A module runs in eval mode and gets tensor inputs moved to the
        device of its parameters; its training mode is restored afterwards, also on error.
        Default: the session's first watched model; with none, collectors get None.
    foreign_table_url : str or WatchedLoader, optional
        The join target for a plain data set: the name (``"val_loader"``) or origin
        (``"val"``) of a watched loader (or the loader itself) whose data set has the same
        length; index ``i`` of ``table`` is that loader's sample ``sample_ids[i]``. Must not
        be given when ``table`` is a watched loader.
    constants : dict[str, number], optional
        Values stored for every collected sample as extra ``signals//<name>`` columns and
        per-sample history (e.g. ``{"epoch": 3}``). Numbers and bools only; names must differ
        from the metric names. Constants are not aggregated.
    constants_schemas : dict, optional
        Accepted for compatibility with 3LC and checked to be a dict; not used (every value
        is stored as a float64 column, so there is no schema to choose).
    run_url : str, optional
        The tracking run (``wl.init``) that gets the aggregates in its summary: its id or
        ``"project/id"``; it must be the session's running run. Default: the running run, if
        any (3LC would create one; we leave that to ``wl.init``).
    collect_aggregates : bool, default True
        Record, per metric, one global point at ``step``: the mean over the collected samples
        (NaN values ignored) with its min/max band and count, named ``<split>_<metric>_avg``,
        or ``<metric>_avg`` when ``split`` is ``""``. A metric with no non-NaN value gets none.
        The same values go into the summary of the tracking run (see ``run_url``).
    split : str, default ""
        Prefix of the aggregate names (only when non-empty, as in 3LC, even if the loader has
        an origin) and the label of the progress bar (default: the target loader's origin).
    exclude_zero_weights : bool, default False
        3LC skips rows whose sample weight is zero; our equivalent is a *discarded* sample.
        True skips the target loader's samples that are discarded when the call begins; False
        collects every sample.
    dataloader_args : dict, optional
        Extra ``torch.utils.data.DataLoader`` keywords (``batch_size``, default 32;
        ``num_workers``; ``collate_fn``, default the watched loader's own, else torch's
        ``default_collate``; ...). Rows must stay in index order, so ``shuffle=True``,
        ``drop_last=True``, ``sampler`` and ``batch_sampler`` are refused.
    session : Session
        Where the values go (``wl.collect_metrics`` passes the watched loader's session, else
        the current one). It must own the watched loader given.
    progress : bool, default True
        Show a ``tqdm`` progress bar (per sample, refreshed at most twice a second).

    Returns
    -------
    MetricsResult
        ``columns``, ``rows``, ``aggregates``, ``frame`` and ``step``.

    Raises
    ------
    ValueError
        ``table`` is a ``DataLoader`` (pass its dataset); a plain data set without
        ``foreign_table_url``, or a watched loader with it; an unknown loader name or a length
        mismatch; refused ``dataloader_args``; a collector output without one value per sample
        (the message names the collector and the metric), empty or duplicate metric names, a
        constant named like a metric; a batch whose inputs cannot be found for the predictor.
    TypeError
        ``table`` is not map-style; a collector or predictor that is not callable; a collector
        returning something other than a dict, or non-numeric values; non-numeric constants;
        wrong argument types (``constants_schemas``, ``run_url``, ``split``,
        ``dataloader_args``); ``collect_aggregates``, ``exclude_zero_weights`` or ``progress``
        not a bool.
    MetricsCollectorError
        A collector raised (its exception is the ``__cause__``). Errors of the predictor and
        of the data set propagate unchanged.

    In every error case nothing is recorded: values are collected for all batches first and
    stored only once the whole pass succeeded.

    Notes
    -----
    It runs in the calling thread, does not count training steps and does not wait at the
    pause gate. Recording while a background training thread runs is safe (values go through
    the session's queue, like the training loop's), but the default predictor *is* the model
    being trained: it is put in eval mode for the duration of the call, which the training
    thread's forward passes would see too, and its weights keep changing under the pass.
    Pause training first (``handle.pause(); handle.wait_paused()``) or pass a copy of the
    model for a consistent snapshot.

    A metric named like an existing signal (``"loss"``) writes to the same column and history.
    """
    from tqdm.auto import tqdm

    collect_aggregates = check_bool(collect_aggregates, "collect_aggregates")
    exclude_zero_weights = check_bool(exclude_zero_weights, "exclude_zero_weights")
    progress = check_bool(progress, "progress")
    _check_session(table, foreign_table_url, session)
    target = _join_target(session, table, foreign_table_url)
    dataset = table.dataset if isinstance(table, WatchedLoader) else table
    collectors = _check_collectors(metrics_collectors)
    constants = _check_constants(constants)
    if constants_schemas is not None and not isinstance(constants_schemas, dict):
        raise InvalidTypeError(f"constants_schemas: expected a dict or None, got "
                               f"{type(constants_schemas).__name__}")
    run = _target_run(session, run_url)
    if not isinstance(split, str):
        raise InvalidTypeError(f"split: expected a string, got {type(split).__name__}")
    default_collate = table._loader.collate_fn if isinstance(table, WatchedLoader) else None
    batch_size, loader_kwargs = _loader_settings(dataloader_args, default_collate)
    predictor = _resolve_predictor(session, predictor)

    indices = _selected_indices(session, target, exclude_zero_weights)
    step = session.controller.step
    bar = tqdm(total=len(indices), desc=f"collect_metrics [{split or target.origin}]",
               unit="sample", mininterval=0.5, maxinterval=2.0, disable=not progress)
    try:
        metrics = _measure(dataset, indices, batch_size, loader_kwargs, collectors, predictor,
                           bar)
    finally:
        bar.close()

    clash = sorted(set(metrics) & set(constants))
    if clash:
        raise InvalidValueError(f"constants: {clash} clash with metric names returned by the "
                                f"collectors; rename the constant(s)")
    ids = [target.sample_ids[i] for i in indices.tolist()]
    frame = _frame(ids, metrics, constants)
    if not ids:
        return MetricsResult(columns=[], rows=0, aggregates={}, frame=frame, step=step)

    # everything is known and checked: store it
    columns = []
    for name, values in [*metrics.items(),
                         *((k, np.full(len(ids), v)) for k, v in constants.items())]:
        column = signal_column(name)
        keep = ~np.isnan(values)
        if keep.any():
            columns.append(column)  # a metric without any value writes no column
        if keep.all():
            session.save_signals({column: values}, ids, step=step, log=False,
                                 origin=target.origin)
        elif keep.any():
            session.save_signals({column: values[keep]},
                                 [ids[i] for i in np.flatnonzero(keep).tolist()],
                                 step=step, log=False, origin=target.origin)
    aggregates = {}
    if collect_aggregates:
        for name, values in metrics.items():
            known = values[~np.isnan(values)]
            if not len(known):
                continue
            agg = f"{split}_{name}_avg" if split else f"{name}_avg"
            mean = float(known.mean())
            session.record_scalar(agg, mean, count=len(known), vmin=float(known.min()),
                                  vmax=float(known.max()), step=step)
            aggregates[agg] = mean
        if run is not None and aggregates:
            run.summary.update(aggregates)
    return MetricsResult(columns=columns, rows=len(ids), aggregates=aggregates, frame=frame,
                         step=step)


def _target_run(session: Session, run_url):
    """The running tracking run that gets the aggregates, or None (see ``run_url``)."""
    if run_url is not None and not isinstance(run_url, str):
        raise InvalidTypeError(f"run_url: expected a string or None, got {type(run_url).__name__}")
    run = session.run if session.run is not None and session.run.state == "running" else None
    if run_url is None:
        return run
    if run is None or run_url not in (run.id, run.path):
        running = "none" if run is None else repr(run.path)
        raise InvalidValueError(f"run_url: {run_url!r} is not the running run of this session "
                                f"(running: {running}); start it with wl.init()")
    return run


def reset_dataloader_cache() -> None:
    """Do nothing; kept so code written for 3LC's ``reset_dataloader_cache`` runs unchanged.

    3LC keeps DataLoaders with persistent workers alive between ``collect_metrics`` calls (on
    Windows) and this drops them. :func:`collect_metrics` here builds a fresh DataLoader per
    call and keeps none, so there is nothing to release.
    """


# ---------------------------------------------------------------- argument checks
def _check_session(table, foreign_table_url, session) -> None:
    """The session must be open and own the watched loader given (if any)."""
    watched = table if isinstance(table, WatchedLoader) else \
        foreign_table_url if isinstance(foreign_table_url, WatchedLoader) else None
    if watched is not None and watched.session is not session:
        raise InvalidValueError(f"session: loader {watched.name!r} is watched by another session")
    if session.closed:
        raise StateError("session: this session is closed; metrics cannot be stored")


def _join_target(session: Session, table, foreign_table_url) -> WatchedLoader:
    """The watched loader whose samples row ``i`` of ``table`` stands for."""
    from torch.utils.data import DataLoader, IterableDataset

    if isinstance(table, DataLoader):
        raise InvalidValueError("table: got a torch DataLoader; pass its dataset (collect_metrics "
                                "builds its own loader; put batch_size, num_workers, collate_fn... "
                                "in dataloader_args)")
    loaders = session.registry.all("data")
    known = ", ".join(f"{n!r} (origin {ld.origin!r}, {len(ld.sample_ids)} samples)"
                      for n, ld in loaders.items()) or "none"
    if isinstance(table, WatchedLoader):
        if foreign_table_url is not None:
            raise InvalidValueError("foreign_table_url: must not be given when table is a watched "
                                    f"loader ({table.name!r} is its own join target)")
        return table
    if isinstance(table, IterableDataset) or not isinstance(table, MapDataset):
        raise InvalidTypeError("table: expected a map-style dataset (with __len__ and __getitem__) "
                               f"or a watched loader, got {type(table).__name__}")
    if foreign_table_url is None:
        raise InvalidValueError(f"foreign_table_url: table is a plain {type(table).__name__}, so "
                                "collect_metrics cannot tell which samples its rows are; pass "
                                "foreign_table_url=<name or origin of the watched loader whose row "
                                "i is table[i]>, or pass that watched loader as table (watched: "
                                f"{known})")
    if isinstance(foreign_table_url, WatchedLoader):
        target = foreign_table_url
    elif isinstance(foreign_table_url, str):
        target = loaders.get(foreign_table_url) or \
            session.registry.loader_for_origin(foreign_table_url)
        if target is None:
            raise InvalidValueError(f"foreign_table_url: no watched loader named or with origin "
                                    f"{foreign_table_url!r} (watched: {known})")
    else:
        raise InvalidTypeError(f"foreign_table_url: expected a loader name or origin, got "
                               f"{type(foreign_table_url).__name__}")
    if len(table) != len(target.sample_ids):
        raise InvalidValueError(f"foreign_table_url: table has {len(table)} rows but loader "
                                f"{target.name!r} has {len(target.sample_ids)} samples; row i of "
                                "table must be sample i of the loader")
    return target


def _collector_name(fn) -> str:
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str):
        inner = getattr(fn, "func", None)  # functools.partial
        name = getattr(inner, "__name__", None) if inner is not None else None
    return name if isinstance(name, str) else type(fn).__name__


def _check_collectors(metrics_collectors) -> list[tuple[str, Callable]]:
    """``[(name, collector)]``; a single callable is a list of one."""
    fns = [metrics_collectors] if callable(metrics_collectors) else metrics_collectors
    if not isinstance(fns, (list, tuple)):
        raise InvalidTypeError("metrics_collectors: expected a callable or a list of callables, "
                               f"got {type(metrics_collectors).__name__}")
    if not fns:
        raise InvalidValueError("metrics_collectors: the list is empty; give at least one "
                                "collector")
    for i, fn in enumerate(fns):
        if not callable(fn):
            raise InvalidTypeError(f"metrics_collectors[{i}]: expected a callable "
                                   f"fn(batch, predictor_output) -> dict, got {type(fn).__name__}")
    return [(_collector_name(fn), fn) for fn in fns]


def _check_constants(constants) -> dict[str, float]:
    """Constant name (bare) -> float."""
    if constants is None:
        return {}
    if not isinstance(constants, dict):
        raise InvalidTypeError(f"constants: expected a dict of name -> number, got "
                               f"{type(constants).__name__}")
    out = {}
    for name, value in constants.items():
        bare = _metric_name(name, "constants")
        if isinstance(value, (bool, np.bool_, numbers.Real)):
            number = float(value)
        elif hasattr(value, "shape") and hasattr(value, "dtype") and \
                int(np.prod(value.shape)) == 1 and not _is_complex(value):
            number = float(to_values(value, f"constants[{name!r}]").reshape(()))
        else:
            raise InvalidTypeError(f"constants[{name!r}]: expected a number (int, float, bool), "
                                   f"got {type(value).__name__}")
        if not np.isfinite(number):
            raise InvalidValueError(f"constants[{name!r}]: expected a finite number, got {number}")
        if bare in out:
            raise InvalidValueError(f"constants: {name!r} names the same column as another "
                                    "constant")
        out[bare] = number
    return out


def _is_complex(value) -> bool:
    """True for a complex tensor or array (their real part alone would lose information)."""
    dtype = value.dtype
    if hasattr(dtype, "is_complex"):  # torch
        return bool(dtype.is_complex)
    return getattr(dtype, "kind", "") == "c"


def _metric_name(name, where: str) -> str:
    """The bare name (without ``signals//``) of a metric or constant, checked."""
    if not isinstance(name, str):
        raise InvalidTypeError(f"{where}: names must be non-empty strings, got {name!r}")
    bare = bare_signal_name(name)
    if not bare:
        raise InvalidValueError(f"{where}: names must be non-empty strings, got {name!r}")
    return bare


def _loader_settings(dataloader_args, default_collate) -> tuple[int, dict]:
    """(batch size, other DataLoader keywords), refusing anything that would reorder rows."""
    if dataloader_args is None:
        args = {}
    elif isinstance(dataloader_args, dict):
        args = dict(dataloader_args)
    else:
        raise InvalidTypeError(f"dataloader_args: expected a dict of DataLoader keywords, got "
                               f"{type(dataloader_args).__name__}")
    if check_bool(args.pop("shuffle", False), "dataloader_args['shuffle']"):
        raise InvalidValueError("dataloader_args: shuffle=True is not allowed; rows must stay in "
                                "index order to be joined to their samples")
    for key in _ORDERING_ARGS:
        if args.pop(key, None) is not None:
            raise InvalidValueError(f"dataloader_args: {key} is not allowed; rows must stay in "
                                    "index order to be joined to their samples")
    if check_bool(args.pop("drop_last", False), "dataloader_args['drop_last']"):
        raise InvalidValueError("dataloader_args: drop_last=True is not allowed; every sample is "
                                "collected")
    batch_size = args.pop("batch_size", DEFAULT_BATCH_SIZE)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or \
            batch_size < 1:
        raise InvalidValueError("dataloader_args: batch_size must be an int >= 1, got "
                                f"{batch_size!r}")
    if args.get("collate_fn") is None:
        args.pop("collate_fn", None)
        if default_collate is not None:
            args["collate_fn"] = default_collate
    return int(batch_size), args


def _resolve_predictor(session: Session, predictor):
    if predictor is None:
        models = list(session.registry.all("model").values())
        return models[0] if models else None
    if not callable(predictor):
        raise InvalidTypeError(f"predictor: expected a torch.nn.Module or a callable, got "
                               f"{type(predictor).__name__}")
    return predictor


def _selected_indices(session: Session, target: WatchedLoader, skip_discarded: bool):
    """Data set indices to collect, in order: all, or the ones not discarded now."""
    n = len(target.sample_ids)
    if not skip_discarded:
        return np.arange(n)
    with session.lock:
        discarded = session.table.discarded[target.rows].copy()
    return np.flatnonzero(~discarded)


# ---------------------------------------------------------------- the pass
def _measure(dataset, indices: np.ndarray, batch_size: int, loader_kwargs: dict,
             collectors: list[tuple[str, Callable]], predictor, bar) -> dict[str, np.ndarray]:
    """Run predictor and collectors over ``dataset[indices]``; return metric -> values
    (float64, one per index). Records nothing."""
    import torch
    from torch.utils.data import DataLoader

    chunks = [indices[i : i + batch_size].tolist() for i in range(0, len(indices), batch_size)]
    if not chunks:
        return {}
    batches = DataLoader(dataset, batch_sampler=chunks, **loader_kwargs)
    module = predictor if isinstance(predictor, torch.nn.Module) else None
    device = None
    if module is not None:
        first = next(module.parameters(), None)
        device = first.device if first is not None else None
    keys: list[list[str] | None] = [None] * len(collectors)  # each collector's names
    parts: dict[str, list[np.ndarray]] = {}
    was_training = module.training if module is not None else False
    try:
        if module is not None:
            module.eval()
        with torch.no_grad():
            for b, (chunk, batch) in enumerate(zip(chunks, batches)):
                output = None
                if predictor is not None:
                    output = predictor(_inputs_of(batch, device))
                for c, (name, fn) in enumerate(collectors):
                    try:
                        out = fn(batch, output)
                    except Exception as exc:
                        raise MetricsCollectorError(name, b, exc) from exc
                    values = _check_output(name, out, len(chunk))
                    if keys[c] is None:
                        for key in values:
                            if key in parts:
                                other = next(n for n, k in zip(collectors, keys)
                                             if k is not None and key in k)[0]
                                raise InvalidValueError(f"metrics_collectors: metric {key!r} is "
                                                        f"returned by both {other!r} and {name!r}; "
                                                        f"names must be unique")
                            parts[key] = []
                        keys[c] = list(values)
                    elif set(values) != set(keys[c]):
                        raise InvalidValueError(f"metrics_collectors: collector {name!r} returned "
                                                f"{sorted(values)} on batch {b} but "
                                                f"{sorted(keys[c])} on batch 0; return the same "
                                                "metrics every batch")
                    for key, v in values.items():
                        parts[key].append(v)
                bar.update(len(chunk))
    finally:
        if module is not None:
            module.train(was_training)
    return {key: np.concatenate(vs) for key, vs in parts.items()}


def _inputs_of(batch, device):
    """The predictor's input of a batch, moved to ``device`` when it is a tensor."""
    inputs = unpack_batch(batch)[0]
    if inputs is None:
        raise InvalidValueError(f"predictor: cannot find the inputs in a {type(batch).__name__} "
                                f"batch (a dict batch needs one of the keys {list(INPUT_KEYS)}); "
                                "pass predictor=lambda x: ... or a collate_fn in dataloader_args")
    if device is not None and hasattr(inputs, "to") and hasattr(inputs, "device") and \
            inputs.device != device:
        inputs = inputs.to(device)
    return inputs


def _check_output(collector: str, out, batch_size: int) -> dict[str, np.ndarray]:
    """A collector's result as bare metric name -> float64 ``[B]``, checked."""
    if not isinstance(out, dict):
        raise InvalidTypeError(f"metrics_collectors: collector {collector!r} returned a "
                               f"{type(out).__name__}; expected a dict of metric name -> "
                               "per-sample values")
    checked = {}
    for key, values in out.items():
        bare = _metric_name(key, f"metrics_collectors: collector {collector!r}")
        where = f"metrics_collectors: collector {collector!r}, metric {key!r}"
        arr = to_values(values, where)
        if arr.ndim == 0:
            raise InvalidValueError(f"{where}: got a single value; return one value per sample "
                                    f"({batch_size} in this batch)")
        if arr.shape[0] != batch_size or (arr.ndim > 1 and arr.size != batch_size):
            raise InvalidValueError(f"{where}: got shape {list(arr.shape)} but the batch has "
                                    f"{batch_size} samples; return one number per sample (shape "
                                    f"[{batch_size}])")
        if bare in checked:
            raise InvalidValueError(f"{where}: names the same column as another of its metrics")
        checked[bare] = arr.reshape(batch_size)
    return checked


def _frame(ids: list, metrics: dict[str, np.ndarray], constants: dict[str, float]):
    import pandas as pd

    data = dict(metrics)
    for name, value in constants.items():
        data[name] = np.full(len(ids), value)
    return pd.DataFrame(data, index=pd.Index(ids, name="sample_id"),
                        columns=[*metrics, *constants])
