"""The trial an agent runs in this thread, for ``wl.init`` to pick up.

:func:`~weightslab_nb.tracking.sweeps.agent.agent` sets a :class:`PendingTrial` before it
calls the user's function; :func:`weightslab_nb.tracking.run.init` takes it (once) and
starts the trial's run: the trial's config over the config given, the sweep id in
``run.json``, the trial's run class (which reports the metric for pruning). Kept apart from
the agent so that ``tracking.run`` needs neither Optuna nor the agent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

_local = threading.local()


@dataclass
class PendingTrial:
    """What a trial's run is started with.

    ``config``: the trial's parameters; ``sweep_id``, ``project``; ``run_class``: the
    :class:`~weightslab_nb.tracking.run.Run` subclass to create; ``started``: called with the
    run once it exists; ``run``: that run (None until ``wl.init`` was called).
    """

    config: dict
    sweep_id: str
    project: str
    run_class: type
    started: Callable = field(default=lambda run: None)
    run: object = None


def set_pending(trial: PendingTrial | None) -> None:
    """Make ``trial`` the one the next ``wl.init`` of this thread starts (None: none)."""
    _local.trial = trial


def pending() -> PendingTrial | None:
    """The trial of this thread still waiting for its run, or None."""
    trial = getattr(_local, "trial", None)
    return trial if trial is not None and trial.run is None else None
