"""``wl.agent``: run the trials of a sweep, each as a run, until the sweep or ``count`` ends.

One trial, in the agent's thread:

1. **Claim** (for a SQLite study under a file lock beside it, so threads and processes of
   this machine claim one at a time; a server database locks rows itself): runs whose agent
   process died on this machine are marked failed in the study and their parameters queued
   again; the agent stops when the sweep is done (every grid point taken, ``run_cap``
   trials, or ``metric.target`` reached); else ``study.ask()`` and the parameters are drawn.
2. **Run**: the user's function is called; its first ``wl.init`` starts the trial's run
   with the trial's parameters in ``run.config`` (see
   :mod:`~weightslab_nb.tracking.sweeps.context`). With ``early_terminate``, every logged
   value of the metric is reported to the trial, and when the pruner says so the ``log``
   call raises :class:`TrialPruned`, which ends the function.
3. **Tell**: the run is finished if the function left it running (``"failed"`` when the
   function raised, ``"pruned"`` when pruned); the trial gets the metric's value from the
   run's summary (pruned, or failed when the function raised, did not call ``wl.init`` or
   did not log the metric).

An exception of the function is logged and the agent goes on with the next trial (as
wandb's agent does); ``KeyboardInterrupt`` fails the trial, queues its parameters again (the
next agent runs them first) and stops the agent.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import threading
from collections.abc import Mapping

from weightslab_nb.arguments import check_optional_int
from weightslab_nb.errors import InvalidTypeError, WeightslabError
from weightslab_nb.tracking.processes import alive
from weightslab_nb.tracking.run import Run
from weightslab_nb.tracking.sweeps import context
from weightslab_nb.tracking.sweeps.study import (SweepHandle, make_pruner, make_sampler,
                                                 suggest_config)

logger = logging.getLogger(__name__)


class TrialPruned(WeightslabError):
    """Raised by ``wl.log`` in a sweep trial that the sweep's pruner stopped; the agent
    catches it and ends the run as ``"pruned"`` (let it through: do not catch it)."""


class SweepRun(Run):
    """The run of a sweep trial: a :class:`~weightslab_nb.tracking.run.Run` that reports each
    logged value of the sweep's metric to its Optuna trial when the sweep prunes."""

    trial = None          # the Optuna trial (set by the agent when the run starts)
    metric: str | None = None
    pruned = False

    def log(self, data: Mapping, step: int | None = None, commit: bool | None = None) -> None:
        """:meth:`Run.log`, then the metric's value (if in ``data``) reported to the trial.

        Raises
        ------
        TrialPruned
            The pruner stopped the trial after this value (which is logged).
        """
        super().log(data, step, commit)
        if self.metric is None or self.trial is None or self.pruned:
            return
        value = _metric_value(data, self.metric)
        if value is None:
            return
        self.trial.report(value, self._last_step or 0)
        if self.trial.should_prune():
            self.pruned = True
            raise TrialPruned(f"run {self.path}: the sweep's pruner stopped this trial at step "
                              f"{self._last_step} ({self.metric}={value:g})")


def _metric_value(data: Mapping, metric: str) -> float | None:
    value = data.get(metric) if isinstance(data, Mapping) else None
    if value is None and "/" in metric:  # {"val": {"loss": x}} logs "val/loss"
        node = data
        for part in metric.split("/"):
            node = node.get(part) if isinstance(node, Mapping) else None
        value = node
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class AgentControl:
    """Pause, resume and stop an agent between trials (a trial in progress runs to its end).

    ``wl.agent(..., background=True)`` returns a :class:`BackgroundAgent`, which has these
    methods; an agent in the foreground takes one as ``control=``.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._paused = False
        self._stopped = False

    def pause(self) -> None:
        """Start no new trial until :meth:`resume` (or :meth:`stop`)."""
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        """Let the agent start trials again."""
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stop(self) -> None:
        """End the agent after the trial in progress (none is started any more)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        """True between :meth:`pause` and :meth:`resume` (False once stopped)."""
        return self._paused and not self._stopped

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stopped

    def may_start_trial(self) -> bool:
        """Wait while paused; True when a new trial may start, False once stopped."""
        with self._cond:
            while self._paused and not self._stopped:
                self._cond.wait()
            return not self._stopped


class BackgroundAgent(AgentControl):
    """An agent running in a daemon thread (``wl.agent(..., background=True)``).

    Attributes
    ----------
    trials_run : int
        How many trials it ran so far.
    error : BaseException or None
        What ended it, if it did not end by itself or by :meth:`stop`.
    """

    def __init__(self, handle: SweepHandle, function, count: int | None):
        super().__init__()
        self.trials_run = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, args=(handle, function, count),
                                        name=f"wl-sweep-agent-{handle.id}", daemon=True)
        self._thread.start()

    def _main(self, handle, function, count) -> None:
        try:
            agent(handle, function, count, control=self)
        except BaseException as exc:  # kept for the caller (join raises nothing)
            self.error = exc
            logger.exception("sweep %s: the background agent stopped", handle.id)

    def _count(self) -> None:
        self.trials_run += 1

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the agent ended (or ``timeout`` seconds); True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        """True until the agent ended."""
        return self._thread.is_alive()

    def __repr__(self) -> str:
        state = "paused" if self.paused else "running" if self.running else "ended"
        return f"<BackgroundAgent {state} trials_run={self.trials_run}>"


def agent(handle: SweepHandle, function, count: int | None = None,
          control: AgentControl | None = None) -> int:
    """Run trials of the sweep ``handle`` with ``function`` until the sweep is done, ``count``
    trials ran, or ``control`` stopped it (checked between trials, where a pause waits).

    Parameters
    ----------
    handle : SweepHandle
        From :func:`~weightslab_nb.tracking.sweeps.study.find_sweep`.
    function : callable
        Called with no arguments once per trial; it calls ``wl.init()`` (``run.config`` holds
        the trial's parameters), trains, and logs the sweep's metric.
    count : int, optional
        The most trials this agent runs (default: until the sweep is done; a ``random`` or
        ``bayes`` sweep without ``run_cap`` is never done).

    Returns
    -------
    int
        How many trials this agent ran.

    Raises
    ------
    InvalidTypeError
        ``function`` is not callable; ``count`` is not an int >= 1 or None.
    """
    import optuna

    if not callable(function):
        raise InvalidTypeError(f"function: expected a callable, got {type(function).__name__}")
    count = check_optional_int(count, "count", minimum=1)
    storage = handle.storage()
    study = optuna.load_study(study_name=handle.id, storage=storage,
                              sampler=make_sampler(handle.spec),
                              pruner=make_pruner(handle.spec))
    done = 0
    while count is None or done < count:
        if control is not None and not control.may_start_trial():
            break
        claimed = _claim(handle, study, storage)
        if claimed is None:
            break
        _run_trial(handle, study, *claimed, function)
        done += 1
        if isinstance(control, BackgroundAgent):
            control._count()
    return done


def _claim_lock(handle: SweepHandle):
    if handle.lock_path is None:
        return contextlib.nullcontext()
    from filelock import FileLock

    return FileLock(str(handle.lock_path), thread_local=False)


def _claim(handle: SweepHandle, study, storage):
    """``(trial, config)`` of the next trial, or None when the sweep is done."""
    with _claim_lock(handle):
        _requeue_dead_trials(handle, study, storage)
        if sweep_done(handle, study):
            return None
        trial = study.ask()
        if _duplicate_grid_point(study, trial):  # a server database: two agents raced
            trial.set_user_attr("wl_surplus", True)
            _tell(study, trial, state="FAIL")
            return None
        trial.set_user_attr("wl_host", socket.gethostname())
        trial.set_user_attr("wl_pid", os.getpid())
        config = suggest_config(trial, handle.spec)
    return trial, config


def _counted(trials) -> list:
    """The trials that take a place in the sweep (a crashed trial's place goes to its
    retry; a surplus one never had one)."""
    return [t for t in trials if not t.user_attrs.get("wl_crashed") and
            not t.user_attrs.get("wl_surplus")]


def sweep_done(handle: SweepHandle, study) -> bool:
    """True when no trial is left to start: no trial is queued, and every grid point is
    taken, ``run_cap`` trials exist, or a finished trial reached ``metric.target``."""
    from optuna.trial import TrialState

    spec = handle.spec
    trials = study.get_trials(deepcopy=False)
    if any(t.state == TrialState.WAITING for t in trials):
        return False
    counted = _counted(trials)
    if spec.run_cap is not None and len(counted) >= spec.run_cap:
        return True
    if spec.target is not None:
        values = [t.value for t in trials if t.state == TrialState.COMPLETE]
        better = (lambda v: v >= spec.target) if spec.goal == "maximize" else \
            (lambda v: v <= spec.target)
        if any(better(v) for v in values):
            return True
    if spec.grid_size is not None:
        taken = {t.system_attrs.get("grid_id") for t in trials if "grid_id" in t.system_attrs}
        return len(taken) >= spec.grid_size
    return False


def _duplicate_grid_point(study, trial) -> bool:
    """True when the new ``trial`` got a grid point another trial has (agents of a server
    database asking at once for the last points)."""
    trials = study.get_trials(deepcopy=False)
    grid_id = next((t.system_attrs.get("grid_id") for t in trials if t.number == trial.number),
                   None)
    if grid_id is None:
        return False
    return any(t.system_attrs.get("grid_id") == grid_id and t.number != trial.number and
               not t.user_attrs.get("wl_surplus") for t in trials)


def _requeue_dead_trials(handle: SweepHandle, study, storage) -> None:
    """Fail the running trials whose agent process on this machine is gone, and queue their
    parameters again (the new trial runs them; the sweep does not count the dead one)."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = t.user_attrs.get("wl_pid")
        if t.user_attrs.get("wl_host") != host or not isinstance(pid, int) or alive(pid):
            continue
        complete = len(t.params) == len(handle.spec.parameters)
        try:
            if complete:
                storage.set_trial_user_attr(t._trial_id, "wl_crashed", True)
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        except UpdateFinishedTrialError:
            continue  # another agent got there first
        if complete:
            logger.warning("sweep %s: trial %d (run %s) died with its agent process %d; its "
                           "parameters are queued again", handle.id, t.number,
                           t.user_attrs.get("wl_run"), pid)
            study.enqueue_trial(dict(t.params), user_attrs={"wl_retry_of": t.number})


def _tell(study, trial, value: float | None = None, state: str | None = None) -> None:
    from optuna.trial import TrialState

    try:
        if state is None:
            study.tell(trial, value)
        else:
            study.tell(trial, state=getattr(TrialState, state))
    except RuntimeError as exc:  # GridSampler stops the study after the last point
        if "Study.stop" not in str(exc):
            raise


def _run_trial(handle: SweepHandle, study, trial, config: dict, function) -> None:
    spec = handle.spec

    def started(run) -> None:
        run.trial, run.metric = trial, (spec.metric if spec.hyperband is not None else None)
        trial.set_user_attr("wl_run", run.path)
        trial.set_user_attr("wl_run_dir", str(run.dir))

    pending = context.PendingTrial(config, handle.id, handle.project, SweepRun, started)
    context.set_pending(pending)
    failed = False
    try:
        function()
    except TrialPruned:
        pass
    except Exception:
        failed = True
        logger.exception("sweep %s: trial %d raised; the agent goes on", handle.id,
                         trial.number)
    except BaseException:  # KeyboardInterrupt...: the next agent runs these parameters
        run = pending.run
        if run is not None and run.state == "running":
            run.finish(1)
        trial.set_user_attr("wl_crashed", True)
        _tell(study, trial, state="FAIL")
        study.enqueue_trial(dict(trial.params), user_attrs={"wl_retry_of": trial.number})
        raise
    finally:
        context.set_pending(None)
    run = pending.run
    if run is None:
        logger.warning("sweep %s: trial %d: the function did not call wl.init(); the trial "
                       "is failed", handle.id, trial.number)
        _tell(study, trial, state="FAIL")
        return
    if run.state == "running":
        run.finish(1 if failed and not run.pruned else 0, pruned=run.pruned)
    if run.pruned:
        _tell(study, trial, state="PRUNED")
    elif failed:
        _tell(study, trial, state="FAIL")
    elif spec.metric is None:
        _tell(study, trial, 0.0)  # nothing to optimize: the trial counts as done
    else:
        value = _metric_value(run.summary.to_dict(), spec.metric)
        if value is None:
            logger.warning("sweep %s: run %s has no finite %r in its summary; the trial is "
                           "failed", handle.id, run.path, spec.metric)
            _tell(study, trial, state="FAIL")
        else:
            _tell(study, trial, value)
