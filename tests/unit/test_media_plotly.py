"""Plotly: a plotly figure (or a matplotlib figure plotly can convert) stored as its JSON and
rebuilt by from_json; plotly is the optional extra weightslab-nb[plotly]."""

from __future__ import annotations

import base64
import json
import sys
import time
import warnings

import matplotlib
import numpy as np
import pytest

import weightslab_nb as wl
from tests.media_logging import log_and_read_back
from weightslab_nb.errors import MissingExtraError
from weightslab_nb.tracking.media import Plotly

go = pytest.importorskip("plotly.graph_objects", reason="the plotly extra is not installed")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def trace_values(trace, name: str) -> np.ndarray:
    """A trace's array, as plotly's JSON keeps it (plain list or binary ``bdata``)."""
    value = trace[name]
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def scatter(n=3, seed=0) -> "go.Figure":
    rng = np.random.default_rng(seed)
    return go.Figure(go.Scatter(x=np.arange(n), y=rng.random(n), mode="markers"),
                     layout={"title": {"text": "scores"}})


def test_a_plotly_figure_is_stored_as_its_json_and_read_back_by_the_api(session):
    figure = scatter()
    figure_value = Plotly(figure)
    run_dir, descriptor, back = log_and_read_back(session, "charts/scores", figure_value)
    assert descriptor["_type"] == "plotly-file"
    assert descriptor["path"].startswith("media/plotly/charts_scores_0_")
    assert descriptor["path"].endswith(".plotly.json")
    stored = json.loads((run_dir / descriptor["path"]).read_text())
    assert stored["layout"]["title"]["text"] == "scores" and stored["data"][0]["type"] == "scatter"
    assert back == figure_value and Plotly.from_json(descriptor, run_dir) == figure_value
    assert isinstance(back.to_figure(), go.Figure)
    np.testing.assert_allclose(trace_values(back.to_dict()["data"][0], "y"), figure.data[0].y)


def test_equality_follows_the_figure():
    assert Plotly(scatter(seed=1)) == Plotly(scatter(seed=1))
    assert Plotly(scatter(seed=1)) != Plotly(scatter(seed=2))


def test_a_100k_point_figure_is_stored_compactly_and_quickly(tmp_path):
    figure = scatter(n=100_000)
    start = time.perf_counter()
    descriptor = Plotly(figure).to_json(tmp_path, "big", 0)
    elapsed = time.perf_counter() - start
    # numpy arrays go in plotly's binary form: ~16 bytes a point (x and y as float64 + base64)
    assert descriptor["size"] < 100_000 * 24 and elapsed < 5.0
    back = Plotly.from_json(descriptor, tmp_path).to_dict()["data"][0]
    np.testing.assert_array_equal(trace_values(back, "y"), figure.data[0].y)


def test_a_matplotlib_line_plot_is_converted_as_wandb_does():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [3, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the converter warns about unsupported settings
        value = Plotly(fig)
    plt.close(fig)
    assert trace_values(value.to_dict()["data"][0], "y").tolist() == [3, 1, 2]


def test_matplotlib_figures_plotly_cannot_convert_get_a_clear_error():
    fig, ax = plt.subplots()
    ax.imshow(np.eye(3))
    with warnings.catch_warnings(), pytest.raises(ValueError, match=r"wl\.Image\(figure\)"):
        warnings.simplefilter("ignore")
        Plotly(fig)
    plt.close(fig)


@pytest.mark.parametrize("val", [None, "figure", np.zeros(3)])
def test_other_values_are_rejected_naming_the_argument(val):
    with pytest.raises(TypeError, match=r"val: expected a plotly figure \(or its dict\)"):
        Plotly(val)


def test_converting_without_plotly_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "plotly" or m.startswith("plotly.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "plotly", None)
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    with pytest.raises(MissingExtraError, match=r"weightslab-nb\[plotly\]") as caught:
        Plotly(fig)
    plt.close(fig)
    assert isinstance(caught.value, ImportError)


def test_the_package_exports_the_class():
    assert wl.Plotly is Plotly


def test_the_descriptor_counts_traces_and_points(session):
    figure = go.Figure([go.Scatter(x=np.arange(50), y=np.zeros(50)), go.Bar(x=["a", "b"], y=[1, 2]),
                        go.Heatmap(z=np.zeros((3, 4)))])
    _, descriptor, back = log_and_read_back(session, "mixed", Plotly(figure))
    assert descriptor["traces"] == 3 and descriptor["trace_types"] == ["scatter", "bar", "heatmap"]
    assert descriptor["points"] == 50 + 2 + 12
    assert (back.traces, back.trace_types, back.points) == (3, ["scatter", "bar", "heatmap"], 64)


def test_a_descriptor_logged_without_the_counts_is_read_back_with_them(tmp_path):
    descriptor = Plotly(scatter(n=7)).to_json(tmp_path, "old", 0)
    older = {k: v for k, v in descriptor.items() if k not in ("traces", "trace_types", "points")}
    back = Plotly.from_json(older, tmp_path)
    assert (back.traces, back.trace_types, back.points) == (1, ["scatter"], 7)
    assert back == Plotly.from_json(descriptor, tmp_path)


def test_points_are_counted_in_lists_rows_and_binary_arrays_alike():
    from weightslab_nb.tracking.media.plotly_figure import figure_stats

    f8 = {"dtype": "f8", "bdata": base64.b64encode(np.zeros(5).tobytes()).decode()}
    figure = {"data": [{"type": "bar", "x": ["a", "b", "c"]}, {"z": [[1, 2], [3]]}, {"y": f8},
                       {"type": "heatmap", "z": {**f8, "shape": "not rows"}}, "not a trace"]}
    assert figure_stats(figure) == {"traces": 4, "trace_types": ["bar", "scatter", "heatmap"],
                                    "points": 3 + 3 + 5 + 5}
    assert figure_stats({"layout": {}}) == {"traces": 0, "trace_types": [], "points": 0}


def test_a_figure_given_as_its_dict_is_checked_and_kept():
    figure = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="a"))
    from_dict = Plotly(figure.to_dict())
    assert from_dict.traces == 1 and from_dict.points == 3
    assert from_dict.to_figure().data[0].name == "a"
    with pytest.raises(ValueError, match="val: not a plotly figure dict .*nosuch"):
        Plotly({"data": [{"type": "nosuch"}]})
