"""Requests of the console backend: the command table of :mod:`weightslab_nb.commands` over
HTTP.

A request is ``{"command": NAME, "args": {...}}``; :func:`execute` checks its shape and runs the
command with :func:`weightslab_nb.commands.run` (``source="cli"``). There is no table here:
this module only maps the table's errors to HTTP statuses, as :class:`CommandError`:

* 400 (``kind`` ``"bad_request"``): a malformed request or argument
  (:class:`~weightslab_nb.errors.ArgumentError`);
* 422 (``kind`` the exception's class name, e.g. ``"UnknownSampleError"``): refused by the
  session (unknown samples, tags, loaders, bad values). Its message is the session's own.
"""

from __future__ import annotations

from weightslab_nb.commands import COMMANDS, run
from weightslab_nb.serving.calls import run_call
from weightslab_nb.errors import ArgumentError, WeightslabError

__all__ = ["COMMANDS", "CommandError", "parse_request", "execute", "call"]


class CommandError(WeightslabError):
    """A refused request; nothing was changed.

    Attributes
    ----------
    status : int
        The HTTP status the backend answers with: 400 malformed request (unknown command, bad
        argument types), 422 refused by the session.
    kind : str
        ``"bad_request"``, or the session's exception class name
        (``"InvalidValueError"``, ``"UnknownSampleError"``, ...).
    """

    def __init__(self, message: str, status: int = 400, kind: str = "bad_request"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_request(payload) -> tuple[str, dict]:
    """Check the shape of a decoded request object; return its command name and its args
    (the table checks both)."""
    if not isinstance(payload, dict):
        raise CommandError(f"request: expected a JSON object, got {type(payload).__name__}")
    unexpected = sorted(set(payload) - {"command", "args"})
    if unexpected:
        raise CommandError(f"request: unexpected key(s) {unexpected}; expected 'command' and "
                           "optionally 'args'")
    name = payload.get("command")
    if not isinstance(name, str):
        raise CommandError(f"command: expected a command name, got {_short(name)}")
    return name, payload.get("args", {})


def execute(session, payload) -> object:
    """Validate and run one request against ``session``; return its JSON-able result.

    Raises
    ------
    CommandError
        400 for a malformed request, 422 when the session refused it (its message). Nothing
        was changed in either case. The table's error is the ``__cause__``.
    """
    name, args = parse_request(payload)
    try:
        return run(session, name, args, source="cli")
    except ArgumentError as exc:
        raise CommandError(str(exc)) from exc
    except Exception as exc:  # the session's own refusal: pass its message on
        raise CommandError(_message(exc), status=422, kind=type(exc).__name__) from exc


def call(session, payload) -> object:
    """Run one remote-session call (:mod:`weightslab_nb.serving.calls`) against ``session``;
    return its JSON-able result.

    Raises
    ------
    CommandError
        400 for a malformed call, 422 when the session refused it (its message and exception
        class name, which the remote session raises again). Nothing was changed then.
    """
    try:
        return run_call(session, payload)
    except Exception as exc:
        status = 400 if isinstance(exc, ArgumentError) else 422
        raise CommandError(_message(exc), status=status, kind=type(exc).__name__) from exc


def _message(exc: BaseException) -> str:
    if type(exc) is KeyError and len(exc.args) == 1 and isinstance(exc.args[0], str):
        return exc.args[0]  # str(KeyError) would quote it
    return str(exc) or type(exc).__name__
