"""wandb-style charts for ``wl.log``: ``wl.plot.line``, ``scatter``, ``bar``, ``histogram``,
``line_series``, ``confusion_matrix``, ``pr_curve`` and ``roc_curve``.

Each function returns a :class:`~weightslab_nb.tracking.media.Plot`: a table of the chart's
data plus the roles of its columns. Log it like any rich value
(``wl.log({"val/roc": wl.plot.roc_curve(labels, probabilities)})``); the RunMedia panel draws
it and ``wl.Api().run(...).load_media(...)`` gives the table back.

The table-based charts take a :class:`~weightslab_nb.tracking.media.Table` and column names
(as in wandb); the others compute their table from arrays. PR and ROC curves come from
scikit-learn's ``precision_recall_curve`` and ``roc_curve`` (one class against the rest).
``split_table`` is accepted for compatibility and ignored (every chart keeps its own table).
"""

from __future__ import annotations

import logging
import numbers

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.tracking.media import Plot, Table
from weightslab_nb.tracking.media._checks import _as_array

MAX_CURVE_POINTS = 500  # points kept per class of a ROC curve
MAX_CLASSES = 400  # classes of a confusion matrix (its table has one row per pair)

log = logging.getLogger(__name__)


def line(table: Table, x: str, y: str, stroke=None, title: str | None = None,
         split_table: bool = False) -> Plot:
    """A line through the points ``(table[x], table[y])``, drawn in order of x; ``stroke`` (a
    column of series names) draws one line per series."""
    fields = {"x": x, "y": y}
    if stroke is not None:
        if stroke not in _table(table).columns:
            raise InvalidValueError(f"stroke: no column {stroke!r} in the table; columns: "
                                    f"{table.columns}")
        fields["series"] = stroke
    return Plot("line", _table(table), fields, title, x_label=x, y_label=y)


def scatter(table: Table, x: str, y: str, title: str | None = None,
            split_table: bool = False) -> Plot:
    """Points ``(table[x], table[y])``."""
    return Plot("scatter", _table(table), {"x": x, "y": y}, title, x_label=x, y_label=y)


def bar(table: Table, label: str, value: str, title: str | None = None,
        split_table: bool = False) -> Plot:
    """One bar per row: height ``table[value]``, named ``table[label]``."""
    return Plot("bar", _table(table), {"label": label, "value": value}, title, x_label=label,
                y_label=value)


def histogram(table: Table, value: str, title: str | None = None,
              split_table: bool = False) -> Plot:
    """The distribution of the numbers in column ``value`` (binned when drawn)."""
    return Plot("histogram", _table(table), {"value": value}, title, x_label=value,
                y_label="count")


def line_series(xs, ys, keys=None, title: str | None = None, xname: str = "x",
                split_table: bool = False) -> Plot:
    """Several lines on shared axes.

    Parameters
    ----------
    xs : sequence of numbers, or a sequence of them (one per line)
        One x sequence shared by every line, or one per line.
    ys : sequence of sequences of numbers
        One y sequence per line, each as long as its x sequence.
    keys : sequence of str, optional
        Line names (default ``"line_0"``, ``"line_1"``, ...).
    xname : str, default "x"
        The x axis label.

    Raises
    ------
    ValueError
        Lengths that do not match.
    """
    ys = [list(y) for y in ys]
    if not ys:
        raise InvalidValueError("ys: expected at least one sequence of y values")
    shared = not (len(xs) and isinstance(xs[0], (list, tuple, np.ndarray)))
    xs = [list(xs)] * len(ys) if shared else [list(x) for x in xs]
    keys = [f"line_{i}" for i in range(len(ys))] if keys is None else _names(keys, "keys")
    if len(xs) != len(ys) or len(keys) != len(ys):
        raise InvalidValueError("xs, ys, keys: expected one x sequence (or one per line) and one "
                                f"key per line; got {len(xs)} x, {len(ys)} y, {len(keys)} keys")
    table = Table(columns=["series", "x", "y"])
    for key, x, y in zip(keys, xs, ys):
        if len(x) != len(y):
            raise InvalidValueError(f"ys: line {key!r} has {len(y)} y values for {len(x)} x values")
        for xv, yv in zip(x, y):
            table.add_data(key, _number(xv, "xs"), _number(yv, "ys"))
    return Plot("line_series", table, {"series": "series", "x": "x", "y": "y"}, title,
                x_label=xname, y_label="y")


def confusion_matrix(preds=None, y_true=None, class_names=None, *, probs=None,
                     title: str | None = None, split_table: bool = False) -> Plot:
    """Counts of (actual, predicted) class pairs.

    The positional order is the contract's (``confusion_matrix(predictions, ground_truth,
    class_names)``); newer wandb versions also take the scores as ``probs=``.

    Parameters
    ----------
    preds : array ``[N]`` of predicted class ids, optional
        A 2-D ``[N, C]`` array is read as scores (its argmax is taken).
    y_true : array ``[N]`` of class ids
    class_names : sequence of str, optional
        Names of the classes ``0 .. C-1`` (default their ids).
    probs : array ``[N, C]`` of per-class scores, optional (keyword only)
        Instead of ``preds``.

    Raises
    ------
    ValueError
        Both or neither of preds/probs, mismatched lengths, or a class id without a name.
    TypeError
        Non-numeric arrays.
    """
    actual = _class_ids(y_true, "y_true")
    if probs is not None and preds is not None:
        raise InvalidValueError("preds, probs: give one of them, not both")
    if probs is None and preds is None:
        raise InvalidValueError("preds, probs: give the predicted classes or the predicted scores")
    argument = "preds" if probs is None else "probs"
    given = _array(preds if probs is None else probs, argument)
    predicted = given.argmax(axis=1) if given.ndim == 2 else _class_ids(given, argument)
    if len(predicted) != len(actual):
        raise InvalidValueError(f"y_true: {len(actual)} labels for {len(predicted)} predictions")
    n_classes = int(max(actual.max(initial=-1), predicted.max(initial=-1))) + 1
    if given.ndim == 2:
        n_classes = max(n_classes, given.shape[1])  # classes never seen still get a row
    names = _class_names(class_names, n_classes)
    if len(names) > MAX_CLASSES:
        raise InvalidValueError(f"class_names: a confusion matrix takes at most {MAX_CLASSES} "
                                f"classes, got {len(names)}")
    counts = np.zeros((len(names), len(names)), dtype=np.int64)
    np.add.at(counts, (actual, predicted), 1)
    table = Table(columns=["Actual", "Predicted", "nPredictions"])
    for i, actual_name in enumerate(names):
        for j, predicted_name in enumerate(names):
            table.add_data(actual_name, predicted_name, int(counts[i, j]))
    return Plot("confusion_matrix", table,
                {"actual": "Actual", "predicted": "Predicted", "value": "nPredictions"},
                title or "Confusion matrix", x_label="predicted", y_label="actual",
                extra={"labels": names})


def pr_curve(y_true=None, y_probas=None, labels=None, classes_to_plot=None,
             interp_size: int = 21, title: str | None = None, split_table: bool = False) -> Plot:
    """Precision against recall, one curve per class (that class against the rest).

    Each curve is the interpolated precision (the best precision at a recall at least as
    high) at ``interp_size`` evenly spaced recall values from 0 to 1.

    Parameters
    ----------
    y_true : array ``[N]`` of class ids
    y_probas : array ``[N, C]`` of per-class scores
    labels : sequence of str, optional
        Class names (default the class ids).
    classes_to_plot : sequence of int, optional
        Class ids to draw (default all).
    interp_size : int, default 21
        Recall values per curve (>= 2).

    A class without any sample in ``y_true`` has no curve (a warning is logged).

    Raises
    ------
    ValueError
        Shapes that do not match, an unknown class id (in ``y_true`` or
        ``classes_to_plot``), no class to plot with a sample, or ``interp_size`` < 2.
    """
    from sklearn.metrics import precision_recall_curve

    if isinstance(interp_size, bool) or not isinstance(interp_size, int) or interp_size < 2:
        raise InvalidValueError(f"interp_size: expected an int >= 2, got {interp_size!r}")
    actual, scores, names, classes = _curve_inputs(y_true, y_probas, labels, classes_to_plot)
    grid = np.linspace(0.0, 1.0, interp_size)
    table = Table(columns=["class", "recall", "precision"])
    for c in classes:
        precision, recall, _ = precision_recall_curve(actual == c, scores[:, c])
        for r in grid:
            reachable = precision[recall >= r]
            table.add_data(names[c], float(r), float(reachable.max()) if len(reachable) else 0.0)
    return Plot("pr_curve", table, {"series": "class", "x": "recall", "y": "precision"},
                title or "Precision vs recall", x_label="recall", y_label="precision")


def roc_curve(y_true=None, y_probas=None, labels=None, classes_to_plot=None,
              title: str | None = None, split_table: bool = False) -> Plot:
    """True positive rate against false positive rate, one curve per class (that class
    against the rest), at most :data:`MAX_CURVE_POINTS` points each. Arguments as for
    :func:`pr_curve`."""
    from sklearn.metrics import roc_curve as sk_roc_curve

    actual, scores, names, classes = _curve_inputs(y_true, y_probas, labels, classes_to_plot)
    table = Table(columns=["class", "fpr", "tpr"])
    for c in classes:
        fpr, tpr, _ = sk_roc_curve(actual == c, scores[:, c])
        keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), MAX_CURVE_POINTS))
                         .round().astype(int))
        for f, t in zip(fpr[keep], tpr[keep]):
            table.add_data(names[c], float(f), float(t))
    return Plot("roc_curve", table, {"series": "class", "x": "fpr", "y": "tpr"},
                title or "ROC", x_label="false positive rate", y_label="true positive rate")


# ---------------------------------------------------------------- helpers
def _table(table) -> Table:
    """A copy of the user's table: later rows added to it do not change the chart."""
    if not isinstance(table, Table):
        raise InvalidTypeError(f"table: expected a wl.Table, got {type(table).__name__}")
    return Table(columns=table.columns, data=table.data)


def _array(values, argument: str) -> np.ndarray:
    """A numeric numpy array of ``values`` (tensors included); errors name ``argument``."""
    if values is None:
        raise InvalidValueError(f"{argument}: required")
    array = _as_array(values, argument)
    if array.dtype.kind not in "biuf":
        raise InvalidTypeError(f"{argument}: expected numbers, got an array of {array.dtype}")
    return array


def _class_ids(values, argument: str) -> np.ndarray:
    array = _array(values, argument)
    if array.ndim != 1:
        raise InvalidValueError(f"{argument}: expected a 1-D array of class ids, got shape "
                                f"{list(array.shape)}")
    if array.size and (array.dtype.kind == "f" and not np.all(np.isfinite(array))
                       or array.dtype.kind == "f" and not np.all(array == np.round(array))
                       or array.min() < 0):
        raise InvalidValueError(f"{argument}: class ids must be integers >= 0")
    return array.astype(np.int64)


def _number(value, argument: str) -> float:
    """A real number (numpy scalars, 0-d arrays and tensors too); not a string such as
    ``"2"``, not a bool."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{argument}: expected numbers, got {type(value).__name__} "
                               f"{value!r}"[:300])
    return float(value)


def _names(names, argument: str) -> list[str]:
    """Names given as a sequence of strings (or ints, named by their digits)."""
    if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
        raise InvalidTypeError(f"{argument}: expected a list of names, got "
                               f"{type(names).__name__}")
    out = []
    for name in names:
        if isinstance(name, (bool, np.bool_)) or not isinstance(name, (str, numbers.Integral)):
            raise InvalidTypeError(f"{argument}: names are strings, got {type(name).__name__} "
                                   f"{name!r}"[:300])
        out.append(str(name))
    return out


def _class_names(names, n_classes: int, argument: str = "class_names") -> list[str]:
    if names is None:
        return [str(i) for i in range(n_classes)]
    names = _names(names, argument)
    if len(names) < n_classes:
        raise InvalidValueError(f"{argument}: {len(names)} names, but class id {n_classes - 1} "
                                f"appears")
    return names


def _curve_inputs(y_true, y_probas, labels, classes_to_plot):
    actual = _class_ids(y_true, "y_true")
    scores = _array(y_probas, "y_probas").astype(np.float64)
    if scores.ndim != 2 or scores.shape[0] != len(actual):
        raise InvalidValueError(f"y_probas: expected shape [{len(actual)}, n_classes], got "
                                f"{list(scores.shape)}")
    if len(actual) and actual.max() >= scores.shape[1]:
        raise InvalidValueError(f"y_true: class id {int(actual.max())} has no column in y_probas "
                                f"({scores.shape[1]} classes)")
    names = _class_names(labels, scores.shape[1], "labels")
    classes = range(scores.shape[1]) if classes_to_plot is None else list(classes_to_plot)
    for c in classes:
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or \
                not 0 <= c < scores.shape[1]:
            raise InvalidValueError(f"classes_to_plot: {c!r} is not a class id in "
                                    f"0..{scores.shape[1] - 1}")
    present = [c for c in classes if np.any(actual == c)]
    if len(present) < len(classes):
        skipped = [names[c] for c in classes if c not in present]
        log.warning("no sample of class(es) %s in y_true: their curves are left out", skipped)
    if not present:
        raise InvalidValueError("y_true: none of the classes to plot has a sample")
    return actual, scores, names, present
