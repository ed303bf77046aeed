"""The hyperparameter editor as a table: each watched key, its type, the value in use and a
requested value still waiting for the next batch boundary."""

from __future__ import annotations

from weightslab_nb.panels.fallback.html import esc, section, table


def render(panel) -> str:
    """The panel's fallback HTML."""
    name, hp = panel.handle()
    if hp is None:
        return section("hparams", "Hyperparameters", "<p>no hyperparameters watched</p>")
    rows = []
    for row in hp.rows():
        waiting = f"{row['requested']!r} (next batch)" if row["pending"] else ""
        rows.append([esc(row["key"]), esc(row["type"]), esc(repr(row["applied"])),
                     esc(waiting)])
    return section("hparams", f"Hyperparameters ({name})",
                   table(["key", "type", "value", "requested"], rows))


def summary(panel) -> str:
    """One line: the number of keys."""
    name, hp = panel.handle()
    return "hyperparameters: none watched" if hp is None else \
        f"hyperparameters {name!r}: {len(hp.rows())} keys"
