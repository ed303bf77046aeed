"""SweepView: the trials of a hyperparameter sweep, live, as a table and a scatter.

The panel reads the sweep's Optuna study (:mod:`weightslab_nb.tracking.sweeps`) on its
publisher thread, at most once a second, and publishes one row per trial. Reading the study
never happens on the training thread nor on the kernel's message thread: an agent in the
background (``wl.agent(..., background=True)``) trains while the table grows. A trial that a
crashed agent left behind and that was queued again, and a surplus trial (two agents raced on
a grid point), are not shown: the retry takes its place.

Protocol (browser view: ``js/src/sweeps.ts``)
---------------------------------------------
browser -> Python
    ``{"type": "trial", "req", "number"}``: ``number`` one of the rows' trial numbers. Reply
    ``{"type": "trial_result", "req", "ok": true, "number", "run", "run_dir"}`` (``run``:
    ``"project/run_id"`` of the trial's run, ``run_dir`` its folder; both "" before the
    trial's ``wl.init``). An unknown number or a malformed message answers ``ok: false``.
    ``{"type": "clear_error"}``.
Traits
    ``trials``: ``[{"number", "run", "state", "params", "value", "intermediate",
    "duration"}]``, oldest first: ``state`` one of ``running``, ``finished``, ``pruned``,
    ``failed``, ``queued``; ``params`` parameter name -> value (JSON; a list or dict choice
    is shown as its JSON text); ``value`` the metric (for a running or pruned trial the last
    value it reported, then ``intermediate`` is true); ``duration`` seconds (a running trial:
    so far), or None.
    ``metric``: ``{"name", "goal"}`` (name "" when the sweep has no metric); ``parameters``:
    the parameter names, in the config's order; ``best``: the number of the finished trial
    with the best metric, or None; ``sweep``: ``{"id", "project", "name", "method",
    "expected"}`` (``expected``: the trial count, None when unbounded).
"""

from __future__ import annotations

import datetime
import json
import math

import traitlets

from weightslab_nb.errors import InvalidTypeError
from weightslab_nb.panels._base import Panel, static_asset
from weightslab_nb.panels.messages import MessageError, int_field

#: Optuna trial state name -> the state the panel shows.
STATES = {"RUNNING": "running", "COMPLETE": "finished", "PRUNED": "pruned", "FAIL": "failed",
          "WAITING": "queued"}


def _json(value):
    """A parameter value as JSON: numbers, strings, bools and None as they are (non-finite
    floats as text), anything else as its JSON text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _seconds(start, end) -> float | None:
    if start is None:
        return None
    end = end or datetime.datetime.now()
    return max(0.0, (end - start).total_seconds())


class SweepView(Panel):
    """The trials of a sweep: parameters, metric, state and duration; the best one marked.

    Parameters
    ----------
    sweep_id : str
        ``"id"`` or ``"project/id"`` (what ``wl.sweep`` returned).
    session : Session
        Keyword only; used only to find the sweep (its ``root_log_dir``).
        ``wl.SweepView(sweep_id)`` passes the current one.
    dir : str or Path, optional
        Where to look for the sweep, as for ``wl.agent`` (default: ``./weightslab_runs`` and
        the session's ``root_log_dir``).
    storage : str, optional
        The sweep's database URL (a sweep whose study lives on a server).

    Raises
    ------
    UnknownNameError
        No such sweep.
    InvalidValueError, InvalidTypeError
        A malformed ``sweep_id``.
    """

    _esm = static_asset("sweeps.js")
    _css = static_asset("sweeps.css")
    _poll_interval = 1.0  # reading the study: at most 1 Hz
    _reply_types = {"trial": "trial_result"}

    trials = traitlets.List().tag(sync=True)
    metric = traitlets.Dict().tag(sync=True)
    parameters = traitlets.List().tag(sync=True)
    best = traitlets.Int(None, allow_none=True).tag(sync=True)
    sweep = traitlets.Dict().tag(sync=True)

    def __init__(self, sweep_id: str, *, session, dir=None, storage: str | None = None,
                 **kwargs):
        from weightslab_nb.tracking.api import Api
        from weightslab_nb.tracking.sweeps.study import find_sweep, split_path

        if not isinstance(sweep_id, str):
            raise InvalidTypeError(f"sweep_id: expected a string such as 'abc123xy' or "
                                   f"'project/abc123xy', got {sweep_id!r}")
        split_path(sweep_id)
        roots = Api(root=dir, session=session).roots
        self._handle = find_sweep(sweep_id, roots, storage)
        self._study = None
        self._seen = None
        self._runs: dict[int, tuple[str, str]] = {}
        spec = self._handle.spec
        super().__init__(
            session, metric={"name": spec.metric or "", "goal": spec.goal},
            parameters=[p.name for p in spec.parameters],
            sweep={"id": self._handle.id, "project": self._handle.project,
                   "name": spec.name or self._handle.id, "method": spec.method,
                   "expected": spec.expected_run_count}, **kwargs)

    def _handlers(self) -> dict:
        return {"trial": self._on_trial}

    # ---------------------------------------------------------------- publisher thread
    def _poll(self):
        if self._study is None:
            self._study = self._handle.study()
        trials = [t for t in self._study.get_trials(deepcopy=False)
                  if not t.user_attrs.get("wl_surplus") and not t.user_attrs.get("wl_crashed")]
        rows = [self._row(t) for t in trials]
        self._runs = {t.number: (str(t.user_attrs.get("wl_run") or ""),
                                 str(t.user_attrs.get("wl_run_dir") or "")) for t in trials}
        best = self._best(rows)
        key = json.dumps([rows, best], sort_keys=True, default=str)
        if key == self._seen:
            return None
        self._seen = key
        return {"trials": rows, "best": best}

    def _row(self, trial) -> dict:
        state = STATES.get(trial.state.name, trial.state.name.lower())
        value = _number(trial.value) if trial.state.name == "COMPLETE" else None
        intermediate = False
        if value is None and trial.intermediate_values:
            value = _number(trial.intermediate_values[max(trial.intermediate_values)])
            intermediate = value is not None
        params = {}
        for p in self._handle.spec.parameters:
            raw = trial.params.get(p.name)
            choices = p.grid_values() if self._handle.spec.method == "grid" else list(p.choices)
            if (p.kind in ("categorical", "int_uniform") and isinstance(raw, int)
                    and choices and not all(v is None or isinstance(v, (bool, int, float, str))
                                            for v in choices) and 0 <= raw < len(choices)):
                raw = choices[raw]  # Optuna stored the index of a list or dict choice
            params[p.name] = _json(raw)
        return {"number": trial.number, "run": str(trial.user_attrs.get("wl_run") or ""),
                "state": state, "params": params, "value": value,
                "intermediate": intermediate,
                "duration": _seconds(trial.datetime_start, trial.datetime_complete)}

    def _best(self, rows: list[dict]) -> int | None:
        done = [r for r in rows if r["state"] == "finished" and r["value"] is not None]
        spec = self._handle.spec
        if not done or not spec.metric:
            return None
        pick = max if spec.goal == "maximize" else min
        return pick(done, key=lambda r: r["value"])["number"]

    # ---------------------------------------------------------------- messages
    def _on_trial(self, msg: dict):
        number = int_field(msg, "number", required=True)
        runs = dict(self._runs)
        if number not in runs:
            raise MessageError(f"number: no trial {number} in sweep {self._handle.id!r}; "
                               f"trials: {sorted(runs)}")
        run, run_dir = runs[number]
        return {"number": number, "run": run, "run_dir": run_dir}
