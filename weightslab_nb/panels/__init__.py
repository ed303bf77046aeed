"""Live notebook panels (anywidget) over a :class:`~weightslab_nb.session.Session`.

Each panel has one publisher thread started in its ``__init__`` (nothing starts at import) and
a ``close()`` that stops it. The views are ESM bundles built from ``js/`` into
``weightslab_nb/static/``.
"""

from __future__ import annotations

from weightslab_nb.panels.controls import TrainingControls
from weightslab_nb.panels.curves import LossCurves
from weightslab_nb.panels.dashboard import Dashboard, dashboard
from weightslab_nb.panels.grid import SampleGrid
from weightslab_nb.panels.hparams import HyperParameterEditor
from weightslab_nb.panels.media import RunMedia
from weightslab_nb.panels.sweeps import SweepView
from weightslab_nb.panels.tags import TagEditor

__all__ = ["LossCurves", "SampleGrid", "TagEditor", "TrainingControls", "HyperParameterEditor",
           "RunMedia", "SweepView", "Dashboard", "dashboard"]
