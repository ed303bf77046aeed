"""Custom per-sample signals: ``@wl.signal``, :class:`SignalContext`, ``wl.compute_signals``.

A *signal* is a function of yours that returns one number per sample; the numbers are stored
in the ``signals//<name>`` column of the sample table (sortable and filterable in the grid) and
in the per-sample history.

* **Static** signals (no ``subscribe_to``) are computed from the sample itself (``ctx.data``,
  ``ctx.image``, ``ctx.point_cloud``) when you call :func:`compute_signals` on a watched
  loader: brightness, sharpness, point count...
* **Dynamic** signals (``subscribe_to="train-loss"``) fire when a batch of the named per-sample
  metric is recorded (a watched ``per_sample=True`` loss/metric, or ``save_signals``), on every
  ``compute_every_n_steps``-th such batch, with the recorded value in ``ctx.subscribed_value``
  and, on request, the sample's earlier values in ``ctx.subscribed_history``. They run in the
  session's signal thread (``wl-signals``), never slowing the training step, a history flush or
  a panel, and may call any ``wl.*`` function (query history, tag samples...). User reads
  (``session.drain()``, the history queries, ``session.dataframe``) wait for the signals due
  for what was recorded before them.

Two calling conventions:

* per-sample (default): ``fn(ctx: SignalContext) -> float | None``, called once per sample.
  Simplest to write; costs a Python call (about a microsecond plus your code) per sample.
  Return None for "no value".
* ``batched=True``: ``fn(ctx: BatchSignalContext) -> array-like [B]``, called once per batch
  (per chunk for static signals) with ``ctx.sample_ids`` and ``ctx.subscribed_values`` as an
  array. Vectorise with numpy/torch; use this for large batches, heavy per-call work (one
  history query, one tagging call per batch) or signals on a hot training loop. NaN means
  "no value" for that sample.

A failing signal never stops training: each failure is logged and kept in
``signal_registry(session).errors``; after three failing calls in a row the signal is disabled
until registered again (or ``signal_registry(session).enable(name)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.ledger.sample_table import bare_signal_name
from weightslab_nb.session import register_feature, session_function
from weightslab_nb.signals.context import (BatchSignalContext, SignalContext, image_view,
                                           point_cloud_view)
from weightslab_nb.signals.registry import (MAX_CONSECUTIVE_FAILURES, Signal, SignalError,
                                            SignalRegistry)

if TYPE_CHECKING:
    from weightslab_nb.session import Session



def signal_registry(session: "Session") -> SignalRegistry:
    """The :class:`SignalRegistry` of ``session`` (``session.signals``)."""
    return session.signals


def _check_options(name, subscribe_to, compute_every_n_steps, include_history,
                   include_history_metadata, log, batched) -> tuple[str | None, str | None]:
    """Validate the decorator's options; return ``(name, subscribe_to)`` normalised."""
    if name is not None:
        if not isinstance(name, str):
            raise InvalidTypeError(f"name: expected a string or None, got {type(name).__name__}")
        bare = bare_signal_name(name)
        if not bare or bare != bare.strip() or not name.strip():
            raise InvalidValueError(f"name: expected a non-empty signal name without surrounding "
                                    f"spaces, got {name!r}")
        name = bare
    if subscribe_to is not None:
        if not isinstance(subscribe_to, str):
            raise InvalidTypeError("subscribe_to: expected the name of a recorded per-sample "
                                   f"signal (a string) or None, got {type(subscribe_to).__name__}")
        if not bare_signal_name(subscribe_to).strip():
            raise InvalidValueError(f"subscribe_to: expected a non-empty signal name, got "
                                    f"{subscribe_to!r}")
    if isinstance(compute_every_n_steps, bool) or not isinstance(compute_every_n_steps, int):
        raise InvalidTypeError(f"compute_every_n_steps: expected an int >= 1, got "
                               f"{compute_every_n_steps!r}")
    if compute_every_n_steps < 1:
        raise InvalidValueError(f"compute_every_n_steps: must be >= 1, got {compute_every_n_steps}")
    for arg, value in (("include_history", include_history),
                       ("include_history_metadata", include_history_metadata), ("log", log),
                       ("batched", batched)):
        if not isinstance(value, bool):
            raise InvalidTypeError(f"{arg}: expected True or False, got {value!r}")
    if include_history_metadata and not include_history:
        raise InvalidValueError("include_history_metadata: needs include_history=True (the "
                                "metadata is a 'model_age' key in each history entry)")
    if subscribe_to is None:
        if compute_every_n_steps != 1:
            raise InvalidValueError("compute_every_n_steps: only dynamic signals "
                                    "(subscribe_to=...) are throttled; a static signal runs once "
                                    "per compute_signals call")
        if include_history:
            raise InvalidValueError("include_history: only dynamic signals (subscribe_to=...) have "
                                    "a subscribed history")
    return name, subscribe_to


def register_signal(session: "Session", fn, name: str | None = None,
                    subscribe_to: str | None = None, compute_every_n_steps: int = 1,
                    include_history: bool = False, include_history_metadata: bool = False,
                    log: bool = True, batched: bool = False) -> Signal:
    """Register ``fn`` as a signal of ``session``; return its :class:`Signal` record.

    Same options as :func:`signal`. Registering a name again replaces the earlier signal (with
    fresh counters, enabled again).

    Raises
    ------
    TypeError
        ``fn`` is not callable, or an option has the wrong type.
    ValueError
        A bad name, ``compute_every_n_steps < 1``, options that only make sense for dynamic
        signals given to a static one, or a subscription cycle.
    """
    if not callable(fn):
        raise InvalidTypeError(f"fn: a signal must be a callable taking one context, got "
                               f"{type(fn).__name__}")
    name, subscribe_to = _check_options(name, subscribe_to, compute_every_n_steps,
                                        include_history, include_history_metadata, log, batched)
    if name is None:
        name = getattr(fn, "__name__", None)
        if not isinstance(name, str) or not name or name == "<lambda>":
            raise InvalidValueError("name: give a name for this signal (it has no usable __name__)")
    return signal_registry(session).add(Signal(
        name=name, fn=fn, subscribe_to=subscribe_to, compute_every_n_steps=compute_every_n_steps,
        include_history=include_history, include_history_metadata=include_history_metadata,
        log=log, batched=batched))


def signal(session: "Session", name: str | None = None, subscribe_to: str | None = None,
           compute_every_n_steps: int = 1, include_history: bool = False,
           include_history_metadata: bool = False, log: bool = True, batched: bool = False):
    """Decorator: register a function as a custom per-sample signal of ``session``
    (``wl.signal`` is this for the current session).

    ::

        @wl.signal(name="loss_x2", subscribe_to="train-loss", compute_every_n_steps=10)
        def loss_x2(ctx):
            return 2 * ctx.subscribed_value

        @wl.signal                      # static, named "brightness"
        def brightness(ctx):
            return None if ctx.image is None else float(ctx.image.mean())

    Parameters
    ----------
    session : Session
    name : str, optional
        Stored as the ``signals//<name>`` column (a given ``signals//`` prefix is accepted).
        Default: the function's name.
    subscribe_to : str, optional
        Name of a per-sample signal (a watched ``per_sample=True`` loss or metric, a
        ``save_signals`` name, or another custom signal), with or without ``signals//``. Makes
        the signal dynamic: it fires when a batch of that signal is recorded. Without it the
        signal is static and runs through :func:`compute_signals`.
    compute_every_n_steps : int, default 1
        Dynamic only: fire on every n-th batch of the subscribed signal (the n-th, 2n-th...,
        counted from registration).
    include_history : bool, default False
        Dynamic only: fill ``ctx.subscribed_history`` with the sample's earlier values of the
        subscribed signal (one history query per fired batch).
    include_history_metadata : bool, default False
        Add ``"model_age"`` (the step) to each history entry; needs ``include_history=True``.
    log : bool, default True
        Dynamic only: also record each fired batch's mean/min/max as a curve point (like
        ``save_signals(log=True)``). Static values are stored per sample only.
    batched : bool, default False
        Call the function once per batch with a :class:`BatchSignalContext` instead of once per
        sample with a :class:`SignalContext`.

    A dynamic signal sees the sample rows of a batch; per-instance values
    (``save_instance_signals``) count towards ``compute_every_n_steps`` but call nothing.
    Scalar metrics (``per_sample=False``) have no per-sample batches and never fire it.

    Values are recorded with ``save_signals`` at the step of the subscribed batch (dynamic) or
    the current step (static). A per-sample function returns a number, or None for no value; a
    batched one an array-like of one value per sample (NaN for none). Returns the decorated
    function unchanged. Can be used bare (``@wl.signal``) for a static signal named after the
    function.

    Raises
    ------
    TypeError, ValueError
        Bad options (see :func:`register_signal`); raised when the decorator is applied.
    """
    if callable(name) and not isinstance(name, str):  # bare @wl.signal
        fn = name
        register_signal(session, fn)
        return fn
    _check_options(name, subscribe_to, compute_every_n_steps, include_history,
                   include_history_metadata, log, batched)

    def decorate(fn):
        register_signal(session, fn, name=name, subscribe_to=subscribe_to,
                        compute_every_n_steps=compute_every_n_steps,
                        include_history=include_history,
                        include_history_metadata=include_history_metadata, log=log,
                        batched=batched)
        return fn

    return decorate


def compute_signals(session: "Session", dataset_or_loader=None, origin: str | None = None,
                    signals=None, *, progress: bool = True,
                    chunk_size: int = 256) -> dict[str, int]:
    """Run the registered static signals of ``session`` over every sample of a watched data set
    (``wl.compute_signals`` is this for the current session, or the loader's session).

    ::

        wl.compute_signals(train_loader, origin="train")

    Parameters
    ----------
    session : Session
    dataset_or_loader : WatchedLoader, str, Dataset or DataLoader
        A loader returned by ``watch_or_edit(..., flag="data")``; a loader name or origin
        (``"train_loader"`` / ``"train"``); or the very data set / DataLoader object you
        watched (it must be watched already: ids and origins come from its loader).
    origin : str, optional
        Selects the loader when a name or data set is ambiguous (or alone, with
        ``dataset_or_loader=None``); must agree with a loader given.
    signals : str or list of str, optional
        Run only these static signals; default all registered, enabled static signals.
    progress : bool, default True
        Show a ``tqdm`` progress bar (refreshed at most twice a second).
    chunk_size : int, default 256
        Samples loaded and stored per chunk (batched signals get one chunk per call).

    Every sample of the loader is computed, discarded ones included. Each sample is loaded
    once (``dataset[i]``, its inputs part) for all signals. Values are stored with
    ``save_signals(..., log=False)`` per chunk at the session's current step; None / NaN
    results store nothing for that sample.

    Returns
    -------
    dict
        Signal name -> number of samples that got a value.

    Raises
    ------
    ValueError, TypeError
        The data set is not watched, unknown or dynamic signal names, bad ``chunk_size``.
        Errors in the signals themselves are reported as for dynamic signals (logged, kept in
        ``signal_registry().errors``, disabled after three failures in a row), not raised;
        errors raised by the data set while loading a sample propagate.
    ReadOnlyError
        ``session`` is a finished run opened with ``wl.open`` (it records nothing).
    """
    from weightslab_nb.signals.static import compute_static, resolve_loader, select_static

    session.access.check_recording("compute_signals")

    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidValueError(f"chunk_size: expected an int >= 1, got {chunk_size!r}")
    if origin is not None and not isinstance(origin, str):
        raise InvalidTypeError(f"origin: expected a string or None, got {type(origin).__name__}")
    loader = resolve_loader(session, dataset_or_loader, origin)
    registry = signal_registry(session)
    chosen = select_static(registry, signals)
    return compute_static(session, registry, loader, chosen, progress=progress,
                          chunk_size=chunk_size)


register_feature("signals", SignalRegistry)
register_feature("signal", session_function(signal))
register_feature("compute_signals", session_function(compute_signals))

__all__ = ["signal", "register_signal", "compute_signals", "signal_registry", "SignalContext",
           "BatchSignalContext", "Signal", "SignalError", "SignalRegistry", "image_view",
           "point_cloud_view", "MAX_CONSECUTIVE_FAILURES"]
