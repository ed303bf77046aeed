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

    Every panel also takes ``{"type": "clear_error"}`` and ``{"type": "view"}`` (sent once by
    each view when it renders: a front-end draws the panel, so a refresh of its static
    fallback must not replace it). Its output carries a static fallback beside the live view
    (:mod:`weightslab_nb.panels.fallback`).
    """

    error = traitlets.Unicode("").tag(sync=True)

    _poll_interval = 0.1
    _reply_types: dict[str, str] = {}

    def __init__(self, session, **kwargs):
        self.session = session
        self._views_seen = 0
        self._last_requests: dict[str, dict] = {}
        super().__init__(**kwargs)
        self._dispatch = {"clear_error": self._on_clear_error, "view": self._on_view,
                          **self._handlers()}
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

    def answer(self, msg: dict) -> tuple[dict, list]:
        """Answer the request ``msg`` as a view would be answered, without sending anything:
        ``(reply fields, buffers)``. The static fallbacks read panels this way.

        Raises
        ------
        MessageError
            An unknown message type, or a handler that sends its reply itself.
        ValueError, KeyError, LookupError, ...
            What the handler raises for a bad request (a view would get ``ok: false``).
        """
        handler = self._dispatch.get(msg.get("type")) if isinstance(msg, dict) else None
        if handler is None:
            raise MessageError(f"type: unknown message type {msg!r:.80}")
        result = handler(msg)
        if result is SENT:
            raise MessageError(f"type: {msg['type']!r} replies by itself")
        reply, buffers = result if isinstance(result, tuple) else (result, None)
        return dict(reply or {}), list(buffers or [])

    def last_request(self, kind: str) -> dict | None:
        """A copy of the last request of type ``kind`` a view made that was answered (None
        before any); e.g. the grid's last ``page`` request holds the sort and filters shown."""
        found = self._last_requests.get(kind)
        return None if found is None else dict(found)

    def has_live_view(self) -> bool:
        """Whether a front-end drew this panel (a view announced itself or sent a request)."""
        return self._views_seen > 0

    # ---------------------------------------------------------------- display
    def widget_bundle(self) -> tuple[dict, dict]:
        """The widget's mimebundle (live view) plus the static fallback (``text/html``, and a
        one-line ``text/plain`` instead of the object's repr)."""
        from weightslab_nb.panels.fallback import fallback_bundle

        found = super()._repr_mimebundle_()
        data, metadata = found if isinstance(found, tuple) else (found or {}, {})
        return {**data, **fallback_bundle(self)}, metadata

    def static_bundle(self) -> dict:
        """``{"text/html", "text/plain"}``: the fallback alone (what a refresh sends)."""
        from weightslab_nb.panels.fallback import fallback_bundle

        return fallback_bundle(self)

    def _repr_mimebundle_(self, **kwargs):
        if getattr(self, "comm", None) is None:  # closed: no live view to offer
            return self.static_bundle(), {}
        return self.widget_bundle()

    def _ipython_display_(self) -> None:
        """Display with a display id, so the fallback can be refreshed when training stops
        (see :mod:`weightslab_nb.panels.fallback.display`)."""
        show_with_fallback(self)

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
                                   f"{sorted(set(self._dispatch) - {'view'})}")
            self._views_seen += 1  # only views send messages
            result = handler(content)
            self._last_requests[kind] = content
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

    def _on_view(self, _msg: dict):
        """``{"type": "view"}``: a view announces itself when it renders (no reply)."""

    def _on_clear_error(self, _msg: dict):
        self._publisher.clear_errors()
        return {"message": "cleared"}


def _message_of(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    return str(exc) or type(exc).__name__


def show_with_fallback(obj) -> None:
    """Display a panel or a dashboard (``obj.session`` its session) through the session's
    :class:`~weightslab_nb.panels.fallback.display.FallbackDisplays`; a closed widget shows its
    fallback alone."""
    from IPython.display import display

    from weightslab_nb.panels.fallback.display import displays_of

    if getattr(obj, "comm", None) is None:
        display(obj.static_bundle(), raw=True)
        return
    displays_of(obj.session).show(obj)
