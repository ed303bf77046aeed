"""The panel base class: the session it is handed, the publisher, message dispatch and replies."""

from __future__ import annotations

import logging
from pathlib import Path

import anywidget
import traitlets

from weightslab_nb.panels.messages import MessageError, request_id
from weightslab_nb.panels.publisher import Publisher

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "static"

_MISSING_BUILD = """\
export default { render({ el }) {
  el.textContent = "weightslab_nb: the panel front-end is not built (%s missing). "
    + "Run: cd js && npm ci && npm run build";
} };
"""

#: Returned by a handler that sent its reply itself.
SENT = object()


def static_asset(name: str):
    """The built file ``weightslab_nb/static/<name>`` as anywidget file contents.

    No file watcher thread is started. A missing JS bundle gives a stub view that says how to
    build it; a missing CSS file gives no style.
    """
    from anywidget._file_contents import FileContents

    path = STATIC / name
    if path.is_file():
        return FileContents(path, start_thread=False)
    return _MISSING_BUILD % name if name.endswith(".js") else "\n"


class Panel(anywidget.AnyWidget):
    """Base of the panels: one publisher thread, validated browser messages.

    Subclasses define ``_poll()`` (publisher thread), ``_handlers()`` (message type -> callable
    taking the message and returning a reply dict, ``(reply, buffers)``, None or ``SENT``) and
    ``_reply_types`` (message type -> reply type; a failed request with a ``req`` gets
    ``{"type": reply type, "req", "ok": False, "message"}``).
    """

    error = traitlets.Unicode("").tag(sync=True)

    _poll_interval = 0.1
    _reply_types: dict[str, str] = {}

    def __init__(self, session, **kwargs):
        self.session = session
        super().__init__(**kwargs)
        self._dispatch = {"clear_error": self._on_clear_error, **self._handlers()}
        self.on_msg(self._on_custom_msg)
        self._publisher = Publisher(self, self._poll, interval=self._poll_interval,
                                    name=f"wl-{type(self).__name__}-publisher")
        self._publisher.start()

    # ---------------------------------------------------------------- subclass hooks
    def _poll(self) -> dict | None:
        return None

    def _handlers(self) -> dict:
        return {}

    # ---------------------------------------------------------------- public
    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the panel's traits reflect the session as of now (for tests and cells)."""
        return self._publisher.flush(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the publisher (after a final update) and close the widget."""
        publisher = getattr(self, "_publisher", None)
        if publisher is not None and not publisher.close(timeout):
            log.warning("%s: publisher thread did not stop within %.1f s", type(self).__name__,
                        timeout)
        super().close()

    # ---------------------------------------------------------------- messages
    def _on_custom_msg(self, _widget, content, buffers) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        req = None
        try:
            if not isinstance(content, dict):
                raise MessageError(f"expected an object, got {type(content).__name__}")
            req = request_id(content)
            handler = self._dispatch.get(kind)
            if handler is None:
                raise MessageError(f"type: unknown message type {kind!r}; expected one of "
                                   f"{sorted(self._dispatch)}")
            result = handler(content)
        except (MessageError, ValueError, KeyError, TypeError, LookupError, RuntimeError) as exc:
            self._fail(kind, req, _message_of(exc))
            return
        except Exception as exc:  # a bug: keep the kernel alive, tell the user
            log.exception("%s: handling %r failed", type(self).__name__, kind)
            self._fail(kind, req, f"internal error: {type(exc).__name__}: {exc}")
            return
        if kind != "clear_error":
            self._publisher.set_error("request", "")
        if result is SENT:
            return
        if req is None:
            return  # only requests (with a req) get replies
        reply, out_buffers = result if isinstance(result, tuple) else (result, None)
        reply = {"type": self._reply_types.get(kind, "action_result"), "ok": True,
                 **(reply or {}), "req": req}
        self.send(reply, out_buffers)

    def _fail(self, kind, req, text: str) -> None:
        label = kind if isinstance(kind, str) else "message"
        self._publisher.set_error("request", f"{label!r} message rejected: {text}")
        if req is not None:
            known = isinstance(kind, str) and kind in self._dispatch
            reply_type = self._reply_types.get(kind, "action_result") if known else "error"
            self.send({"type": reply_type, "req": req, "ok": False, "message": text})

    def _on_clear_error(self, _msg: dict):
        self._publisher.clear_errors()
        return {"message": "cleared"}


def _message_of(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    return str(exc) or type(exc).__name__
