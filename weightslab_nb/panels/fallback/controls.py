"""The training controls as text: state, step, epoch, why it stopped, the hyperparameters in
use and the latest evaluation."""

from __future__ import annotations

from weightslab_nb.panels.fallback.html import esc, number, section, table


def state_line(session) -> str:
    """``"stopped, step 412, epoch 3 (completed)"``: the controller's snapshot in words."""
    snap = session.controller.snapshot()
    line = f"{snap.get('state', 'idle')}, step {int(snap.get('step', 0))}, " \
           f"epoch {int(snap.get('epoch', 0))}"
    if snap.get("error"):
        line += f" (error: {snap['error']})"
    elif snap.get("state") == "stopped" and snap.get("stop_reason"):
        line += f" ({snap['stop_reason']})"
    elif snap.get("state") == "running" and snap.get("steps_per_second"):
        line += f", {float(snap['steps_per_second']):.1f} steps/s"
    return line


def hyperparameter_rows(session) -> list[tuple[str, object]]:
    """``(path, applied value)`` of the most recently watched hyperparameters (empty when
    none are watched)."""
    handles = session.registry.all("hyperparameters")
    if not handles:
        return []
    hp = handles[next(reversed(handles))]
    return [(row["key"], row["applied"] if row["applied"] is not None else row["requested"])
            for row in hp.rows()]


def render(panel, hyperparameters: bool = True) -> str:
    """The panel's fallback HTML (``hyperparameters=False``: without their table, for a
    dashboard that shows the hyperparameter panel beside it)."""
    session = panel.session
    body = f'<p><span class="wl-fallback-state">{esc(state_line(session))}</span></p>'
    hps = hyperparameter_rows(session) if hyperparameters else []
    if hps:
        body += table(["hyperparameter", "value"], [[esc(k), esc(_value(v))] for k, v in hps])
    last = (getattr(panel, "evaluation", None) or {}).get("last")
    if last:
        result = ", ".join(f"{k} {number(v)}" for k, v in (last.get("result") or {}).items())
        body += (f"<p>last evaluation: {esc(last.get('loader'))} at step "
                 f"{esc(last.get('step'))}: {esc(result)}</p>")
    return section("controls", "Training", body)


def summary(panel) -> str:
    """One line: the state line."""
    return "training: " + state_line(panel.session)


def _value(v) -> str:
    return number(v) if isinstance(v, float) else str(v)
