"""The publisher: the one thread that writes a panel's traits.

Each panel owns one :class:`Publisher`. Its thread wakes on a timer (or when woken), calls the
panel's ``poll()`` at most every ``interval`` seconds (``poll`` reads ``session.changes``
counters, collects what changed and may send custom messages), applies trait changes inside
``widget.hold_sync()`` (one comm message per tick) and never ticks more often than every
``min_interval`` seconds. Message handlers on other threads do not set traits themselves: they
:meth:`Publisher.push` changes (and errors) that the next tick applies. Exceptions are logged and
shown in the panel's ``error`` trait; they never leave the thread, so training is never disturbed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from weightslab_nb.errors import InvalidValueError

log = logging.getLogger(__name__)

Poll = Callable[[], "dict | None"]


class Publisher:
    """Rate-limited, single-writer trait updates for one widget.

    Parameters
    ----------
    widget : ipywidgets.Widget
        Must have an ``error`` Unicode trait.
    poll : callable
        ``poll() -> dict | None``: trait name -> new value. Runs on the publisher thread only.
    interval : float
        Seconds between polls (0.1 -> at most 10 Hz).
    min_interval : float, default 0.1
        Seconds between two ticks, whatever wakes the thread.
    name : str
        Thread name (shown in debuggers and ``threading.enumerate()``).
    """

    def __init__(self, widget, poll: Poll, *, interval: float, min_interval: float = 0.1,
                 name: str = "wl-publisher"):
        if interval <= 0 or min_interval < 0:
            raise InvalidValueError("interval must be > 0 and min_interval >= 0")
        self._widget = widget
        self._poll = poll
        self.interval = float(interval)
        self.min_interval = float(min_interval)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._pending: dict = {}
        self._errors: dict[str, str] = {}
        self._errors_dirty = False
        self._requested = 0  # flush requests issued
        self._done = 0  # flush requests completed
        self._force_poll = False
        self._next_poll = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._last_logged: str | None = None
        self.ticks = 0
        self.polls = 0

    # ---------------------------------------------------------------- any thread
    def start(self) -> "Publisher":
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def push(self, **changes) -> None:
        """Queue trait changes; the next tick applies them (the last value per trait wins)."""
        with self._lock:
            self._pending.update(changes)
        self._wake.set()

    def set_error(self, source: str, text: str) -> None:
        """Show ``text`` in the panel's ``error`` trait under ``source`` ("" clears that source)."""
        with self._lock:
            if text:
                self._errors[source] = text
            else:
                self._errors.pop(source, None)
            self._errors_dirty = True
        self._wake.set()

    def clear_errors(self) -> None:
        with self._lock:
            self._errors.clear()
            self._errors_dirty = True
        self._wake.set()

    def wake(self) -> None:
        """Tick soon (still respecting ``min_interval``) and poll even if not due."""
        with self._lock:
            self._force_poll = True
        self._wake.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """Block until everything pushed so far is applied and a poll has run after this call.

        Returns False on timeout or when the thread is not running. Meant for tests and
        notebook cells; the panels themselves never wait.
        """
        if not self._thread.is_alive():
            return False
        with self._cond:
            self._requested += 1
            target = self._requested
            self._force_poll = True
        self._wake.set()
        with self._cond:
            return self._cond.wait_for(lambda: self._done >= target or not self._thread.is_alive(),
                                       timeout) and self._done >= target

    def close(self, timeout: float = 5.0) -> bool:
        """Stop the thread after a final poll and flush; True when it has ended."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # ---------------------------------------------------------------- publisher thread
    def _run(self) -> None:
        while not self._stop.is_set():
            if self._widget_closed():
                break
            self._wake.wait(timeout=max(0.0, self._next_poll - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                break
            self._tick()
            self._stop.wait(self.min_interval)
        if not self._widget_closed():
            self._tick(final=True)  # the final state always reaches the view
        with self._cond:
            self._done = self._requested
            self._cond.notify_all()

    def _widget_closed(self) -> bool:
        return getattr(self._widget, "comm", None) is None

    def _tick(self, final: bool = False) -> None:
        with self._lock:
            target = self._requested
            poll = final or self._force_poll or time.monotonic() >= self._next_poll
            self._force_poll = False
        if poll:
            self._next_poll = time.monotonic() + self.interval
        changes: dict = {}
        if poll:
            try:
                changes.update(self._poll() or {})
                self.polls += 1
                self._last_logged = None
                with self._lock:
                    if self._errors.pop("publisher", None) is not None:
                        self._errors_dirty = True
            except Exception as exc:  # never leave the thread: training must go on
                text = f"panel update failed: {type(exc).__name__}: {exc}"
                if text != self._last_logged:
                    log.exception("%s: poll failed", self._thread.name)
                    self._last_logged = text
                with self._lock:
                    if self._errors.get("publisher") != text:
                        self._errors["publisher"] = text
                        self._errors_dirty = True
        with self._lock:
            pending, self._pending = self._pending, {}
            changes = {**changes, **pending}
            if self._errors_dirty:
                changes["error"] = "\n".join(v for v in self._errors.values() if v)
                self._errors_dirty = False
        if changes:
            self._apply(changes)
        self.ticks += 1
        with self._cond:
            self._done = max(self._done, target)
            self._cond.notify_all()

    def _apply(self, changes: dict) -> None:
        if self._widget_closed():
            return
        try:
            with self._widget.hold_sync():
                for name, value in changes.items():
                    setattr(self._widget, name, value)
        except Exception:
            log.exception("%s: applying %s failed", self._thread.name, sorted(changes))
