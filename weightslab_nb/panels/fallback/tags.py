"""The tag editor as a small table: each tag and how many samples carry it."""

from __future__ import annotations

from weightslab_nb.panels.fallback.html import esc, section, table


def tag_rows(session) -> list[tuple[str, int]]:
    """``(tag or "name=value", samples)`` from ``session.tag_summary()``."""
    summary = session.tag_summary()
    rows = [(str(name), int(n)) for name, n in summary["boolean"].items()]
    for name, info in summary["categorical"].items():
        rows.extend((f"{name}={value}", int(info["counts"].get(value, 0)))
                    for value in info["values"])
    return rows


def render(panel) -> str:
    """The panel's fallback HTML."""
    rows = tag_rows(panel.session)
    selected = int(getattr(panel, "selection_size", 0) or 0)
    body = table(["tag", "samples"], [[esc(t), str(n)] for t, n in rows]) if rows else \
        "<p>no tags yet</p>"
    return section("tags", "Tags", body, f"{selected} samples selected" if selected else "")


def summary(panel) -> str:
    """One line: the tags and their counts."""
    rows = tag_rows(panel.session)
    return "tags: " + (", ".join(f"{t} ({n})" for t, n in rows) if rows else "none")

