""":class:`Html`: a piece of HTML saved as a UTF-8 ``.html`` file."""

from __future__ import annotations

import os
import re

from weightslab_nb.errors import InvalidTypeError
from weightslab_nb.tracking.media._files import _read_source
from weightslab_nb.tracking.media.base import BatchableMedia

_DEFAULT_STYLE = ("body{margin:0;padding:8px;font:13px/1.45 system-ui,-apple-system,'Segoe UI',"
                  "Roboto,sans-serif;color:#1f1f1f}table{border-collapse:collapse}"
                  "th,td{border:1px solid #d0d0d0;padding:2px 8px;text-align:left}"
                  "img{max-width:100%}")


def _read_text(data) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, os.PathLike):
        return _read_source(data, "data").decode("utf-8")
    if hasattr(data, "read"):
        content = data.read()
        return content.decode("utf-8") if isinstance(content, bytes) else str(content)
    raise InvalidTypeError(f"data: expected an HTML string, a path or an open file, got "
                           f"{type(data).__name__}")


def _inject_style(html: str) -> str:
    """``html`` with the default style added, unless it already brings its own."""
    if re.search(r"<style\b|rel\s*=\s*[\"']?stylesheet", html, re.IGNORECASE):
        return html
    style = f"<style>{_DEFAULT_STYLE}</style>"
    head = re.search(r"<head\b[^>]*>", html, re.IGNORECASE)
    if head:
        return html[:head.end()] + style + html[head.end():]
    opening = re.search(r"<html\b[^>]*>", html, re.IGNORECASE)
    at = opening.end() if opening else 0
    return html[:at] + f"<head><meta charset=\"utf-8\">{style}</head>" + html[at:]


class Html(BatchableMedia):
    """A piece of HTML, saved as an ``.html`` file (UTF-8).

    Parameters
    ----------
    data : str, os.PathLike or file object
        A ``str`` is the HTML itself (never read as a path); a ``pathlib.Path`` is read as a
        UTF-8 file; an object with ``read()`` (text or bytes) is read to the end.
    inject : bool, default True
        Add a small default stylesheet (inline, no links) unless the HTML has its own
        ``<style>`` or stylesheet link. False keeps the HTML unchanged.

    Attributes
    ----------
    html : str
        The text that is saved.

    Raises
    ------
    TypeError
        ``data`` or ``inject`` of the wrong type.
    FileNotFoundError
        ``data`` is a path that does not exist.
    """

    _type = "html-file"
    _kind_dir = "html"
    _ext = "html"

    def __init__(self, data, inject: bool = True):
        if not isinstance(inject, bool):
            raise InvalidTypeError(f"inject: expected True or False, got {inject!r}")
        text = _read_text(data)
        self.html = _inject_style(text) if inject else text
        self._payload = self.html.encode("utf-8")

    def _restore(self, descriptor, run_dir) -> None:
        self.html = self._payload.decode("utf-8")

    def __repr__(self) -> str:
        return f"<Html {len(self.html)} characters>"
