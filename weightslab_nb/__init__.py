"""weightslab_nb: inspect and steer PyTorch training from inside a Jupyter notebook.

``import weightslab_nb as wl`` starts nothing: no threads, no files, no torch import. The first
call that needs a session creates one (``wl.current_session()``).
"""

from __future__ import annotations

from weightslab_nb.api import auto_tag_loss_shapes, compute_signals, signal
from weightslab_nb.api import (discard_samples, get_current_experiment_hash,
                               get_discarded_samples, get_samples_by_tag, query_instance_history,
                               query_sample_history, query_signal_history,
                               register_categorical_tag, save_instance_signals, save_signals,
                               set_categorical_tag, start_training, tag_samples, watch_or_edit,
                               write_dataframe, write_history)
from weightslab_nb.api import request_evaluation, run_pending_evaluation
from weightslab_nb.errors import TrainingStopped, UnknownSampleError
from weightslab_nb.evaluation import EvaluationRequest, eval_fn
from weightslab_nb.loss_shapes import LOSS_SHAPE_LABELS, classify_loss_shape
from weightslab_nb.session import Session, current_session, new_session, set_current_session
from weightslab_nb.signals import BatchSignalContext, SignalContext

__version__ = "0.1.0"

_PANELS = {"dashboard": "dashboard", "LossCurves": "curves", "SampleGrid": "grid",
           "TagEditor": "tags", "TrainingControls": "controls",
           "HyperParameterEditor": "hparams", "RunMedia": "media"}


_SERVING = ("serve", "keep_serving", "stop_serving")
_TRACKING = ("init", "log", "finish", "Api", "Image", "Histogram", "Table", "Html", "Audio",
             "Video", "Object3D")
_SUBMODULES = ("tracking", "metrics", "serving")


def __getattr__(name: str):
    # panels import anywidget/ipywidgets, serving the HTTP server, tracking PIL: load them only
    # when asked for
    import importlib

    if name in _SERVING:
        import weightslab_nb.serving as serving

        return getattr(serving, name)
    if name in _TRACKING:
        return getattr(importlib.import_module("weightslab_nb.tracking"), name)
    if name == "collect_metrics":
        return importlib.import_module("weightslab_nb.metrics").collect_metrics
    if name == "plot":  # the chart builders: wl.plot.line(...), wl.plot.roc_curve(...)
        return importlib.import_module("weightslab_nb.tracking.plot")
    if name in _SUBMODULES:
        return importlib.import_module(f"weightslab_nb.{name}")
    if name in _PANELS:
        module = importlib.import_module(f"weightslab_nb.panels.{_PANELS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'weightslab_nb' has no attribute {name!r}")


__all__ = [
    "watch_or_edit", "save_signals", "tag_samples", "register_categorical_tag",
    "set_categorical_tag", "discard_samples", "get_samples_by_tag", "get_discarded_samples",
    "query_signal_history", "query_sample_history", "get_current_experiment_hash",
    "start_training", "save_instance_signals", "query_instance_history", "write_history",
    "write_dataframe", "Session", "current_session", "new_session", "set_current_session",
    "TrainingStopped", "UnknownSampleError", "signal", "compute_signals", "SignalContext",
    "BatchSignalContext", "auto_tag_loss_shapes", "request_evaluation", "run_pending_evaluation",
    "eval_fn", "EvaluationRequest", "classify_loss_shape", "LOSS_SHAPE_LABELS", *_SERVING,
    *_PANELS, *_TRACKING, "collect_metrics", "plot",
]
