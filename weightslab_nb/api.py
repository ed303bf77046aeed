"""Module-level functions: each acts on the current session (see ``session.current_session``)."""

from __future__ import annotations

import functools
import inspect

from weightslab_nb.session import Session, current_session


def _on_current(name: str):
    method = getattr(Session, name)

    @functools.wraps(method)
    def call(*args, **kwargs):
        return getattr(current_session(), name)(*args, **kwargs)

    sig = inspect.signature(method)
    call.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])
    call.__doc__ = (method.__doc__ or "") + "\n\n    Acts on the current session.\n"
    return call


watch_or_edit = _on_current("watch_or_edit")
save_signals = _on_current("save_signals")
tag_samples = _on_current("tag_samples")
register_categorical_tag = _on_current("register_categorical_tag")
set_categorical_tag = _on_current("set_categorical_tag")
discard_samples = _on_current("discard_samples")
get_samples_by_tag = _on_current("get_samples_by_tag")
get_discarded_samples = _on_current("get_discarded_samples")
query_signal_history = _on_current("query_signal_history")
query_sample_history = _on_current("query_sample_history")
get_current_experiment_hash = _on_current("get_current_experiment_hash")
start_training = _on_current("start_training")
save_instance_signals = _on_current("save_instance_signals")
query_instance_history = _on_current("query_instance_history")
write_history = _on_current("write_history")
request_evaluation = _on_current("request_evaluation")
run_pending_evaluation = _on_current("run_pending_evaluation")
write_dataframe = _on_current("write_dataframe")

# custom signals: module functions that take session=None (the current session)
from weightslab_nb.loss_shapes import auto_tag_loss_shapes  # noqa: E402, F401 (re-exported)
from weightslab_nb.signals import compute_signals, signal  # noqa: E402, F401 (re-exported)
