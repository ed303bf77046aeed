"""wl.plot charts: the tables they compute, logging and reading them back, and what the RunMedia
panel draws from them."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import weightslab_nb as wl
from weightslab_nb.panels import RunMedia
from weightslab_nb.panels.media import chart_data
from weightslab_nb.tracking.media import Plot

RNG = np.random.default_rng(0)
LABELS = np.array([0, 0, 1, 1, 2, 2, 2, 1])
PROBS = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1],
                  [0.1, 0.2, 0.7], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4], [0.1, 0.8, 0.1]])


def frame(plot: Plot):
    return plot.table.get_dataframe()


def test_confusion_matrix_counts_actual_against_predicted_pairs():
    # the contract's positional form: predicted class ids, the labels, the class names
    plot = wl.plot.confusion_matrix(PROBS.argmax(1), LABELS, ["cat", "dog", "owl"])
    counts = frame(plot).pivot(index="Actual", columns="Predicted", values="nPredictions")
    assert counts.loc["dog", "cat"] == 1 and counts.loc["dog", "dog"] == 2
    assert counts.to_numpy().sum() == len(LABELS) and np.trace(counts.to_numpy()) == 7
    from_scores = wl.plot.confusion_matrix(probs=PROBS, y_true=LABELS,
                                           class_names=["cat", "dog", "owl"])
    assert frame(from_scores).equals(frame(plot))
    unnamed = wl.plot.confusion_matrix(PROBS, LABELS)  # 2-D preds: scores
    assert frame(unnamed)["nPredictions"].tolist() == frame(plot)["nPredictions"].tolist()
    assert frame(unnamed)["Actual"].iloc[0] == "0"


@pytest.mark.parametrize("kwargs,error,words", [
    ({"y_true": LABELS}, ValueError, "give the predicted"),
    ({"probs": PROBS, "preds": LABELS, "y_true": LABELS}, ValueError, "not both"),
    ({"preds": LABELS[:3], "y_true": LABELS}, ValueError, "8 labels for 3"),
    ({"preds": LABELS, "y_true": LABELS, "class_names": ["a"]}, ValueError, "class_names"),
    ({"preds": LABELS - 1, "y_true": LABELS}, ValueError, ">= 0"),
    ({"preds": np.array(["a"] * 8), "y_true": LABELS}, TypeError, "numbers"),
])
def test_confusion_matrix_refuses_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        wl.plot.confusion_matrix(**kwargs)


def test_roc_and_pr_curves_follow_scikit_learn_one_class_against_the_rest():
    roc = frame(wl.plot.roc_curve(LABELS, PROBS, labels=["cat", "dog", "owl"]))
    assert set(roc["class"]) == {"cat", "dog", "owl"}
    for c, name in enumerate(["cat", "dog", "owl"]):
        curve = roc[roc["class"] == name]
        area = np.trapezoid(curve["tpr"], curve["fpr"])
        assert area == pytest.approx(roc_auc_score(LABELS == c, PROBS[:, c]))
    pr = frame(wl.plot.pr_curve(LABELS, PROBS, classes_to_plot=[2], interp_size=5))
    assert pr["class"].tolist() == ["2"] * 5
    assert pr["recall"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert pr["precision"].is_monotonic_decreasing  # interpolated precision never rises
    with pytest.raises(ValueError, match="classes_to_plot"):
        wl.plot.roc_curve(LABELS, PROBS, classes_to_plot=[3])
    with pytest.raises(ValueError, match="y_probas"):
        wl.plot.pr_curve(LABELS, PROBS[:4])
    with pytest.raises(ValueError, match="interp_size"):
        wl.plot.pr_curve(LABELS, PROBS, interp_size=1)


def test_table_charts_check_their_columns():
    table = wl.Table(columns=["epoch", "acc"], data=[[1, 0.5], [2, 0.7]])
    assert wl.plot.line(table, "epoch", "acc").fields == {"x": "epoch", "y": "acc"}
    assert wl.plot.bar(table, "epoch", "acc", title="per epoch").title == "per epoch"
    with pytest.raises(ValueError, match="no column 'loss'"):
        wl.plot.scatter(table, "epoch", "loss")
    with pytest.raises(TypeError, match="wl.Table"):
        wl.plot.histogram([[1], [2]], "value")
    series = frame(wl.plot.line_series([0, 1, 2], [[1, 2, 3], [3, 2, 1]], keys=["up", "down"]))
    assert series["series"].tolist() == ["up"] * 3 + ["down"] * 3
    with pytest.raises(ValueError, match="'b' has 2 y values for 3"):
        wl.plot.line_series([0, 1, 2], [[1, 2, 3], [1, 2]], keys=["a", "b"])


def test_a_logged_chart_is_read_back_and_drawn_by_the_panel(session):
    run = wl.init()
    table = wl.Table(columns=["x", "y", "who"],
                     data=[[3, 9.0, "a"], [1, 1.0, "a"], [2, None, "a"], [1, 5.0, "b"]])
    wl.log({"curve": wl.plot.line(table, "x", "y", stroke="who", title="xy"),
            "cm": wl.plot.confusion_matrix(probs=PROBS, y_true=LABELS,
                                           class_names=["cat", "dog", "owl"]),
            "scores": wl.plot.histogram(wl.Table(columns=["s"], data=[[v] for v in
                                                                      range(10)]), "s"),
            "bars": wl.plot.bar(wl.Table(columns=["k", "v"], data=[["a", 2], ["b", -1]]),
                                "k", "v")})
    logged = wl.Api(root=session.root_log_dir).run(run.path)
    cm = logged.load_media(logged.summary["cm"])
    assert cm.chart == "confusion_matrix" and cm.extra["labels"] == ["cat", "dog", "owl"]
    assert cm.get_dataframe()["nPredictions"].sum() == 8

    panel = RunMedia(session)
    try:
        assert panel.flush()
        cards = {e["key"]: e for e in panel.entries}
        assert {k: cards[k]["kind"] for k in cards} == {"curve": "plot", "cm": "plot",
                                                       "scores": "plot", "bars": "plot"}
        curve = cards["curve"]["value"]
        assert curve["chart"] == "line" and curve["title"] == "xy"
        assert curve["series"] == [{"name": "a", "points": [[1, 1.0], [2, None], [3, 9.0]]},
                                   {"name": "b", "points": [[1, 5.0]]}]
        matrix = cards["cm"]["value"]
        assert matrix["labels"] == ["cat", "dog", "owl"] and matrix["counts"][1] == [1, 2, 0]
        assert sum(cards["scores"]["value"]["values"]) == 10
        assert cards["bars"]["value"]["bars"] == [{"label": "a", "value": 2},
                                                  {"label": "b", "value": -1}]
    finally:
        panel.close()


def test_long_curves_are_thinned_for_the_panel():
    points = [[i, float(i)] for i in range(10_000)]
    descriptor = {"chart": "line", "fields": {"x": "x", "y": "y"}}
    drawn = chart_data(descriptor, ["x", "y"], points)["series"][0]["points"]
    assert len(drawn) == 2000 and drawn[0] == [0, 0.0] and drawn[-1] == [9999, 9999.0]


def test_curve_and_matrix_edge_cases():
    with pytest.raises(ValueError, match=">= 0"):
        wl.plot.confusion_matrix(np.array([0.0, np.inf]), np.array([0, 1]))
    unseen = frame(wl.plot.confusion_matrix(probs=PROBS[:, :3], y_true=np.zeros(8, int)))
    assert sorted(set(unseen["Actual"])) == ["0", "1", "2"]  # every class of the scores
    with pytest.raises(ValueError, match="at most 400 classes"):
        wl.plot.confusion_matrix(np.arange(401), np.arange(401))
    with pytest.raises(ValueError, match="class id 5 has no column"):
        wl.plot.roc_curve(np.array([0, 5]), np.ones((2, 2)))
    only_two = frame(wl.plot.roc_curve(np.array([0, 1, 0, 1]), np.eye(3)[[0, 1, 0, 1]]))
    assert set(only_two["class"]) == {"0", "1"}  # class 2 has no sample: no curve


def test_a_chart_keeps_the_rows_it_was_made_from():
    table = wl.Table(columns=["x", "y"], data=[[0, 1.0]])
    chart = wl.plot.line(table, "x", "y")
    table.add_data(1, 2.0)
    assert len(chart.table.data) == 1
    with pytest.raises(ValueError, match="stroke"):
        wl.plot.line(table, "x", "y", stroke="who")
