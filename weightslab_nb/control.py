"""Training control: the pause gate, step and epoch counters, and the background training thread.

The watched training loader calls :meth:`Controller.batch_boundary` before it fetches each
batch: that is the only place where training waits (pause) or ends (stop). The UI and the user
only set flags and return at once; they never wait for a step.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable

from weightslab_nb.errors import StateError, TrainingStopped

log = logging.getLogger(__name__)

STATES = ("idle", "running", "paused", "stopped", "error")


class Controller:
    """State of the training run of one session.

    States: ``"idle"`` (nothing started), ``"running"``, ``"paused"`` (the training thread is
    waiting at a batch boundary), ``"stopped"`` (the training function returned or a stop was
    honoured; see ``stop_reason``) and ``"error"`` (it raised; see ``error``).

    Parameters
    ----------
    on_change : callable, optional
        Called (without arguments, from the thread that changed something) after every change
        of state, step or epoch. Must be cheap: the session bumps a counter.
    """

    def __init__(self, on_change: Callable[[], None] = lambda: None,
                 resume_blocker: Callable[[], str | None] = lambda: None):
        self._on_change = on_change
        self._resume_blocker = resume_blocker
        self._cond = threading.Condition()
        self._waiters = 0  # threads inside wait_for_state / wait_for_step (under _cond)
        self._gate = threading.Event()
        self._gate.set()
        self._stop_requested = threading.Event()
        self._state = "idle"
        self.step = 0
        self.epoch = 0
        self.error: BaseException | None = None
        self.error_text: str | None = None
        self.stop_reason: str | None = None
        self._times: deque[tuple[float, int]] = deque(maxlen=64)
        self._thread: threading.Thread | None = None
        # under DDP: called at each batch boundary instead of the pause gate (the control
        # relay, which holds and stops every rank at the same boundary)
        self.boundary_hook: Callable[[], None] | None = None

    # ---------------------------------------------------------------- commands (any thread)
    @property
    def state(self) -> str:
        """One of :data:`STATES`."""
        return self._state

    @property
    def training_thread(self) -> threading.Thread | None:
        """The thread of the last :meth:`start` (alive or not), or None."""
        return self._thread

    @property
    def pause_requested(self) -> bool:
        """True while a pause was asked for (until resume), even before the thread reached the
        gate."""
        return not self._gate.is_set()

    @property
    def stop_requested(self) -> bool:
        """True from a stop request until the training thread honoured it."""
        return self._stop_requested.is_set()

    def wait_released(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a pause to end (a resume or a stop); True when no
        pause is requested (any more)."""
        return self._gate.wait(timeout)

    def pause(self) -> None:
        """Ask training to wait at the next batch boundary. Returns at once."""
        self._gate.clear()
        self._changed()

    def resume(self) -> None:
        """Let a paused run continue. Returns at once.

        Raises ``RuntimeError`` while something needs training held (an evaluation running or
        queued: the model must not train under it).
        """
        reason = self._resume_blocker()
        if reason is not None:
            raise StateError(f"resume: refused while {reason}; cancel it first, or wait for it")
        self._gate.set()
        self._changed()

    def stop(self) -> None:
        """Ask training to end at the next batch boundary (a paused run ends at once).

        Does nothing when no run is in progress (state idle, stopped or error).
        """
        if self._state not in ("running", "paused"):
            return
        self._stop_requested.set()
        self._gate.set()
        self._changed()

    def wait_for_state(self, states: str | tuple[str, ...], timeout: float | None = None) -> bool:
        """Block until the state is one of ``states``; False on timeout."""
        wanted = (states,) if isinstance(states, str) else tuple(states)
        return self._wait(lambda: self._state in wanted, timeout)

    def wait_for_step(self, step: int, timeout: float | None = None) -> bool:
        """Block until ``step`` training steps have run or training ended; True if reached."""
        self._wait(lambda: self.step >= step or self._state in ("stopped", "error"), timeout)
        return self.step >= step

    def _wait(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        # Registered as a waiter before the predicate is first checked (under the condition),
        # so a step counted after that check sees the waiter and wakes it.
        with self._cond:
            self._waiters += 1
            try:
                return self._cond.wait_for(predicate, timeout)
            finally:
                self._waiters -= 1

    def snapshot(self) -> dict:
        """A consistent dict of the state for panels and the CLI."""
        with self._cond:
            return {"state": self._state, "step": self.step, "epoch": self.epoch,
                    "steps_per_second": self._rate(), "error": self.error_text,
                    "stop_reason": self.stop_reason, "pause_requested": self.pause_requested}

    # ---------------------------------------------------------------- training thread
    def batch_boundary(self) -> None:
        """Called by the training loader before each batch: wait while paused, end on stop.

        Raises
        ------
        TrainingStopped
            When a stop was requested.
        """
        hook = self.boundary_hook
        if hook is not None:  # under DDP: the control relay decides, for every rank at once
            try:
                hook()  # holds while paused (see hold), raises TrainingStopped on a stop
            except TrainingStopped:
                self._honour_stop()
                raise
        else:
            if not self._gate.is_set():
                self._set_state("paused")
                self._gate.wait()
            if self._stop_requested.is_set():
                self._honour_stop()
                raise TrainingStopped("training stopped on request")
        if self._state != "running":
            self._set_state("running")

    def _honour_stop(self) -> None:
        self._stop_requested.clear()  # honoured once: a later loop may run again
        self.stop_reason = "requested"
        self._set_state("stopped")

    def follow(self, step: int, epoch: int) -> None:
        """Show the progress of training that runs in other processes (the ranks launched from
        a notebook): ``step`` and ``epoch`` as rank 0 reported them; waiters are woken."""
        with self._cond:
            self.step = max(self.step, int(step))
            self.epoch = max(self.epoch, int(epoch))
            self._times.append((time.perf_counter(), self.step))
            self._cond.notify_all()
        self._on_change()

    def hold(self, held: bool) -> None:
        """Under DDP, the control relay reports that every rank is held at a boundary
        (``held=True``: state ``"paused"``) or goes on (``False``: ``"running"``)."""
        self._set_state("paused" if held else "running")

    def pass_ended(self) -> None:
        """Called when a watched training loader's pass ends or is abandoned. In a loop that
        runs outside :meth:`start` (the notebook's own thread), nothing trains until the next
        pass reaches a batch boundary, so the state goes back to ``"idle"`` and a queued
        evaluation can start; the next pass waits at the pause gate it sets."""
        if threading.current_thread() is not self._thread and self._state == "running":
            self._set_state("idle")

    def advance_step(self) -> int:
        """Count one training step (one batch drawn from a training loader); return it.

        Only the training thread counts steps, so the counter is written without the lock;
        threads waiting for a step are woken only when there are some.
        """
        step = self.step = self.step + 1
        self._times.append((time.perf_counter(), step))
        if self._waiters:
            with self._cond:
                self._cond.notify_all()
        self._on_change()
        return step

    def new_epoch(self) -> None:
        """Count one epoch of a training loader (called when it starts a pass)."""
        with self._cond:
            self.epoch += 1
        self._changed()

    def _rate(self) -> float:
        if self._state != "running" or len(self._times) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self._times[0], self._times[-1]
        if time.perf_counter() - t1 > 5.0 or t1 <= t0:
            return 0.0
        return (s1 - s0) / (t1 - t0)

    def _set_state(self, state: str) -> None:
        with self._cond:
            self._state = state
            self._cond.notify_all()
        self._on_change()

    def _changed(self) -> None:
        with self._cond:
            self._cond.notify_all()
        self._on_change()

    # ---------------------------------------------------------------- background runs
    def start(self, train_fn: Callable, args: tuple, kwargs: dict) -> "TrainingHandle":
        """Run ``train_fn(*args, **kwargs)`` in the ``wl-training`` daemon thread; see
        :meth:`weightslab_nb.session.Session.start_training`."""
        if self._thread is not None and self._thread.is_alive():
            raise StateError("start_training: a training run is already in progress; "
                             "stop it (handle.stop()) before starting another")
        self._stop_requested.clear()
        self._gate.set()
        self.error = self.error_text = self.stop_reason = None
        self._set_state("running")
        handle = TrainingHandle(self)
        self._thread = threading.Thread(target=self._run, args=(train_fn, args, kwargs, handle),
                                        name="wl-training", daemon=True)
        handle.thread = self._thread
        self._thread.start()
        return handle

    def _run(self, train_fn, args, kwargs, handle: "TrainingHandle") -> None:
        try:
            handle.result = train_fn(*args, **kwargs)
            reason = "requested" if self._stop_requested.is_set() else "completed"
        except TrainingStopped:
            reason = "requested"
        except BaseException as exc:  # surfaced in the handle and the controls panel
            with self._cond:
                self.error = exc
                self.error_text = f"{type(exc).__name__}: {exc}"
                handle.traceback = traceback.format_exc()
            log.error("training function raised\n%s", handle.traceback)
            self._stop_requested.clear()
            self._set_state("error")
            return
        self._stop_requested.clear()  # a stop is honoured once
        with self._cond:
            self.stop_reason = reason
        self._set_state("stopped")

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the background training thread; True when it has ended (or none ran)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()


class TrainingHandle:
    """What :func:`weightslab_nb.start_training` returns: watch and steer one background run.

    Attributes
    ----------
    state : str
        ``"running"``, ``"paused"``, ``"stopped"`` or ``"error"``.
    step, epoch : int
        Training steps (batches drawn from a training loader) and epochs started so far.
    steps_per_second : float
        Recent throughput; 0 while paused.
    error : BaseException or None
        The exception the training function raised; ``traceback`` has its text.
    result : object
        What the training function returned (None until it has).
    """

    def __init__(self, controller: Controller):
        self._controller = controller
        self.thread: threading.Thread | None = None
        self.traceback: str | None = None
        self.result = None

    state = property(lambda self: self._controller.state)
    step = property(lambda self: self._controller.step)
    epoch = property(lambda self: self._controller.epoch)
    error = property(lambda self: self._controller.error)
    stop_reason = property(lambda self: self._controller.stop_reason)
    steps_per_second = property(lambda self: self._controller.snapshot()["steps_per_second"])

    def pause(self) -> None:
        """Pause at the next batch boundary; returns at once (see :meth:`wait_paused`)."""
        self._controller.pause()

    def resume(self) -> None:
        """Continue a paused run."""
        self._controller.resume()

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Ask the run to end at the next batch boundary and wait up to ``timeout`` seconds.

        Returns True when the thread has ended.
        """
        self._controller.stop()
        return self.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the training function to return; True when it has."""
        return self._controller.join(timeout)

    def wait_paused(self, timeout: float | None = 10.0) -> bool:
        """Wait until the training thread is held at the pause gate (or has ended)."""
        return self._controller.wait_for_state(("paused", "stopped", "error"), timeout)

    def wait_for_step(self, step: int, timeout: float | None = None) -> bool:
        """Wait until the run has done ``step`` steps; False on timeout or if it ended first."""
        return self._controller.wait_for_step(step, timeout)

    def raise_error(self) -> None:
        """Re-raise the training function's exception in the caller's thread, if it raised."""
        if self._controller.error is not None:
            raise self._controller.error

    def __repr__(self) -> str:
        snap = self._controller.snapshot()
        extra = f", error={snap['error']!r}" if snap["error"] else ""
        return (f"<TrainingHandle {snap['state']} step={snap['step']} epoch={snap['epoch']} "
                f"{snap['steps_per_second']:.1f} steps/s{extra}>")
