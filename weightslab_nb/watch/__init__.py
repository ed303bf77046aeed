"""``watch_or_edit``: register PyTorch objects with a session and wrap them where needed."""

from __future__ import annotations

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.session import Session, register_feature, session_function

# Each accepted flag and the kind it selects; matched exactly, never by class-name substrings.
FLAGS = {
    "model": "model",
    "data": "data", "dataset": "data", "dataloader": "data",
    "optimizer": "optimizer",
    "logger": "logger",
    "loss": "signal", "metric": "signal", "signal": "signal",
    "hyperparameters": "hyperparameters", "hp": "hyperparameters", "params": "hyperparameters",
    "parameters": "hyperparameters",
}


def resolve_kind(obj, flag: str | None) -> str:
    """The kind selected by ``flag``, or inferred from ``obj``'s type when ``flag`` is None.

    Raises
    ------
    ValueError
        For a flag that is not one of :data:`FLAGS`, or an object whose kind cannot be inferred.
    """
    if flag is not None:
        if not isinstance(flag, str) or flag not in FLAGS:
            raise InvalidValueError(f"flag: unknown flag {flag!r}; accepted: {', '.join(FLAGS)}")
        return FLAGS[flag]
    import torch
    from torch.utils.data import DataLoader, Dataset

    if isinstance(obj, (dict, str)) or hasattr(obj, "__fspath__"):
        return "hyperparameters"
    if isinstance(obj, torch.nn.modules.loss._Loss):
        return "signal"
    if isinstance(obj, torch.nn.Module):
        return "model"
    if isinstance(obj, torch.optim.Optimizer):
        return "optimizer"
    if isinstance(obj, (DataLoader, Dataset)):
        return "data"
    raise InvalidValueError(f"flag: cannot tell what a {type(obj).__name__} is; pass flag= one of "
                            f"{', '.join(FLAGS)}")


def watch_or_edit(session: Session, obj, obj_name: str | None = None, flag: str | None = None,
                  **kwargs):
    """See :meth:`weightslab_nb.session.Session.watch_or_edit`."""
    kind = resolve_kind(obj, flag)
    return _BUILDERS[kind](session, obj, obj_name, kwargs)


def _model(session, obj, name, kwargs):
    import torch

    if not isinstance(obj, torch.nn.Module):
        raise InvalidTypeError("obj: flag='model' expects a torch.nn.Module, got "
                               f"{type(obj).__name__}")
    device = kwargs.pop("device", None)
    _no_extra("model", kwargs)
    if device is not None:
        obj = obj.to(device)
    session.register("model", name or "model", obj)
    return obj


def _data(session, obj, name, kwargs):
    from weightslab_nb.watch.data import WatchedLoader

    loader_name = kwargs.pop("loader_name", None) or name or "train_loader"
    loader = WatchedLoader(session, obj, loader_name, **kwargs)
    session.register("data", loader_name, loader)
    return loader


def _optimizer(session, obj, name, kwargs):
    import torch

    if not isinstance(obj, torch.optim.Optimizer):
        raise InvalidTypeError(f"obj: flag='optimizer' expects a torch.optim.Optimizer, got "
                               f"{type(obj).__name__}")
    _no_extra("optimizer", kwargs)
    session.register("optimizer", name or "optimizer", obj)
    return obj


def _logger(session, obj, name, kwargs):
    log_dir = kwargs.pop("log_dir", None)
    _no_extra("logger", kwargs)
    if log_dir is not None:
        session.set_root_log_dir(log_dir)
    session.register("logger", name or "logger", obj)
    return obj


def _signal(session, obj, name, kwargs):
    from weightslab_nb.watch.metric import WatchedSignal

    signal_name = kwargs.pop("signal_name", None) or kwargs.pop("name", None) or name \
        or type(obj).__name__
    per_sample = bool(kwargs.pop("per_sample", False))
    per_instance = bool(kwargs.pop("per_instance", False))
    log = bool(kwargs.pop("log", True))
    _no_extra("loss/metric/signal", kwargs)
    if per_sample and per_instance:
        raise InvalidValueError("per_sample, per_instance: choose one (one value per sample, or "
                                "one value per instance)")
    if not isinstance(signal_name, str) or not signal_name:
        raise InvalidValueError(f"signal_name: expected a non-empty string, got {signal_name!r}")
    wrapped = WatchedSignal(session, obj, signal_name, per_sample=per_sample, log=log,
                            per_instance=per_instance)
    session.register("signal", signal_name, wrapped)
    return wrapped


def _hyperparameters(session, obj, name, kwargs):
    from weightslab_nb.steering import watch_hyperparameters

    # a dict, or a YAML file path with defaults= and poll_interval=
    return watch_hyperparameters(session, obj, name or "hyperparameters", **kwargs)


def _no_extra(kind: str, kwargs: dict) -> None:
    if kwargs:
        raise InvalidTypeError(f"watch_or_edit: unexpected keyword(s) {sorted(kwargs)} for {kind}")


_BUILDERS = {"model": _model, "data": _data, "optimizer": _optimizer, "logger": _logger,
             "signal": _signal, "hyperparameters": _hyperparameters}

register_feature("watch_or_edit", session_function(watch_or_edit))
