"""Hyperparameter sweeps in the wandb style, searched by Optuna.

* :mod:`~weightslab_nb.tracking.sweeps.config`: the wandb sweep configuration, checked.
* :mod:`~weightslab_nb.tracking.sweeps.study`: a sweep on disk and its Optuna study
  (``<root>/sweeps/<id>/``; SQLite by default, any SQLAlchemy URL with ``storage=``).
* :mod:`~weightslab_nb.tracking.sweeps.agent`: ``agent``, running trials as runs.
* :mod:`~weightslab_nb.tracking.sweeps.context`: the trial ``wl.init`` starts in an agent.
* :mod:`~weightslab_nb.tracking.sweeps.query`: ``Sweep``, what ``Api.sweep`` returns.

Nothing here imports Optuna until a sweep is created, loaded or run.
"""
