"""Capture what a panel sends to the browser, for tests that drive ``_handle_custom_msg``."""

from __future__ import annotations

import threading

import pytest


class Capture:
    """Replaces ``widget.send``; records ``(content, buffers)`` and waits on a condition."""

    def __init__(self, widget):
        self.messages: list[tuple[dict, list]] = []
        self._cond = threading.Condition()
        widget.send = self._send

    def _send(self, content, buffers=None):
        with self._cond:
            self.messages.append((content, list(buffers or [])))
            self._cond.notify_all()

    def of_type(self, kind: str) -> list[tuple[dict, list]]:
        with self._cond:
            return [(m, b) for m, b in self.messages if m.get("type") == kind]

    def wait_for(self, predicate, timeout: float = 5.0) -> tuple[dict, list]:
        """The first message matching ``predicate``, waiting up to ``timeout`` seconds."""
        with self._cond:
            assert self._cond.wait_for(lambda: any(predicate(m) for m, _ in self.messages),
                                       timeout), "no matching message was sent"
            return next((m, b) for m, b in self.messages if predicate(m))

    def reply(self, req) -> tuple[dict, list]:
        """The reply to the request numbered ``req``."""
        return self.wait_for(lambda m: m.get("req") == req)


def ask(widget, cap: Capture, req, **content) -> tuple[dict, list]:
    """Send the browser message ``{"req": req, **content}`` to ``widget`` and return its reply
    ``(content, buffers)``."""
    widget._handle_custom_msg({"req": req, **content}, [])
    return cap.reply(req)


def ask_content(widget, cap: Capture, req, **content) -> dict:
    """:func:`ask`, the reply's content only."""
    return ask(widget, cap, req, **content)[0]


@pytest.fixture(name="panel")
def run_media_panel(session):
    """A RunMedia panel of the test's session with its messages captured: ``(widget, cap)``.
    Import it into a test module to use it as the fixture ``panel``."""
    from weightslab_nb.panels import RunMedia

    widget = RunMedia(session)
    cap = Capture(widget)
    yield widget, cap
    widget.close()


def card(widget, key: str) -> dict:
    """The entry (card) of ``key`` in a RunMedia panel's ``entries`` trait."""
    return next(e for e in widget.entries if e["key"] == key)
