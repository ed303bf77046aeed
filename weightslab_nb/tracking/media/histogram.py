""":class:`Histogram`: counts of values in bins, kept inline in the history row."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.tracking.media._checks import _as_array
from weightslab_nb.tracking.media.base import Media

MAX_HISTOGRAM_BINS = 512


class Histogram(Media):
    """Counts of values in bins, stored inline in the history row (no file).

    Parameters
    ----------
    sequence : array-like or Tensor, optional
        Numbers of any shape (flattened). NaN and infinite values are dropped before binning;
        with nothing left the bins span [0, 1] and all counts are 0.
    np_histogram : tuple(counts, edges), optional
        The result of ``numpy.histogram``: ``n`` counts (1 <= n <= 512) and ``n + 1`` finite,
        non-decreasing edges.
    num_bins : int, default 64
        Number of equal-width bins for ``sequence``, from 1 to 512.

    Attributes
    ----------
    bins : list[float]
        Bin edges, length ``n + 1``.
    histogram : list[int | float]
        Count per bin, length ``n`` (floats only when ``np_histogram`` held densities).

    Raises
    ------
    ValueError
        Neither or both of ``sequence`` and ``np_histogram`` given; ``num_bins`` outside
        1..512; ``np_histogram`` malformed.
    TypeError
        ``sequence`` holds non-numbers.
    """

    _type = "histogram"

    def __init__(self, sequence=None, np_histogram=None, num_bins: int = 64):
        if (sequence is None) == (np_histogram is None):
            raise InvalidValueError("sequence / np_histogram: pass exactly one of them")
        if isinstance(num_bins, (bool, np.bool_)) or not isinstance(num_bins, (int, np.integer)):
            raise InvalidTypeError("num_bins: expected an integer from 1 to "
                                   f"{MAX_HISTOGRAM_BINS}, got {type(num_bins).__name__} "
                                   f"{num_bins!r}")
        if not 1 <= num_bins <= MAX_HISTOGRAM_BINS:
            raise InvalidValueError("num_bins: expected an integer from 1 to "
                                    f"{MAX_HISTOGRAM_BINS}, got {num_bins!r}")
        if sequence is not None:
            values = _as_array(sequence, "sequence")
            if values.dtype.kind not in "biuf":
                raise InvalidTypeError(f"sequence: expected numbers, got dtype {values.dtype}")
            values = values.astype(np.float64).ravel()
            counts, edges = _binned(values[np.isfinite(values)], int(num_bins))
        else:
            counts, edges = self._check_np_histogram(np_histogram)
        self.bins: list[float] = edges.astype(np.float64).tolist()
        self.histogram: list = counts.tolist()

    @staticmethod
    def _check_np_histogram(value) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise InvalidValueError("np_histogram: expected the (counts, edges) pair "
                                    "numpy.histogram returns")
        counts = _as_array(value[0], "np_histogram")
        edges = _as_array(value[1], "np_histogram")
        n = counts.shape[0] if counts.ndim == 1 else -1
        if not 1 <= n <= MAX_HISTOGRAM_BINS or edges.shape != (n + 1,):
            raise InvalidValueError(f"np_histogram: expected 1 to {MAX_HISTOGRAM_BINS} counts and "
                                    f"one more edge, got shapes {counts.shape} and {edges.shape}")
        if counts.dtype.kind not in "biuf" or edges.dtype.kind not in "biuf":
            raise InvalidValueError("np_histogram: counts and edges must be numbers")
        if not (np.isfinite(counts).all() and np.isfinite(edges).all()) or (counts < 0).any() \
                or (np.diff(edges) < 0).any():
            raise InvalidValueError("np_histogram: expected finite non-negative counts and finite, "
                                    "non-decreasing edges")
        if counts.dtype.kind == "f" and (counts == np.rint(counts)).all():
            counts = counts.astype(np.int64)
        return counts, edges

    def to_json(self, run_dir: Path, key: str, step: int) -> dict:
        """The inline descriptor ``{"_type": "histogram", "bins": [...], "values": [...]}``.

        ``run_dir``, ``key`` and ``step`` are accepted for a uniform interface; nothing is
        written.
        """
        return {"_type": "histogram", "bins": list(self.bins), "values": list(self.histogram)}

    @classmethod
    def _from_descriptor(cls, descriptor: dict, run_dir: Path) -> "Histogram":
        value = cls.__new__(cls)
        value.bins, value.histogram = list(descriptor["bins"]), list(descriptor["values"])
        return value

    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.bins == other.bins and self.histogram == other.histogram

    def __hash__(self) -> int:
        return hash((tuple(self.bins), tuple(self.histogram)))

    def __repr__(self) -> str:
        return f"<Histogram {len(self.histogram)} bins, {sum(self.histogram)} counted>"


def _binned(values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.histogram`` with equal-width bins, also when the range is too wide for float64
    bin widths (then the edges span the whole float64 range)."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            return np.histogram(values, bins=bins)
    except ValueError:  # "Too many bins for data range": max - min overflows
        edges = np.linspace(-1.0, 1.0, bins + 1) * np.finfo(np.float64).max
        return np.histogram(values, bins=edges)
