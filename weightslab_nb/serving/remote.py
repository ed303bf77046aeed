"""A session in another process, reached over its backend: what ``wl.connect`` returns.

A training script that called ``wl.serve()`` keeps its session (ledger, history, controller) in
its own process; a notebook attaches to it with ``s = wl.connect(...)`` and then

* runs the module functions on it: :class:`RemoteSession` has the public methods the facade
  calls (``tag_samples``, ``discard_samples``, categorical tags, ``get_samples_by_tag``,
  ``get_discarded_samples``, the ``query_*`` functions, ``get_current_experiment_hash``,
  ``request_evaluation``), each sent as one call (:mod:`weightslab_nb.serving.calls`) and run
  by the served session, whose checks and messages are the ones a local call gets;
* steers the run: :meth:`RemoteSession.pause`, ``resume``, ``stop``, ``status`` and the
  hyperparameters (:meth:`RemoteSession.set_hp`), through the console commands
  (:mod:`weightslab_nb.commands`);
* shows the panels: ``wl.dashboard(s)`` and the panel classes render against it.

What only the training process can do (watch objects, record signals, start training, log a
run) is refused with a clear error. The remote session never stops the run when it is closed:
``s.close()`` only forgets the connection.
"""

from __future__ import annotations

import time
from pathlib import Path

from weightslab_nb import errors
from weightslab_nb.arguments import check_seconds
from weightslab_nb.errors import InvalidTypeError, StateError
from weightslab_nb.serving.calls import ARROW_STREAM, CALL_PATH, MAX_WAIT, decode_result
from weightslab_nb.serving.client import DEFAULT_TIMEOUT, BackendError
from weightslab_nb.serving.panel_link import PanelLink

_BUILTIN_ERRORS = {"ValueError": ValueError, "TypeError": TypeError, "KeyError": KeyError,
                   "LookupError": LookupError, "RuntimeError": RuntimeError}


class RemoteSession:
    """The session of a training process that serves it (``wl.serve()``), seen from here.

    Made by :func:`connect`. Module functions act on it while it is the current session
    (:func:`connect` makes it current).

    Attributes
    ----------
    client : PanelLink
        The backend connection (host, port, token; a console
        :class:`~weightslab_nb.serving.client.Client` that also relays panels); made from
        ``root_log_dir``'s token file again when the run restarted (see :meth:`reconnect`).
    root_log_dir : Path or None
        The run directory when the session was reached through it.
    """

    remote = True  # what panels and the facade look at to tell it from a local Session

    def __init__(self, client: PanelLink, root_log_dir=None):
        self.client = client
        self.root_log_dir = None if root_log_dir is None else Path(root_log_dir)
        self._closed = False  # read through `closed`, as a local session's flag is
        self.access = _RemoteAccess(self)

    # ---------------------------------------------------------------- connection
    @property
    def url(self) -> str:
        """``http://host:port`` of the backend."""
        return f"http://{self.client.host}:{self.client.port}"

    def reconnect(self) -> bool:
        """Read the token file of :attr:`root_log_dir` again (a restarted script serves on a
        new port with a new token; the attached panels do this by themselves); True when it
        named another backend. Raises :class:`BackendError` when this session was made from a
        URL."""
        if self.root_log_dir is None:
            raise BackendError(f"reconnect: this session was made from {self.url}; connect "
                               "again with the new URL and token")
        return self.client.refresh()

    def close(self) -> None:
        """Forget the connection (the run goes on in its process). Safe to call twice."""
        self._closed = True

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (the attached session then refuses calls)."""
        return self._closed

    def __repr__(self) -> str:
        state = "closed" if self._closed else "attached"
        return f"<RemoteSession {state} to {self.url}>"

    # ---------------------------------------------------------------- calls
    def _call(self, method: str, *args, extra_time: float = 0, **kwargs):
        """Run ``method`` of the served session; its result, or its error raised here."""
        if self._closed:
            raise StateError(f"{method}: this remote session was closed; wl.connect() again")
        status, content_type, body = self.client.post(
            CALL_PATH, {"method": method, "args": list(args), "kwargs": kwargs},
            extra_time=extra_time)
        if status == 200 and content_type == ARROW_STREAM:
            return decode_result(method, body)
        reply = self.client.json_reply(status, body)
        if not reply.get("ok"):
            raise _error_of(reply)
        return decode_result(method, reply.get("result"))

    def _command(self, name: str, **args):
        if self._closed:
            raise StateError(f"{name}: this remote session was closed; wl.connect() again")
        reply = self.client.request(name, args)
        if not reply.get("ok"):
            raise _error_of(reply)
        return reply.get("result")

    # ---------------------------------------------------------------- the facade's methods
    def tag_samples(self, sample_ids, tag: str, mode: str = "add",
                    origin: str | None = None) -> None:
        """As :meth:`Session.tag_samples <weightslab_nb.session.Session.tag_samples>`, on the
        served session."""
        self._call("tag_samples", _ids(sample_ids), tag, mode, origin)

    def discard_samples(self, sample_ids, discarded: bool = True,
                        origin: str | None = None) -> None:
        """As ``Session.discard_samples``, on the served session: its loaders skip them from
        their next batch."""
        self._call("discard_samples", _ids(sample_ids), discarded, origin)

    def register_categorical_tag(self, name: str, values) -> None:
        """As ``Session.register_categorical_tag``, on the served session."""
        self._call("register_categorical_tag", name, list(values) if not isinstance(
            values, str) else values)

    def set_categorical_tag(self, sample_ids, tag: str, value: str | None,
                            origin: str | None = None) -> None:
        """As ``Session.set_categorical_tag``, on the served session."""
        self._call("set_categorical_tag", _ids(sample_ids), tag, value, origin)

    def get_samples_by_tag(self, tag: str, origin: str | None = "train",
                           limit: int | None = None) -> list:
        """As ``Session.get_samples_by_tag``, from the served session."""
        return self._call("get_samples_by_tag", tag, origin, limit)

    def get_discarded_samples(self, origin: str | None = "train",
                              limit: int | None = None) -> list:
        """As ``Session.get_discarded_samples``, from the served session."""
        return self._call("get_discarded_samples", origin, limit)

    def query_signal_history(self, signal_name: str, exp_hash: str | None = None,
                             origin: str | None = None) -> list[tuple]:
        """As ``Session.query_signal_history``: ``[(sample_id, step, value, experiment_hash)]``.
        Every row travels as JSON: for millions of rows, export on the training side
        (``write_history``) or read the run folder with ``wl.Api``."""
        return self._call("query_signal_history", signal_name, exp_hash, origin)

    def query_sample_history(self, sample_id, signal_name: str | None = None,
                             exp_hash: str | None = None,
                             origin: str | None = None) -> list[tuple]:
        """As ``Session.query_sample_history``: ``[(signal_name, step, value, hash)]``."""
        return self._call("query_sample_history", _id(sample_id), signal_name, exp_hash, origin)

    def query_instance_history(self, sample_id, annotation_id: int,
                               signal_name: str | None = None, exp_hash: str | None = None,
                               origin: str | None = None) -> list[tuple]:
        """As ``Session.query_instance_history``, from the served session."""
        return self._call("query_instance_history", _id(sample_id), annotation_id,
                          signal_name, exp_hash, origin)

    @property
    def dataframe(self):
        """The served session's sample table (``session.dataframe`` there), fetched now as an
        Arrow stream: one row per sample, its tags, discards and latest signal values."""
        return self._call("dataframe")

    def get_current_experiment_hash(self) -> str | None:
        """The served session's experiment hash (None before anything is watched there)."""
        return self._call("get_current_experiment_hash")

    def request_evaluation(self, loader_name: str, tags=None, timeout: float | None = None,
                           resume: bool = False) -> RemoteEvaluation:
        """As ``Session.request_evaluation``, run by the training process; returns a
        :class:`RemoteEvaluation` (its ``state``, ``result``, ``wait()``)."""
        status = self._call("request_evaluation", loader_name,
                            None if tags is None else _tags(tags), timeout, resume)
        return RemoteEvaluation(self, status)

    # ---------------------------------------------------------------- steering
    def status(self) -> dict:
        """The run's state, step, epoch, sample counts and experiment hash."""
        return self._command("status")

    def pause(self) -> dict:
        """Pause the run at its next batch boundary."""
        return self._command("pause")

    def resume(self) -> dict:
        """Resume a paused run."""
        return self._command("resume")

    def stop(self) -> dict:
        """Stop the run at its next batch boundary (its process decides what follows)."""
        return self._command("stop")

    def hp(self, path: str | None = None) -> dict:
        """The run's hyperparameters (``path``: one dotted key, e.g. ``"optimizer.lr"``)."""
        return self._command("hp_get", **({} if path is None else {"path": path}))

    def set_hp(self, path: str, value) -> dict:
        """Change one hyperparameter (``"optimizer.lr"``, ``"data.batch_size"``...); the run
        applies it at its next batch boundary, as an edit in its own panels would."""
        return self._command("hp_set", path=path, value=value)

    # ---------------------------------------------------------------- refused here
    def _training_side(self, what: str):
        raise StateError(f"{what}: the run trains in another process ({self.url}); call it "
                         "there. A remote session observes and steers the run.")


#: Session methods only the training process can run; a remote session refuses them.
TRAINING_SIDE = ("watch_or_edit", "save_signals", "save_instance_signals", "start_training",
                 "run_pending_evaluation", "write_history", "write_dataframe")


def _refused(name: str):
    def method(self, *args, **kwargs):
        self._training_side(name)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"Refused on an attached run: ``{name}`` runs in the training process. "
                      "Raises StateError.")
    return method


for _name in TRAINING_SIDE:
    setattr(RemoteSession, _name, _refused(_name))


class _RemoteAccess:
    """What features ask a session before they change it (see :mod:`weightslab_nb.access`),
    answered for an attached run: edits are made there (each call checks them), recording,
    training and run logging belong to the training process, and no file is written here."""

    edits, records, writes_files = True, False, False

    def __init__(self, session: RemoteSession):
        self._session = session

    def check_edit(self, operation: str, hint: str = "") -> None:
        """Edits go to the training process, which checks them."""

    def check_recording(self, operation: str, hint: str = "") -> None:
        self._session._training_side(operation)


class RemoteEvaluation:
    """An evaluation requested through a :class:`RemoteSession`: its last known status.

    Attributes mirror :class:`~weightslab_nb.evaluation.EvaluationRequest`: ``id``,
    ``loader_name``, ``state``, ``step``, ``result``, ``error``, ``marker_hash``, ``summary``,
    ``progress`` (as of the last :meth:`refresh`).
    """

    FINAL = ("done", "cancelled", "timed_out", "failed")

    def __init__(self, session: RemoteSession, status: dict):
        self._session = session
        self._apply(status)

    def _apply(self, status: dict) -> None:
        for key in ("id", "loader_name", "state", "step", "result", "error", "marker_hash",
                    "summary"):
            setattr(self, key, status.get(key))
        self.tags = tuple(status.get("tags") or ())
        self.progress = tuple(status.get("progress") or (0, 0))

    @property
    def finished(self) -> bool:
        """Whether the evaluation's last known state is a final one (see ``FINAL``)."""
        return self.state in self.FINAL

    def refresh(self) -> RemoteEvaluation:
        """Ask the training process for the current status; returns self."""
        self._apply(self._session._call("evaluation_status", self.id))
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the evaluation finished (True) or ``timeout`` seconds passed (False).
        The training process holds each answer until the evaluation ends or
        :data:`~weightslab_nb.serving.calls.MAX_WAIT` seconds passed."""
        deadline = None if timeout is None else time.monotonic() + check_seconds(timeout,
                                                                                 "timeout")
        while True:
            left = MAX_WAIT if deadline is None else deadline - time.monotonic()
            wait = max(0.0, min(MAX_WAIT, left))
            self._apply(self._session._call("evaluation_status", self.id, wait=wait,
                                            extra_time=wait))
            if self.finished:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def __repr__(self) -> str:
        return f"<RemoteEvaluation {self.id} {self.loader_name!r} {self.state}>"


def connect(target, token: str | None = None, *,
            timeout: float = DEFAULT_TIMEOUT) -> RemoteSession:
    """Attach to a training process's session; see :class:`RemoteSession`.

    Parameters
    ----------
    target : str or path
        ``"http://127.0.0.1:PORT"`` (with ``token``), or the run's ``root_log_dir``, whose
        ``serving.json`` (written by ``wl.serve()``, readable by its owner only) gives the
        port and token.
    token : str, optional
        The backend's token, required with a URL (printed by ``wl.serve()`` and in the token
        file); refused with a directory.
    timeout : float, default 30
        Seconds to wait for one answer.

    Returns
    -------
    RemoteSession
        Attached (the backend answered a status request); not made current here (the facade's
        ``wl.connect`` does).

    Raises
    ------
    BackendError
        Nothing serves there, the token is wrong, or the directory holds no token file.
    InvalidValueError, InvalidTypeError
        A URL that is not ``http://host:port``, or a token given with a directory.
    """
    timeout = check_seconds(timeout, "timeout")
    root = None
    if isinstance(target, str) and target.startswith(("http://", "https://")):
        if token is None:
            raise errors.InvalidValueError("token: required with a URL (wl.serve() prints it; "
                                           "or pass the run's root_log_dir instead)")
        host, port = _host_port(target)
        client = PanelLink(port, token, host, timeout)
    elif isinstance(target, (str, Path)):
        if token is not None:
            raise errors.InvalidValueError("token: not used with a directory (its serving.json "
                                           "holds the token)")
        root = Path(target)
        client = PanelLink.from_dir(root, timeout)
    else:
        raise InvalidTypeError(f"target: expected a URL or a root_log_dir, got "
                               f"{type(target).__name__}")
    session = RemoteSession(client, root)
    session.status()  # fails here, not at the first use, when nothing answers
    return session


def _host_port(url: str) -> tuple[str, int]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.port is None or \
            parts.path not in ("", "/"):
        raise errors.InvalidValueError(f"target: expected http://HOST:PORT, got {url!r}")
    return parts.hostname, parts.port


def _error_of(reply: dict) -> Exception:
    """The exception a refused call raises here: of the served session's own class when it is
    one of weightslab_nb's errors or a builtin one (so ``except UnknownSampleError`` works on
    a remote session too), with the served session's message; else :class:`BackendError`."""
    kind = str(reply.get("kind", "error"))
    message = str(reply.get("error"))
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, errors.WeightslabError):
        return _remote_class(cls)(message)
    if kind in _BUILTIN_ERRORS:
        return _BUILTIN_ERRORS[kind](message)
    return BackendError(message, reply.get("http_status"), kind, reply)


_REMOTE_CLASSES: dict[type, type] = {}


def _remote_class(cls: type) -> type:
    """A subclass of ``cls`` made from a message alone (some errors take other constructor
    arguments, e.g. the unknown ids, which only the served session has)."""
    found = _REMOTE_CLASSES.get(cls)
    if found is None:
        def __init__(self, message):
            Exception.__init__(self, message)

        def __str__(self):
            return str(self.args[0])

        found = _REMOTE_CLASSES[cls] = type(cls.__name__, (cls,), {
            "__init__": __init__, "__str__": __str__, "__module__": __name__,
            "__doc__": f"{cls.__name__} raised by the served session."})
    return found


def _ids(sample_ids):
    """Sample ids as JSON values: one id, or a list of them (tuples and arrays to lists)."""
    if isinstance(sample_ids, (str, int)):
        return sample_ids
    tolist = getattr(sample_ids, "tolist", None)
    return tolist() if tolist is not None else [_id(s) for s in sample_ids]


def _id(sample_id):
    item = getattr(sample_id, "item", None)
    return item() if item is not None and not isinstance(sample_id, (str, int)) else sample_id


def _tags(tags):
    return [tags] if isinstance(tags, str) else list(tags)
