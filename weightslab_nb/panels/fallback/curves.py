"""The loss curves as a PNG image: each signal's mean line over its min/max band.

Drawn with matplotlib's object API (a ``Figure`` with an Agg canvas, never ``pyplot``), so it
is safe off the main thread and leaves the user's pyplot state alone. Long series are first
reduced by the curves panel's own rule (:func:`~weightslab_nb.panels.curves.bucket_series`:
true min/max and weighted mean per bucket), so the picture shows the same envelope as the live
view at any length.
"""

from __future__ import annotations

import io

import numpy as np

from weightslab_nb.panels.buckets import bucket_series
from weightslab_nb.panels.curve_data import marker_rows
from weightslab_nb.panels.fallback.html import esc, number, png_img, section, table

#: Rows per series drawn (longer series are bucketed to this many).
MAX_DRAWN = 1000
WIDTH, HEIGHT, DPI = 720, 280, 100


def render(panel) -> str:
    """The panel's fallback HTML: the image and one summary row per signal."""
    session = panel.session
    series = {name: session.global_series(name, 0) for name in session.global_signal_names()}
    series = {k: v for k, v in series.items() if len(v["step"])}
    if not series:
        return section("curves", "Loss curves", "<p>no curve recorded yet</p>")
    png = curves_png(series, marker_rows(session))
    rows = [[esc(name), number(int(s["step"][-1])), number(len(s["step"])),
             number(s["mean"][-1]), number(_finite_extreme(s["min"], np.min)),
             number(_finite_extreme(s["max"], np.max))]
            for name, s in series.items()]
    summary = table(["signal", "last step", "points", "last mean", "min", "max"], rows)
    return section("curves", "Loss curves", png_img(png, "loss curves: " + ", ".join(series),
                                                    WIDTH, HEIGHT) + summary)


def summary(panel) -> str:
    """One line: each signal's last step and mean."""
    session = panel.session
    parts = []
    for name in session.global_signal_names():
        s = session.global_series(name, 0)
        if len(s["step"]):
            parts.append(f"{name} {number(s['mean'][-1])} at step {int(s['step'][-1])}")
    return "loss curves: " + ("; ".join(parts) if parts else "no curve yet")


def curves_png(series: dict[str, dict], markers: list[dict] = ()) -> bytes:
    """PNG bytes (``WIDTH`` x ``HEIGHT`` pixels) of ``series`` (name -> ``step``, ``mean``,
    ``min``, ``max`` arrays), with evaluation ``markers`` (``{"signal", "step", "mean"}``) as
    diamonds.

    The y-range follows the mean lines, and the band within its 1st..99th percentiles, so one
    spike of the max does not flatten the curve (the band is clipped, never the mean).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    lows, highs = [], []
    colors = {}
    for i, (name, s) in enumerate(series.items()):
        if len(s["step"]) > MAX_DRAWN:
            s = bucket_series(s, MAX_DRAWN)
        step = np.asarray(s["step"], dtype=np.float64)
        mean = np.asarray(s["mean"], dtype=np.float64)
        lo = np.asarray(s["min"], dtype=np.float64)
        hi = np.asarray(s["max"], dtype=np.float64)
        colors[name] = color = f"C{i % 10}"
        ax.fill_between(step, lo, hi, color=color, alpha=0.2, linewidth=0)
        ax.plot(step, mean, color=color, linewidth=1.3, label=name)
        finite = mean[np.isfinite(mean)]
        if len(finite):
            lows.append(finite.min())
            highs.append(finite.max())
        for values, q, out in ((lo, 1, lows), (hi, 99, highs)):
            finite = values[np.isfinite(values)]
            if len(finite):
                out.append(np.percentile(finite, q))
    for m in markers:
        if m["signal"] in colors and m["mean"] is not None:
            ax.plot([m["step"]], [m["mean"]], marker="D", markersize=5, linestyle="none",
                    color=colors[m["signal"]], markeredgecolor="black")
    if lows and highs:
        low, high = min(lows), max(highs)
        pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
        ax.set_ylim(low - pad, high + pad)
    ax.set_xlabel("step")
    ax.set_ylabel("value (mean, min–max band)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _finite_extreme(values, pick) -> float | None:
    """``pick`` (``np.min`` or ``np.max``) of the finite values, or None when there are none."""
    a = np.asarray(values, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(pick(a)) if len(a) else None
