"""Small HTML pieces for the static fallbacks: escaped text, tables, inline PNG images.

The HTML must read well where no CSS or script runs: GitHub's notebook renderer removes
``<style>``, ``style=`` attributes, ids and scripts. Structure therefore comes from plain tags
(``<table>``, ``<b>``, ``<img width height>``); the ``style=`` attributes only polish what
nbconvert and JupyterLab show.
"""

from __future__ import annotations

import base64
import html
import math

#: Marks every fallback's outer element (tests and users can find it in an exported page).
CSS_CLASS = "wl-fallback"


def esc(value) -> str:
    """``value`` as HTML-escaped text (None becomes an empty string)."""
    return "" if value is None else html.escape(str(value), quote=True)


def number(value, digits: int = 4) -> str:
    """A short text for a number: ints as they are, floats to ``digits`` significant digits,
    None/NaN as an em dash."""
    if value is None or isinstance(value, bool):
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(f):
        return "—" if math.isnan(f) else str(f)
    return f"{f:.{digits}g}"


def png_img(png: bytes, alt: str, width: int | None = None, height: int | None = None) -> str:
    """An ``<img>`` whose source is the PNG itself (a ``data:`` URI): no file to ship."""
    size = "".join(f' {k}="{int(v)}"' for k, v in (("width", width), ("height", height))
                   if v is not None)
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}"{size}>'


def table(header: list[str], rows: list[list[str]], caption: str | None = None) -> str:
    """A ``<table>``; ``header`` is plain text (escaped here), ``rows`` hold HTML cells."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<table border="1" cellpadding="3">{cap}<thead><tr>{head}</tr></thead>' \
           f"<tbody>{body}</tbody></table>"


def section(kind: str, title: str, body: str, note: str = "") -> str:
    """One panel's fallback: a titled block marked ``wl-fallback wl-fallback-<kind>``."""
    note_html = f"<br><small>{esc(note)}</small>" if note else ""
    return (f'<div class="{CSS_CLASS} {CSS_CLASS}-{kind}" '
            f'style="margin:4px 0;padding:4px 0;text-align:left">'
            f"<b>{esc(title)}</b>{note_html}{body}</div>")
