"""The panel relay's endpoints on the backend: framed request in, framed reply out.

Each endpoint takes the decoded frame ``(header, buffers)`` of a request (see
:mod:`weightslab_nb.serving.frames`) and returns ``(status, header, buffers)``; the backend
(:mod:`weightslab_nb.serving.backend`) has checked the Host and the token before. Every reply
header holds ``"ok"``; a refusal is ``{"ok": false, "error": MESSAGE, "kind": KIND}`` and changes
nothing. Statuses: 400 malformed (``bad_request``), 404 no such hosted panel
(``unknown_panel``: create a new one), 422 refused by the panel's constructor (the exception's
class name), 503 the server is stopping (``stopping``).
"""

from __future__ import annotations

import math

from weightslab_nb.errors import ArgumentError, StateError, WeightslabError
from weightslab_nb.serving.panel_host import (MAX_WAIT, HostStoppedError, PanelHost,
                                              UnknownPanelError)

PREFIX = "/v1/panels/"


class _Refused(Exception):
    def __init__(self, status: int, message: str, kind: str):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def _field(header: dict, name: str, kinds, what: str, default=None, required: bool = True):
    value = header.get(name, default)
    if value is None and not required:
        return None
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise _Refused(400, f"{name}: expected {what}, got {value!r:.60}", "bad_request")
    return value


def _number(header: dict, name: str, default: float, hi: float) -> float:
    value = _field(header, name, (int, float), "a number of seconds", default)
    if not math.isfinite(value) or value < 0:
        raise _Refused(400, f"{name}: expected a number of seconds >= 0, got {value!r}",
                       "bad_request")
    return min(float(value), hi)


def _create(host: PanelHost, header: dict, _buffers) -> tuple[dict, list]:
    kind = _field(header, "kind", str, "a panel kind")
    options = _field(header, "options", dict, "an object of constructor options", {})
    return host.create(kind, options), []


def _message(host: PanelHost, header: dict, buffers) -> tuple[dict, list]:
    panel = _field(header, "panel", str, "a hosted panel id")
    content = _field(header, "content", dict, "a message object")
    return {"seq": host.message(panel, content, buffers)}, []


def _events(host: PanelHost, header: dict, _buffers) -> tuple[dict, list]:
    panel = _field(header, "panel", str, "a hosted panel id")
    since = _field(header, "since", int, "a sequence number")
    wait = _number(header, "wait", 0.0, MAX_WAIT)
    return host.events(panel, since, wait)


def _flush(host: PanelHost, header: dict, _buffers) -> tuple[dict, list]:
    panel = _field(header, "panel", str, "a hosted panel id")
    return {"seq": host.flush(panel, _number(header, "timeout", 5.0, MAX_WAIT))}, []


def _close(host: PanelHost, header: dict, _buffers) -> tuple[dict, list]:
    panel = _field(header, "panel", str, "a hosted panel id")
    return {"closed": host.close_panel(panel)}, []


#: path -> endpoint
ROUTES = {PREFIX + name: fn for name, fn in (
    ("create", _create), ("message", _message), ("events", _events), ("flush", _flush),
    ("close", _close))}


def handle(host: PanelHost, path: str, header: dict, buffers) -> tuple[int, dict, list]:
    """Run the endpoint at ``path``; return ``(status, reply header, reply buffers)``."""
    try:
        reply, out = ROUTES[path](host, header, buffers)
    except _Refused as exc:
        return exc.status, {"ok": False, "error": exc.message, "kind": exc.kind}, []
    except UnknownPanelError as exc:
        return 404, {"ok": False, "error": _text(exc), "kind": "unknown_panel"}, []
    except HostStoppedError as exc:
        return 503, {"ok": False, "error": _text(exc), "kind": "stopping"}, []
    except ArgumentError as exc:
        return 400, {"ok": False, "error": _text(exc), "kind": "bad_request"}, []
    except (WeightslabError, StateError) as exc:
        return 422, {"ok": False, "error": _text(exc), "kind": type(exc).__name__}, []
    except (ValueError, TypeError, LookupError) as exc:  # a constructor's plain refusal
        return 400, {"ok": False, "error": _text(exc), "kind": "bad_request"}, []
    return 200, {"ok": True, **reply}, out


def _text(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    return str(exc) or type(exc).__name__
