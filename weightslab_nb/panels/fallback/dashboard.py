"""The dashboard's fallback: its panels' fallbacks in the dashboard's layout.

Controls and hyperparameters beside the curves, the sample grid beside the tags. A two-column
``<table>`` holds the layout, so it survives renderers that strip CSS (GitHub).
"""

from __future__ import annotations

from weightslab_nb.panels.fallback import HTML, TEXT, fallback_html
from weightslab_nb.panels.fallback import controls as controls_view
from weightslab_nb.panels.fallback.html import CSS_CLASS, esc


def render(dashboard) -> str:
    """The dashboard's fallback HTML."""
    left = fallback_html(dashboard.controls, hyperparameters=False) + \
        fallback_html(dashboard.hparams)
    top = _row(left, fallback_html(dashboard.curves))
    bottom = _row(fallback_html(dashboard.grid), fallback_html(dashboard.tags))
    return (f'<div class="{CSS_CLASS} {CSS_CLASS}-dashboard">'
            f"<p><b>weightslab dashboard</b> (static view: {esc(_state(dashboard))})</p>"
            f'<table border="0">{top}{bottom}</table></div>')


def summary(dashboard) -> str:
    """One line: the training state and the sample counts."""
    total, active = dashboard.session.counts()
    return f"Dashboard: training {_state(dashboard)}; {total} samples, {active} active"


def bundle(dashboard) -> dict:
    """``{"text/html", "text/plain"}`` of a dashboard."""
    return {HTML: render(dashboard), TEXT: summary(dashboard)}


def _state(dashboard) -> str:
    return controls_view.state_line(dashboard.session)


def _row(left: str, right: str) -> str:
    top = "text-align:left;vertical-align:top"
    return (f'<tr><td valign="top" style="{top}">{left}</td>'
            f'<td valign="top" style="{top};padding-left:12px">{right}</td></tr>')
