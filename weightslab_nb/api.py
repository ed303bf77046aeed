"""The facade (layer L3): module-level functions that act on the current session.

This module and the package ``__init__`` are the only places that look up the current session
(:func:`~weightslab_nb.session.current_session`), as wandb's module-level ``wandb.log`` does;
everything below is *handed* its session. Each function here resolves the session once and
calls a :class:`~weightslab_nb.session.Session` method or a feature function with it.

The panels (anywidget, ipywidgets) are imported on first use, so ``import weightslab_nb``
stays light.
"""

from __future__ import annotations

import functools
import inspect

from weightslab_nb import data_state, evaluation, loss_shapes, offline, suspects as _suspects
from weightslab_nb import signals as custom_signals
from weightslab_nb.metrics import collect as metrics_collect
from weightslab_nb.serving import backend as serving_backend
from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.session import Session, current_session, set_current_session
from weightslab_nb.tracking import run as tracking_run


def _on_current(name: str):
    method = getattr(Session, name)

    @functools.wraps(method)
    def call(*args, **kwargs):
        return getattr(current_session(), name)(*args, **kwargs)

    sig = inspect.signature(method)
    call.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])
    call.__doc__ = (method.__doc__ or "") + "\n\n    Acts on the current session.\n"
    return call


def _documented_like(original, note: str = "Acts on the current session (or ``session=``)."):
    """Give the decorated facade function ``original``'s docstring plus ``note``."""
    def decorate(fn):
        fn.__doc__ = (original.__doc__ or "") + f"\n\n    {note}\n"
        return fn
    return decorate


def _session(session: Session | None) -> Session:
    return session if session is not None else current_session()


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
selection_frame = _on_current("selection_frame")


# ---------------------------------------------------------------- custom signals, evaluation
@_documented_like(custom_signals.signal)
def signal(name=None, subscribe_to=None, compute_every_n_steps: int = 1,
           include_history: bool = False, include_history_metadata: bool = False,
           log: bool = True, batched: bool = False, *, session: Session | None = None):
    return custom_signals.signal(_session(session), name, subscribe_to, compute_every_n_steps,
                                 include_history, include_history_metadata, log, batched)


@_documented_like(custom_signals.compute_signals,
                  "Acts on ``session=``, else the session of the watched loader given, else the "
                  "current session.")
def compute_signals(dataset_or_loader=None, origin: str | None = None, signals=None, *,
                    session: Session | None = None, progress: bool = True,
                    chunk_size: int = 256) -> dict[str, int]:
    if session is None:
        session = getattr(dataset_or_loader, "session", None)
        session = session if isinstance(session, Session) else current_session()
    return custom_signals.compute_signals(session, dataset_or_loader, origin, signals,
                                          progress=progress, chunk_size=chunk_size)


@_documented_like(loss_shapes.auto_tag_loss_shapes)
def auto_tag_loss_shapes(signal_name: str, tag: str = "loss_shape", every_n_steps: int = 25,
                         session: Session | None = None, name: str | None = None):
    return loss_shapes.auto_tag_loss_shapes(_session(session), signal_name, tag, every_n_steps,
                                            name)


@_documented_like(loss_shapes.tag_loss_shapes_now)
def tag_loss_shapes_now(signal_name: str, tag: str = "loss_shape", *,
                        session: Session | None = None) -> dict:
    return loss_shapes.tag_loss_shapes_now(_session(session), signal_name, tag)


@_documented_like(_suspects.suspects)
def suspects(origin: str = "train", method: str = "auto", k: int | None = None,
             signal: str | None = None, *, session: Session | None = None):
    return _suspects.suspects(_session(session), origin, method, k, signal)


def eval_fn(fn=None, *, session: Session | None = None):
    """Decorator: use ``fn(loader)`` instead of the default evaluation pass of the current
    session (or ``session=``); see :func:`weightslab_nb.evaluation.register_eval_fn`.

    ``@wl.eval_fn`` and ``@wl.eval_fn()`` both work; the function is returned unchanged.
    """
    def register(f):
        return evaluation.register_eval_fn(_session(session), f)

    return register if fn is None else register(fn)


# ---------------------------------------------------------------- run logging
@_documented_like(tracking_run.init)
def init(project: str | None = None, name: str | None = None, config=None, tags=None,
         notes: str | None = None, group: str | None = None, job_type: str | None = None,
         dir=None, id: str | None = None, reinit: bool = False,
         session: Session | None = None):
    return tracking_run.init(_session(session), project, name, config, tags, notes, group,
                             job_type, dir, id, reinit)


@_documented_like(tracking_run.log)
def log(data, step: int | None = None, commit: bool | None = None,
        session: Session | None = None) -> None:
    if session is None:
        session = current_session()
    run = session.run
    if run is not None and run.state == "running":
        run.log(data, step, commit)  # the common case, one call less
    else:
        tracking_run.log(session, data, step, commit)


@_documented_like(tracking_run.finish)
def finish(exit_code: int | None = None, session: Session | None = None) -> None:
    tracking_run.finish(_session(session), exit_code)


@_documented_like(tracking_run.log_artifact)
def log_artifact(artifact, aliases=None, *, name: str | None = None, type: str | None = None,
                 session: Session | None = None):
    return tracking_run.log_artifact(_session(session), artifact, aliases, name, type)


@_documented_like(tracking_run.use_artifact)
def use_artifact(artifact_or_name, type: str | None = None, *, session: Session | None = None):
    return tracking_run.use_artifact(_session(session), artifact_or_name, type)


# ---------------------------------------------------------------- sweeps
def sweep(config, project: str | None = None, *, dir=None, storage: str | None = None,
          session: Session | None = None) -> str:
    """Create a hyperparameter sweep from a wandb sweep config; return its id.

    Parameters
    ----------
    config : dict
        ``method`` (grid, random, bayes), ``metric`` ({name, goal}), ``parameters``,
        ``early_terminate`` (hyperband), ``run_cap``, ``name``: see
        :mod:`weightslab_nb.tracking.sweeps.config`.
    project : str, optional
        Default: the config's ``project``, else ``"weightslab"``.
    dir : str or Path, optional
        The root that gets ``sweeps/<id>/``; default the session's ``root_log_dir``.
    storage : str, optional
        An SQLAlchemy URL for the Optuna study (``postgresql://...``: agents on several
        machines share it); default SQLite in the sweep's folder.
    session : Session, optional
        Default the current session.

    Raises
    ------
    InvalidValueError, InvalidTypeError
        A bad config (the message names the key and what is accepted), project or storage.
    """
    from pathlib import Path

    from weightslab_nb.arguments import check_path
    from weightslab_nb.tracking.sweeps.study import create_sweep

    root = Path(check_path(dir, "dir")) if dir is not None else _session(session).root_log_dir
    return create_sweep(config, root, project, storage).id


def agent(sweep_id: str, function=None, count: int | None = None, *,
          project: str | None = None, dir=None, storage: str | None = None,
          background: bool = False, session: Session | None = None):
    """Run trials of a sweep, each as a run, in this thread; return how many ran (with
    ``background=True``: in a daemon thread, returning its ``BackgroundAgent`` at once).

    ``function`` is called once per trial with no arguments; its ``wl.init()`` starts the
    trial's run (``run.config`` holds the trial's parameters, ``run.json`` the sweep id) and
    the sweep's metric is read from the run's summary when it returns. Several agents
    (threads, processes, machines sharing ``storage``) can run one sweep: each grid point is
    run once. See :mod:`weightslab_nb.tracking.sweeps.agent`.

    Parameters
    ----------
    sweep_id : str
        ``"id"`` or ``"project/id"`` (what :func:`sweep` returned).
    function : callable
    count : int, optional
        The most trials to run (default: until the sweep is done).
    project : str, optional
        The sweep's project, for a bare ``sweep_id``.
    dir : str or Path, optional
        Where to look for the sweep (default: ``./weightslab_runs`` and the session's
        ``root_log_dir``, two levels of sub-folders deep).
    storage : str, optional
        The sweep's database URL: look the sweep up there (an agent on another machine).
    background : bool, default False
        Run in a background thread (a notebook stays free: the panels of the trial's run
        update live). The returned ``BackgroundAgent`` has ``pause()``, ``resume()``,
        ``stop()`` (all between trials), ``join(timeout)``, ``running``, ``trials_run``,
        ``error``.
    session : Session, optional
        Default the current session (only its ``root_log_dir`` is used, to find the sweep).

    Raises
    ------
    UnknownNameError
        No such sweep.
    InvalidTypeError, InvalidValueError
        A bad ``function``, ``count`` or ``sweep_id``.
    """
    from weightslab_nb.arguments import check_bool, check_optional_int
    from weightslab_nb.tracking.api import Api
    from weightslab_nb.tracking.sweeps import agent as sweep_agent
    from weightslab_nb.tracking.sweeps.study import find_sweep, split_path

    if function is None or not callable(function):
        raise InvalidTypeError(f"function: expected a callable, got {function!r}")
    if project is not None and "/" not in str(sweep_id):
        sweep_id = f"{project}/{sweep_id}"
    split_path(sweep_id)  # a malformed id is refused before anything is read
    if session is None and dir is None:
        session = current_session(create=False)
    roots = Api(root=dir, session=session).roots
    handle = find_sweep(sweep_id, roots, storage)
    if check_bool(background, "background"):
        count = check_optional_int(count, "count", minimum=1)
        return sweep_agent.BackgroundAgent(handle, function, count)
    return sweep_agent.agent(handle, function, count)


@_documented_like(metrics_collect.collect_metrics,
                  "Acts on ``session=``, else the session of the watched loader given (``table`` "
                  "or ``foreign_table_url``), else the current session.")
def collect_metrics(table, metrics_collectors, *, session: Session | None = None, **kwargs):
    if session is None:
        watched = [getattr(x, "session", None) for x in (table, kwargs.get("foreign_table_url"))]
        session = next((s for s in watched if isinstance(s, Session)), None) or current_session()
    return metrics_collect.collect_metrics(table, metrics_collectors, session=session, **kwargs)


# ---------------------------------------------------------------- the command table
def run_command(name: str, args: dict | None = None, *, session: Session | None = None):
    """Run a command of the command table (:mod:`weightslab_nb.commands`) on the current
    session (or ``session``), as the panels and ``weightslab-nb cli`` do; return its result.

    ``wl.run_command("tag_add", {"tag": "hard", "ids": [0, 1], "origin": "val"})`` tags
    validation samples 0 and 1; ``wl.run_command("commands")`` lists the commands. The same
    arguments are refused with the same error from every entry point (``source="code"``).
    """
    from weightslab_nb import commands

    return commands.run(_session(session), name, args, source="code")


# ---------------------------------------------------------------- finished runs
@_documented_like(offline.open_run, "Makes the opened session current (``wl.*`` acts on it).")
def open_run(root_log_dir, *, writable: bool = False, dataset=None) -> Session:
    return offline.open_run(root_log_dir, writable=writable, dataset=dataset).activate()


# ---------------------------------------------------------------- models
def log_model(path_or_module=None, name: str = "model", aliases=None, *,
              session: Session | None = None):
    """Log a model of the current session (or ``session``) as an artifact of type
    ``"model"``: by default the checkpoint of every watched model and optimizer the session
    writes now; see :func:`weightslab_nb.tracking.artifacts.models.log_model`."""
    from weightslab_nb.tracking.artifacts.models import log_model as log

    return log(_session(session), path_or_module, name, aliases)


def use_model(name: str, *, session: Session | None = None) -> str:
    """Download a logged model and return its file's path (``session.load_checkpoint(path)``
    loads a session checkpoint); see :func:`weightslab_nb.tracking.artifacts.models.use_model`."""
    from weightslab_nb.tracking.artifacts.models import use_model as use

    return use(_session(session), name)


# ---------------------------------------------------------------- data states
@_documented_like(data_state.log_data_state)
def log_data_state(name: str, origin: str | None = None, aliases=None, *,
                   session: Session | None = None):
    return data_state.log_data_state(_session(session), name, origin, aliases)


@_documented_like(data_state.apply_data_state)
def apply_data_state(ref, origin: str | None = None, strict: bool = False, *,
                     session: Session | None = None):
    return data_state.apply_data_state(_session(session), ref, origin, strict)


# ---------------------------------------------------------------- serving
@_documented_like(serving_backend.serve)
def serve(serving_cli: bool = False, serving_grpc: bool = False, session: Session | None = None,
          port: int = 0, **kwargs):
    return serving_backend.serve(serving_cli, serving_grpc, session=_session(session), port=port,
                                 **kwargs)


def connect(target, token: str | None = None, *, timeout: float = 30.0):
    """Attach this notebook to a training process that called ``wl.serve()``, and make the
    attached session current: module functions (``wl.tag_samples``, ``wl.discard_samples``,
    ``wl.query_sample_history``...) and ``wl.dashboard()`` then act on that run.

    ``target`` is the run's ``root_log_dir`` (its ``serving.json`` gives the port and token)
    or ``"http://127.0.0.1:PORT"`` with ``token``. See
    :func:`weightslab_nb.serving.remote.connect` for the parameters and errors.

    Returns
    -------
    RemoteSession
        ``.status()``, ``.pause()``, ``.resume()``, ``.stop()``, ``.set_hp(path, value)``, the
        module functions as methods; ``.close()`` detaches (the run goes on).
    """
    from weightslab_nb.serving.remote import connect as connect_remote

    session = connect_remote(target, token, timeout=timeout)
    set_current_session(session)
    return session


# ---------------------------------------------------------------- classes bound to the session
def on_current_session(cls: type, create: bool = True) -> type:
    """A subclass of ``cls`` whose ``session`` argument defaults to the current session (with
    ``create=False``: to the current session if there is one, else None).

    With ``create=True`` (the panel classes), a session attached with ``wl.connect`` (given or
    current) gives a mirror of the panel hosted by the run's process instead
    (:func:`weightslab_nb.serving.attached_panels.attached_panel`); positional options are
    refused then (``TypeError``), and a panel the relay does not host raises ``ValueError``."""
    def __new__(bound, *args, session=None, **kwargs):
        if args and _is_remote(args[0]):
            session, args = args[0], args[1:]
        if session is None:
            session = current_session(create=False)
        if not _is_remote(session):
            return super(bound_cls, bound).__new__(bound)
        # a run in another process: a mirror of the panel there
        from weightslab_nb.serving.attached_panels import attached_panel, kind_of

        if args:
            raise InvalidTypeError(f"{cls.__name__}: pass options by name to a panel of an "
                                   "attached run")
        return attached_panel(session.client, kind_of(cls), **kwargs)

    def __init__(self, *args, session=None, **kwargs):
        if args and isinstance(args[0], Session):
            session, args = args[0], args[1:]
        if session is None:
            session = current_session(create=create)
        cls.__init__(self, *args, session=session, **kwargs)

    __init__.__doc__ = cls.__init__.__doc__
    namespace = {"__init__": __init__, "__doc__": cls.__doc__, "__module__": cls.__module__}
    if create:  # panel classes: a remote session shows the panel of the run it is attached to
        namespace["__new__"] = __new__
    bound_cls = type(cls.__name__, (cls,), namespace)
    return bound_cls


def _is_remote(session) -> bool:
    """True for a session attached over the network (``wl.connect``)."""
    return getattr(session, "remote", False) is True


def show_sample(sample_id, origin: str | None = None, *, thumbnail=None,
                session: Session | None = None):
    """The detail view of one sample of the current session (or ``session``), as a panel:
    its input large (with masks and boxes when its targets have them), label and prediction
    with class names (``class_names=`` of the watched loader), the latest top-k probabilities
    when logits were seen, every per-sample signal's history with evaluation markers, its tags
    (editable), previous / next in the grid's default order.

    Returns the :class:`~weightslab_nb.panels.sample_view.SampleView` widget: the notebook
    shows it when it is a cell's last value (else ``display(...)`` it).

    Parameters
    ----------
    sample_id : int or str
    origin : str, optional
        The origin (or loader name) of ``sample_id``; needed when several origins hold it.
    thumbnail : callable, optional
        Draws the input as the grid's ``thumbnail=`` does; default: the input drawn large.

    Raises
    ------
    UnknownSampleError
        No such sample (in ``origin``).
    AmbiguousSampleError
        Several origins hold ``sample_id`` and ``origin`` is None; the error names them.
    InvalidValueError
        An unknown origin.
    """
    from weightslab_nb.panels.sample_view import SampleView

    session = _session(session)
    if _is_remote(session):
        _no_thumbnail_callable(thumbnail)
        from weightslab_nb.serving.attached_panels import attached_panel

        return attached_panel(session.client, "sample", sample_id=sample_id, origin=origin)
    return SampleView(session, sample_id, origin, thumbnail=thumbnail)


def dashboard(session: Session | None = None, thumbnail=None):
    """The five panels of the current session (or ``session``) in one box; see
    :func:`weightslab_nb.panels.dashboard.dashboard`."""
    from weightslab_nb.panels.dashboard import dashboard as build

    session = _session(session)
    if _is_remote(session):  # attached to a run in another process: its panels, mirrored
        _no_thumbnail_callable(thumbnail)
        from weightslab_nb.serving.attached_panels import attached_dashboard

        return attached_dashboard(session.client)
    return build(session, thumbnail=thumbnail)


def _no_thumbnail_callable(thumbnail) -> None:
    if thumbnail is not None:
        raise InvalidValueError("thumbnail: a function cannot reach a run in another process; "
                                "the attached panels draw the thumbnails the training process "
                                "draws (pass thumbnail= to its panels there, or leave it out)")
