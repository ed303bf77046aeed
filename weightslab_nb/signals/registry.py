"""Registered custom signals, and the dispatcher thread that fires dynamic ones.

A :class:`SignalRegistry` belongs to one session (``session.signals``, built on first use). It
listens to the session's applied batches (its ``on_applied`` hook), makes user reads wait for
the signals due (``drain_waiters``), stops with the session (``on_closed``), and hands the
batches a dynamic signal subscribes to over to its own thread (``wl-signals``, started on first
use). There, every enabled dynamic signal subscribed to a batch's signal counts it and, on every
``compute_every_n_steps``-th batch, is called, in the order the batches were applied. No session
lock is held then: a signal may call any ``wl.*`` function (queries, tagging, ``save_signals``).

Who waits for signals: nobody on the hot paths. The training thread only records; the recorder's
ingest thread and the panels apply batches without waiting for the signals they trigger, so a
slow signal never delays a flush or a panel refresh. User reads (``session.drain()``, the
``query_*_history`` functions, ``session.dataframe``, the exports) wait until the signals due
for everything recorded before the call have run and their values are applied
(:meth:`SignalRegistry.wait_dispatched`); a signal that reads from inside the dispatcher does
not wait for itself.

Failures never reach training or the dispatcher: each failing call is logged and recorded in
:attr:`SignalRegistry.errors`; after :data:`MAX_CONSECUTIVE_FAILURES` failing calls in a row the
signal is disabled (re-register it, or call :meth:`SignalRegistry.enable`, to run it again).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError, UnknownNameError
from weightslab_nb.ledger.sample_table import bare_signal_name, signal_column
from weightslab_nb.signals.context import BatchSignalContext, SharedFrame, SignalContext

if TYPE_CHECKING:
    from weightslab_nb.ledger.pending import PreparedBatch
    from weightslab_nb.session import Session

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_FAILURES = 3
MAX_ERRORS_KEPT = 200
LOGGED_FAILURES = 10  # failures of one signal logged one by one; later only every 100th


@dataclass(eq=False)
class Signal:
    """One registered signal: its options and its running state.

    ``seen`` counts the batches of the subscribed metric applied since registration,
    ``fired`` the batches the signal was called for, ``calls`` the calls of the function (one
    per sample, or one per batch when ``batched``), ``failures`` every failing call and
    ``consecutive_failures`` the current streak. ``enabled`` turns False after
    :data:`MAX_CONSECUTIVE_FAILURES` failing calls in a row; ``last_error`` is the last
    failure's message.
    """

    name: str
    fn: Callable
    subscribe_to: str | None = None
    compute_every_n_steps: int = 1
    include_history: bool = False
    include_history_metadata: bool = False
    log: bool = True
    batched: bool = False
    seen: int = 0
    fired: int = 0
    calls: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    enabled: bool = True
    last_error: str | None = None

    @property
    def column(self) -> str:
        """The sample-table column holding the values: ``signals//<name>``."""
        return signal_column(self.name)

    @property
    def subscribed_column(self) -> str | None:
        return None if self.subscribe_to is None else signal_column(self.subscribe_to)

    @property
    def is_dynamic(self) -> bool:
        return self.subscribe_to is not None

    @property
    def is_static(self) -> bool:
        return self.subscribe_to is None

    def __repr__(self) -> str:
        kind = (f"dynamic on {self.subscribe_to!r} every {self.compute_every_n_steps}"
                if self.is_dynamic else "static")
        state = "enabled" if self.enabled else f"disabled ({self.last_error})"
        return (f"<Signal {self.name!r} {kind}{' batched' if self.batched else ''} "
                f"fired={self.fired} calls={self.calls} failures={self.failures} {state}>")


@dataclass
class SignalError:
    """One failing call of a signal, as kept in :attr:`SignalRegistry.errors`."""

    signal: str
    message: str            # "ValueError: ..." (or why the signal was disabled)
    traceback: str
    step: int | None
    sample_id: object = None  # the sample of a per-sample call, None for a batch call
    disabled: bool = False    # this failure disabled the signal
    time: float = field(default_factory=time.time)


class SignalRegistry:
    """The custom signals of one session (see the module docstring).

    ``registry.get(name)``, ``name in registry``, ``list(registry)`` (the :class:`Signal`
    records), :meth:`remove`, :meth:`enable`; ``errors`` (a list of :class:`SignalError`, most
    recent last, at most :data:`MAX_ERRORS_KEPT`) and ``version`` (grows on every
    registration, removal, failure and disabling: panels poll it).
    """

    def __init__(self, session: "Session"):
        self.session = session
        self._lock = threading.Lock()             # the dict, errors, counters: short holds only
        self._signals: dict[str, Signal] = {}
        self._by_column: dict[str, list[Signal]] = {}
        self._errors: deque[SignalError] = deque(maxlen=MAX_ERRORS_KEPT)
        # the dispatcher: batches handed over (a FIFO) and how many were taken and finished
        self._cond = threading.Condition()
        self._backlog: deque = deque()
        self._handed = 0
        self._finished = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self.version = 0
        session.on_applied.append(self.on_applied)
        session.drain_waiters.append(self.wait_dispatched)
        session.on_closed.append(self.close)

    # ---------------------------------------------------------------- registration
    def add(self, signal: Signal) -> Signal:
        """Register ``signal``, replacing one of the same name (its counters start afresh).

        Raises ``ValueError`` when the subscription would form a cycle (a signal that, through
        other signals, subscribes to itself).
        """
        with self._lock:
            seen, name = {signal.name}, signal.subscribe_to
            while name is not None:
                target = bare_signal_name(signal_column(name))
                if target in seen:
                    raise InvalidValueError(f"subscribe_to: {signal.subscribe_to!r} would make "
                                            f"signal {signal.name!r} fire itself (a subscription "
                                            "cycle)")
                seen.add(target)
                upstream = self._signals.get(target)
                name = upstream.subscribe_to if upstream is not None else None
            self._signals[signal.name] = signal
            self._reindex()
            self.version += 1
        return signal

    def remove(self, name: str) -> Signal:
        """Unregister a signal (its recorded values stay); ``KeyError`` if unknown."""
        with self._lock:
            key = bare_signal_name(signal_column(name))
            if key not in self._signals:
                raise UnknownNameError(f"name: no signal named {name!r}; registered: "
                                       f"{self.names()}")
            signal = self._signals.pop(key)
            self._reindex()
            self.version += 1
            return signal

    def enable(self, name: str) -> Signal:
        """Re-enable a disabled signal and reset its failure streak."""
        signal = self.get(name)
        with self._lock:
            signal.enabled = True
            signal.consecutive_failures = 0
            signal.last_error = None
            self.version += 1
        return signal

    def get(self, name: str) -> Signal:
        """The :class:`Signal` registered as ``name`` (with or without ``signals//``)."""
        with self._lock:
            signal = self._signals.get(bare_signal_name(signal_column(name)))
        if signal is None:
            raise UnknownNameError(f"name: no signal named {name!r}; registered: {self.names()}")
        return signal

    def names(self) -> list[str]:
        return list(self._signals)

    def static(self) -> list[Signal]:
        with self._lock:
            return [s for s in self._signals.values() if s.is_static]

    def dynamic(self) -> list[Signal]:
        with self._lock:
            return [s for s in self._signals.values() if s.is_dynamic]

    @property
    def errors(self) -> list[SignalError]:
        with self._lock:
            return list(self._errors)

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and bare_signal_name(signal_column(name)) in self._signals

    def __iter__(self):
        with self._lock:
            return iter(list(self._signals.values()))

    def __len__(self) -> int:
        return len(self._signals)

    def _reindex(self) -> None:
        by_column: dict[str, list[Signal]] = {}
        for s in self._signals.values():
            if s.is_dynamic:
                by_column.setdefault(s.subscribed_column, []).append(s)
        self._by_column = by_column

    def __repr__(self) -> str:
        return f"<SignalRegistry {self.names()} errors={len(self._errors)}>"

    # ---------------------------------------------------------------- calling user code
    def call(self, signal: Signal, ctx, step: int | None, sample_id=None):
        """Run ``signal.fn(ctx)``; return ``(ok, result)``. A failure is recorded (and may
        disable the signal); it is never raised."""
        try:
            result = signal.fn(ctx)
        except Exception as exc:  # a user bug must not stop training or the drain
            self.failed(signal, exc, step, sample_id)
            return False, None
        signal.calls += 1
        signal.consecutive_failures = 0
        return True, result

    def failed(self, signal: Signal, exc: BaseException, step: int | None,
               sample_id=None) -> None:
        """Record one failing call of ``signal``; disable it after too many in a row."""
        message = f"{type(exc).__name__}: {exc}"
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        with self._lock:
            signal.calls += 1
            signal.failures += 1
            signal.consecutive_failures += 1
            signal.last_error = message
            disable = signal.enabled and signal.consecutive_failures >= MAX_CONSECUTIVE_FAILURES
            if disable:
                signal.enabled = False
            self._errors.append(SignalError(signal.name, message, tb, step, sample_id, disable))
            self.version += 1
        where = f" (sample {sample_id!r})" if sample_id is not None else ""
        if signal.failures == 1:
            log.error("signal %r failed at step %s%s:\n%s", signal.name, step, where, tb)
        elif signal.failures <= LOGGED_FAILURES or signal.failures % 100 == 0:
            more = " (further failures are logged every 100th)" \
                if signal.failures == LOGGED_FAILURES else ""
            log.error("signal %r failed at step %s%s: %s [failure %d]%s", signal.name, step,
                      where, message, signal.failures, more)
        if disable:
            log.error("signal %r disabled after %d failing calls in a row (last: %s); fix it and "
                      "register it again", signal.name, signal.consecutive_failures, message)

    # ---------------------------------------------------------------- dynamic dispatch
    def on_applied(self, batches: list["PreparedBatch"]) -> None:
        """Applied-batch listener: hand the batches some dynamic signal subscribes to over to
        the dispatcher thread and return at once. Never raises."""
        try:
            by_column = self._by_column
            if not by_column:
                return
            relevant = [p for p in batches if p.batch.column in by_column]
            if not relevant:
                return
            with self._cond:
                if self._closed:
                    return
                self._backlog.extend(relevant)
                self._handed += len(relevant)
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="wl-signals",
                                                    daemon=True)
                    self._thread.start()
                self._cond.notify_all()
        except Exception:
            log.exception("dynamic signal dispatch failed")

    def wait_dispatched(self, timeout: float | None = None) -> bool:
        """Wait until every batch handed over so far was dispatched (its due signals ran and
        saved their values, which the next drain applies). True at once when called from a
        signal (the dispatcher thread) or when nothing is pending; False on timeout."""
        if threading.current_thread() is self._thread:
            return True
        with self._cond:
            target = self._handed
            return self._cond.wait_for(lambda: self._finished >= target, timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Run what was handed over, then stop the dispatcher thread (bounded wait). Later
        batches are ignored."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the signal dispatcher did not finish within %s s", timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._backlog or self._closed)
                if not self._backlog:
                    return  # closed and nothing left
                pending = list(self._backlog)
                self._backlog.clear()
            try:
                self._dispatch(pending)
            except Exception:
                log.exception("dynamic signal dispatch failed")
            finally:
                with self._cond:
                    self._finished += len(pending)
                    self._cond.notify_all()

    def _dispatch(self, batches: list["PreparedBatch"]) -> None:
        """Count the batches per subscribed signal, then fire the due ones in order. Histories
        are fetched with one query per signal for all of its due batches."""
        due: list[tuple[Signal, "PreparedBatch"]] = []
        for prepared in batches:
            for signal in list(self._by_column.get(prepared.batch.column, ())):
                signal.seen += 1
                if signal.enabled and signal.seen % signal.compute_every_n_steps == 0:
                    due.append((signal, prepared))
        histories: dict[int, dict] = {}
        for signal, _ in due:
            if signal.include_history and id(signal) not in histories:
                rows = np.concatenate([np.asarray(p.batch.rows, dtype=np.int64)
                                       for s, p in due if s is signal])
                histories[id(signal)] = self._query_history(signal, rows)
        for signal, prepared in due:
            if not signal.enabled:  # disabled by an earlier batch of this round
                continue
            try:
                self._fire(signal, prepared, histories.get(id(signal)))
            except Exception:
                log.exception("could not fire signal %r", signal.name)

    def _fire(self, signal: Signal, prepared: "PreparedBatch", cols: dict | None) -> None:
        session = self.session
        batch = prepared.batch
        step = int(batch.step)
        with session.lock:
            table = session.table
            rows = np.asarray(batch.rows, dtype=np.int64)
            keep = table.annotation_id[rows] == 0  # sample rows only (not instances)
            rows = rows[keep]
            ids = table.sample_id[rows].tolist()
            origins = [table.origins[c] for c in table.origin_code[rows]]
        values = np.asarray(prepared.values, dtype=np.float64)[keep]
        if not ids:
            return
        signal.fired += 1
        history = None
        if signal.include_history:
            if cols is None:
                cols = self._query_history(signal, rows)
            history = _entries(cols, rows, step, signal.include_history_metadata)
        frame = SharedFrame(session)
        if signal.batched:
            ctx = BatchSignalContext(ids, origins=origins, step=step,
                                     subscribed_values=values.copy(),
                                     subscribed_history=None if history is None else
                                     {sid: h for sid, h in zip(ids, history)},
                                     subscribe_to=signal.subscribe_to, signal_name=signal.name,
                                     session=session, dataframe=frame)
            out = self.batch_result(signal, ctx, len(ids), step)
            if out is None:
                return
        else:
            out = np.full(len(ids), np.nan)
            for i, sid in enumerate(ids):
                ctx = SignalContext(sid, origin=origins[i], step=step,
                                    subscribed_value=float(values[i]),
                                    subscribed_history=None if history is None else history[i],
                                    subscribe_to=signal.subscribe_to, signal_name=signal.name,
                                    session=session, dataframe=frame)
                value = self.sample_result(signal, ctx, step, sid)
                if value is not None:
                    out[i] = value
                if not signal.enabled:
                    break
        self.save(signal, rows, out, step)

    def sample_result(self, signal: Signal, ctx, step, sample_id) -> float | None:
        """Call a per-sample signal; its value as a float, or None (no value, or a failure)."""
        ok, result = self.call(signal, ctx, step, sample_id)
        if not ok or result is None:
            return None
        try:
            return _scalar(result)
        except (TypeError, ValueError) as exc:
            signal.calls -= 1  # the call is counted once, as the failure it turned out to be
            self.failed(signal, exc, step, sample_id)
            return None

    def batch_result(self, signal: Signal, ctx, size: int, step) -> np.ndarray | None:
        """Call a batched signal; its ``[size]`` float64 values, or None."""
        ok, result = self.call(signal, ctx, step)
        if not ok or result is None:
            return None
        try:
            return _vector(result, size)
        except (TypeError, ValueError) as exc:
            signal.calls -= 1
            self.failed(signal, exc, step)
            return None

    def save(self, signal: Signal, rows: np.ndarray, values: np.ndarray, step: int | None,
             log_values: bool | None = None) -> int:
        """Record the non-NaN ``values`` of sample-table ``rows`` (the samples the signal was
        called for, whatever origin they belong to); return how many."""
        have = ~np.isnan(values)
        n = int(have.sum())
        if n == 0:
            return 0
        if n < len(rows):
            rows, values = rows[have], values[have]
        self.session.recorder.record_rows(signal.name, rows, values, step=step,
                                          log=signal.log if log_values is None else log_values)
        return n

    def _query_history(self, signal: Signal, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Every recorded value of the subscribed signal for ``rows``: columns ``row, step,
        value`` sorted by row then step (one history query)."""
        cols = self.session.history.query_samples(rows=np.unique(rows),
                                                  signal=bare_signal_name(signal.subscribed_column))
        return {"row": cols["row"], "step": cols["step"], "value": cols["value"]}


def _entries(cols: dict[str, np.ndarray], rows: np.ndarray, step: int,
             metadata: bool) -> list[list[dict]]:
    """History entries of each of ``rows`` recorded at steps before ``step``, oldest first."""
    lo = np.searchsorted(cols["row"], rows, side="left")
    hi = np.searchsorted(cols["row"], rows, side="right")
    steps, values = cols["step"], cols["value"]
    out = []
    for a, b in zip(lo.tolist(), hi.tolist()):
        b = a + int(np.searchsorted(steps[a:b], step, side="left"))  # steps sorted per row
        v = values[a:b].tolist()
        if metadata:
            out.append([{"signal_value": x, "model_age": m}
                        for x, m in zip(v, steps[a:b].tolist())])
        else:
            out.append([{"signal_value": x} for x in v])
    return out


def _scalar(result) -> float:
    if isinstance(result, (str, bytes)):
        raise InvalidTypeError("a signal must return a number or None, got "
                               f"{type(result).__name__} {result!r}")
    if hasattr(result, "detach"):
        result = result.detach()
        if result.numel() != 1:
            raise InvalidValueError(f"a per-sample signal must return one number, got a tensor of "
                                    f"shape {tuple(result.shape)} (use batched=True for batches)")
        return float(result.item())
    if isinstance(result, np.ndarray):
        if result.size != 1:
            raise InvalidValueError(f"a per-sample signal must return one number, got an array of "
                                    f"shape {result.shape} (use batched=True for batches)")
        result = result.reshape(-1)[0]
    return float(result)


def _vector(result, size: int) -> np.ndarray:
    if isinstance(result, (str, bytes, dict)):
        raise InvalidTypeError(f"a batched signal must return {size} values (array-like), got "
                               f"{type(result).__name__}")
    if hasattr(result, "detach"):
        result = result.detach().cpu()
        if result.dtype.is_complex:
            raise InvalidTypeError("a batched signal returned complex values")
        result = result.double().numpy()
    elif isinstance(result, (list, tuple)):
        result = [np.nan if v is None else v for v in result]
    arr = np.asarray(result, dtype=np.float64)
    if arr.ndim == 0 or arr.size != size:
        raise InvalidValueError(f"a batched signal must return one value per sample ({size}), got "
                                f"shape {arr.shape}")
    return arr.reshape(size).copy()
