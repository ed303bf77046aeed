"""weightslab_nb: inspect and steer PyTorch training from inside a Jupyter notebook.

``import weightslab_nb as wl`` starts nothing: no threads, no files, no torch import. The first
call that needs a session creates one (``wl.current_session()``).

This package's ``__init__`` and :mod:`weightslab_nb.api` are the facade (layer L3, see
DESIGN.md): the only code that looks up the current session. Importing it imports the feature
modules, which registers them with :class:`~weightslab_nb.session.Session`.
"""

from __future__ import annotations

from weightslab_nb import watch as _watch  # noqa: F401 (registers watch_or_edit with Session)
from weightslab_nb import steering as _steering  # noqa: F401 (registers the steering feature)
from weightslab_nb import distributed as _distributed  # noqa: F401 (registers "launch")
from weightslab_nb.api import (apply_data_state, auto_tag_loss_shapes, collect_metrics,
                               compute_signals, connect, dashboard, discard_samples, eval_fn,
                               finish, log_data_state, log_model, use_model,
                               get_current_experiment_hash, get_discarded_samples,
                               get_samples_by_tag, init, log, log_artifact,
                               query_instance_history, query_sample_history,
                               query_signal_history, register_categorical_tag,
                               request_evaluation, run_command, run_pending_evaluation,
                               save_instance_signals,
                               save_signals, selection_frame, serve, set_categorical_tag,
                               show_sample, signal, start_training,
                               suspects, sweep, agent, tag_loss_shapes_now, tag_samples,
                               use_artifact,
                               watch_or_edit,
                               write_dataframe, write_history)
from weightslab_nb.api import open_run as open  # noqa: A001, F401 (wl.open; not in __all__, see there)
from weightslab_nb.errors import ReadOnlyError
from weightslab_nb.errors import (AmbiguousSampleError, ArgumentError, InvalidTypeError,
                                  InvalidValueError, RankError, StateError, TrainingStopped,
                                  UnknownNameError, UnknownSampleError, WeightslabError)
from weightslab_nb.evaluation import EvaluationRequest
from weightslab_nb.ledger.ids import SampleRef
from weightslab_nb.loss_shapes import LOSS_SHAPE_LABELS, classify_loss_shape
from weightslab_nb.serving import keep_serving, stop_serving
from weightslab_nb.session import Session, current_session, new_session, set_current_session
from weightslab_nb.signals import BatchSignalContext, SignalContext

__version__ = "0.1.0"

# panels import anywidget/ipywidgets and tracking media PIL: loaded only when asked for
_PANELS = {"LossCurves": "curves", "SampleGrid": "grid", "TagEditor": "tags",
           "TrainingControls": "controls", "HyperParameterEditor": "hparams", "RunMedia": "media",
           "SweepView": "sweeps"}
_MEDIA = ("Image", "Histogram", "Table", "Html", "Audio", "Video", "Object3D", "Molecule",
          "Plotly", "Graph", "Node", "Edge", "BoundingBoxes2D", "ImageMask", "JSONMetadata",
          "WBValue", "Media", "BatchableMedia")
_SUBMODULES = ("tracking", "metrics", "serving", "commands")
_bound: dict[str, type] = {}


def __getattr__(name: str):
    import importlib

    from weightslab_nb.api import on_current_session

    if name in _MEDIA:
        return getattr(importlib.import_module("weightslab_nb.tracking.media"), name)
    if name == "Artifact":  # wl.Artifact(name, type): versioned files (tracking.artifacts)
        return importlib.import_module("weightslab_nb.tracking.artifacts").Artifact
    if name in ("plot_table", "register_vega_spec"):  # custom charts: a Vega-Lite spec + a Table
        return getattr(importlib.import_module("weightslab_nb.tracking.media"), name)
    if name == "plot":  # the chart builders: wl.plot.line(...), wl.plot.roc_curve(...)
        return importlib.import_module("weightslab_nb.tracking.plot")
    if name in _SUBMODULES:
        return importlib.import_module(f"weightslab_nb.{name}")
    if name in _PANELS or name == "Api":
        if name not in _bound:  # the class, with the current session as its default session
            if name == "Api":
                _bound[name] = on_current_session(
                    importlib.import_module("weightslab_nb.tracking.api").Api, create=False)
            else:
                module = importlib.import_module(f"weightslab_nb.panels.{_PANELS[name]}")
                _bound[name] = on_current_session(getattr(module, name))
        return _bound[name]
    raise AttributeError(f"module 'weightslab_nb' has no attribute {name!r}")


__all__ = [
    "watch_or_edit", "save_signals", "tag_samples", "register_categorical_tag",
    "set_categorical_tag", "discard_samples", "get_samples_by_tag", "get_discarded_samples",
    "query_signal_history", "query_sample_history", "get_current_experiment_hash",
    "start_training", "save_instance_signals", "query_instance_history", "write_history",
    "write_dataframe", "selection_frame", "Session", "current_session", "new_session", "set_current_session",
    "TrainingStopped", "UnknownSampleError", "signal", "compute_signals", "SignalContext",
    "BatchSignalContext", "auto_tag_loss_shapes", "tag_loss_shapes_now", "suspects",
    "request_evaluation", "run_pending_evaluation", "connect", "log_data_state",
    "apply_data_state", "log_model", "use_model",
    "eval_fn", "EvaluationRequest", "classify_loss_shape", "LOSS_SHAPE_LABELS", "serve",
    "keep_serving", "stop_serving", "dashboard", *_PANELS, "init", "log", "finish", "Api",
    *_MEDIA, "collect_metrics", "plot", "plot_table", "register_vega_spec", "WeightslabError",
    "InvalidValueError", "InvalidTypeError", "UnknownNameError", "AmbiguousSampleError",
    "StateError",
    "ArgumentError", "RankError", "SampleRef", "run_command", "show_sample",
    "Artifact", "log_artifact", "use_artifact", "sweep", "agent",
    "ReadOnlyError",  # not "open": ``from weightslab_nb import *`` must not hide the builtin
]
