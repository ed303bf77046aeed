"""``Api().sweep(path)``: a sweep read back, with its runs and its best run.

The runs of a sweep are the runs whose ``run.json`` names it (wherever they were logged,
under the roots the :class:`~weightslab_nb.tracking.api.Api` searches); the state and
expected run count come from its Optuna study.
"""

from __future__ import annotations

from typing import Callable

from weightslab_nb.errors import InvalidValueError
from weightslab_nb.tracking.dotted import lookup
from weightslab_nb.tracking.sweeps.study import SweepHandle


class Sweep:
    """A sweep: ``id``, ``project``, ``name``, ``config`` (the wandb config as given),
    ``path`` (``"project/id"``), ``url``, ``runs``, ``state``, ``expected_run_count``,
    :meth:`best_run`.

    Made by :meth:`Api.sweep <weightslab_nb.tracking.api.Api.sweep>`; ``runs_of(order)``
    returns the sweep's runs (an ``Api`` ``Runs`` list) in ``order``.
    """

    entity = None

    def __init__(self, handle: SweepHandle, runs_of: Callable):
        self._handle = handle
        self._runs_of = runs_of
        self.id, self.project = handle.id, handle.project
        self.config = dict(handle.spec.config)

    @property
    def name(self) -> str:
        """The config's ``name``, else the id."""
        return self._handle.spec.name or self.id

    @property
    def path(self) -> str:
        """``"<project>/<id>"``: what ``Api().sweep`` and ``wl.agent`` take."""
        return f"{self.project}/{self.id}"

    @property
    def url(self) -> str:
        """A ``file://`` URL of the sweep's folder (its storage URL when it has none here)."""
        if self._handle.dir is None:
            return self._handle.storage_url
        return self._handle.dir.resolve().as_uri()

    @property
    def storage(self) -> str:
        """The SQLAlchemy URL of the sweep's Optuna study (give it to ``wl.agent(...,
        storage=)`` on another machine)."""
        return self._handle.storage_url

    @property
    def runs(self):
        """The runs of the sweep's trials, oldest first (read now)."""
        return self._runs_of("+created_at")

    @property
    def order(self) -> str | None:
        """The order of :meth:`best_run` by default: the metric, best first (None without a
        metric)."""
        spec = self._handle.spec
        if spec.metric is None:
            return None
        return ("-" if spec.goal == "maximize" else "+") + f"summary_metrics.{spec.metric}"

    def best_run(self, order: str | None = None):
        """The run with the best value of ``order`` (default :attr:`order`: the sweep's
        metric in its goal's direction) among the runs that have it, or None.

        Raises
        ------
        InvalidValueError
            No ``order`` and the sweep has no metric, or a malformed ``order``.
        """
        order = order if order is not None else self.order
        if order is None:
            raise InvalidValueError("order: the sweep has no metric; pass an order such as "
                                    "'-summary_metrics.acc'")
        if not isinstance(order, str) or not order.lstrip("+-"):
            raise InvalidValueError(f"order: expected a key such as '-summary_metrics.acc', "
                                    f"got {order!r}")
        key = order.lstrip("+-")
        for run in self._runs_of(order):
            if lookup(run.record(), key) is not None:
                return run
        return None

    @property
    def state(self) -> str:
        """``"running"`` (a trial runs), ``"finished"`` (nothing left to run: every grid
        point, ``run_cap`` or ``metric.target`` reached) or ``"pending"`` (waiting for an
        agent)."""
        from optuna.trial import TrialState

        from weightslab_nb.tracking.sweeps.agent import sweep_done

        study = self._handle.study()
        if any(t.state == TrialState.RUNNING for t in study.get_trials(deepcopy=False)):
            return "running"
        return "finished" if sweep_done(self._handle, study) else "pending"

    @property
    def expected_run_count(self) -> int | None:
        """The trials the sweep runs in all (the grid's size, or ``run_cap``); None when
        unbounded."""
        return self._handle.spec.expected_run_count

    def load(self, force: bool = False) -> None:
        """Nothing to do: every property reads the files (kept for compatibility)."""

    def __repr__(self) -> str:
        return f"<Sweep {self.path} name={self.name!r} method={self._handle.spec.method}>"
