"""``watch_or_edit``: register PyTorch objects with a session and wrap them where needed."""

from __future__ import annotations

from weightslab_nb.arguments import check_bool, check_name, check_optional_name, check_path
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
    """See :meth:`weightslab_nb.session.Session.watch_or_edit`.

    Every keyword is checked strictly before anything is registered: flags are ``True`` or
    ``False`` (``per_sample="no"`` is refused, not read as True), names are non-empty strings
    (``signal_name=""`` is refused, not replaced by a default).
    """
    kind = resolve_kind(obj, flag)
    obj_name = check_optional_name(obj_name, "obj_name")
    if kind == "signal":  # flag=None resolves to "signal" only for a torch loss
        return _signal(session, obj, obj_name, kwargs, is_loss=flag in (None, "loss"))
    return _BUILDERS[kind](session, obj, obj_name, kwargs)


def _model(session, obj, name, kwargs):
    import torch

    if not isinstance(obj, torch.nn.Module):
        raise InvalidTypeError("obj: flag='model' expects a torch.nn.Module, got "
                               f"{type(obj).__name__}")
    device = kwargs.pop("device", None)
    _no_extra("model", kwargs)
    if device is not None:
        device = _device(device)
        try:
            obj = obj.to(device)
        except (RuntimeError, AssertionError) as exc:  # torch built without that backend
            raise InvalidValueError(f"device: cannot move the model to {str(device)!r} "
                                    f"({exc})"[:400]) from exc
    session.register("model", name or "model", obj)
    return obj


def _data(session, obj, name, kwargs):
    from weightslab_nb.watch.data import WatchedLoader

    loader_name = _one_name(kwargs, ("loader_name",), name, "train_loader", "a loader name")
    data_state = kwargs.pop("data_state", None)
    loader = WatchedLoader(session, obj, loader_name, **kwargs)
    session.register("data", loader_name, loader)
    if data_state is not None:  # a saved curation to train on (weightslab_nb.data_state)
        from weightslab_nb.data_state import apply_data_state

        apply_data_state(session, data_state, origin=loader.origin)
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
        session.set_root_log_dir(check_path(log_dir, "log_dir"))
    session.register("logger", name or "logger", obj)
    return obj


def _signal(session, obj, name, kwargs, is_loss: bool = False):
    from weightslab_nb.watch.metric import WatchedSignal

    signal_name = _one_name(kwargs, ("signal_name", "name"), name, type(obj).__name__,
                            "a signal name")
    per_sample = check_bool(kwargs.pop("per_sample", False), "per_sample")
    per_instance = check_bool(kwargs.pop("per_instance", False), "per_instance")
    log = check_bool(kwargs.pop("log", True), "log")
    evidence = check_bool(kwargs.pop("evidence", is_loss), "evidence")
    _no_extra("loss/metric/signal", kwargs)
    if per_sample and per_instance:
        raise InvalidValueError("per_sample, per_instance: choose one (one value per sample, or "
                                "one value per instance)")
    wrapped = WatchedSignal(session, obj, signal_name, per_sample=per_sample, log=log,
                            per_instance=per_instance, evidence=evidence)
    session.register("signal", signal_name, wrapped)
    return wrapped


def _hyperparameters(session, obj, name, kwargs):
    from weightslab_nb.steering import watch_hyperparameters

    if "name" in kwargs:  # would collide with watch_hyperparameters' own parameter
        raise InvalidTypeError("name: not a keyword of flag='hyperparameters'; pass the "
                               "registry name as obj_name=")
    # a dict, or a YAML file path with defaults= and poll_interval=
    return watch_hyperparameters(session, obj, name or "hyperparameters", **kwargs)


def _one_name(kwargs: dict, keys: tuple[str, ...], obj_name: str | None, default: str,
              what: str) -> str:
    """The name given by one of ``keys`` (popped from ``kwargs``) or ``obj_name``, checked;
    ``default`` when none is given. Two different names are refused (none would be used
    silently)."""
    given = {k: kwargs.pop(k) for k in keys if k in kwargs}
    if obj_name is not None:
        given["obj_name"] = obj_name
    for key, value in given.items():
        check_name(value, key, what)
    if len(set(given.values())) > 1:
        shown = ", ".join(f"{k}={v!r}" for k, v in given.items())
        raise InvalidValueError(f"{', '.join(given)}: two different names ({shown}); pass one")
    return next(iter(given.values()), default)


def _device(device):
    """``device`` as a ``torch.device``; a string torch cannot parse is refused naming it."""
    import torch

    if isinstance(device, torch.device):
        return device
    if isinstance(device, bool) or not isinstance(device, (str, int)):
        raise InvalidTypeError(f"device: expected a torch.device, a string such as 'cpu' or "
                               f"'cuda:0', or a GPU index, got {type(device).__name__}")
    try:
        return torch.device(device)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise InvalidValueError(f"device: {device!r} is not a device torch knows ({exc})"[:400]
                                ) from None


def _no_extra(kind: str, kwargs: dict) -> None:
    if kwargs:
        raise InvalidTypeError(f"watch_or_edit: unexpected keyword(s) {sorted(kwargs)} for {kind}")


_BUILDERS = {"model": _model, "data": _data, "optimizer": _optimizer, "logger": _logger,
             "signal": _signal, "hyperparameters": _hyperparameters}

register_feature("watch_or_edit", session_function(watch_or_edit))
