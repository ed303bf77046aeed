"""Reading the history: per-sample, per-instance and global series, frames and statistics.

Every query drains the recording queue first, so it sees everything recorded before the call,
flushed to DuckDB or not (see :class:`~weightslab_nb.history.HistoryStore`).
"""

from __future__ import annotations

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.ledger.ids import SampleRef, normalize_ids
from weightslab_nb.ledger.sample_table import bare_signal_name

HISTORY_STATS = ("mean", "last", "max", "min", "count")


class HistoryQueries:
    """Mixin of :class:`~weightslab_nb.session.Session`: the ``query_*_history`` functions of
    the contract and the views the panels and exports read.

    Uses the session's ``lock``, ``table``, ``history``, ``drain()``, ``rows_of()`` and
    ``resolve_origin()``.
    """

    def query_signal_history(self, signal_name: str, exp_hash: str | None = None,
                             origin: str | None = None) -> list[tuple]:
        """Every per-sample value of a signal: ``[(sample_id, step, value, experiment_hash)]``.

        Sorted by sample (table order) then step. Sample rows only: per-instance values
        (``save_instance_signals``) are read with :meth:`query_instance_history`.
        ``exp_hash`` restricts to one run, ``origin`` (an origin or a loader name) to one
        origin's samples (needed to tell samples apart when origins share ids).

        Raises
        ------
        InvalidTypeError
            ``signal_name``, ``exp_hash`` or ``origin`` of the wrong type.
        InvalidValueError
            An unknown origin.
        """
        name = _check_signal_name(signal_name)
        _check_optional_str(exp_hash, "exp_hash")
        _check_optional_str(origin, "origin")
        code = None if origin is None else self.table.origin_code_of(self.resolve_origin(origin))
        self.drain()
        cols = self.history.query_samples(signal=name, exp_hash=exp_hash)
        with self.lock:
            keep = self.table.annotation_id[cols["row"]] == 0
            if code is not None:
                keep &= self.table.origin_code[cols["row"]] == code
            ids = self.table.sample_id[cols["row"][keep]]
        _, exps = self.history.names_by_id()
        return [(sid, int(st), float(v), exps.get(int(e)))
                for sid, st, v, e in zip(ids, cols["step"][keep], cols["value"][keep],
                                         cols["exp"][keep])]

    def query_sample_history(self, sample_id, signal_name: str | None = None,
                             exp_hash: str | None = None,
                             origin: str | None = None) -> list[tuple]:
        """The logged history of one sample: ``[(signal_name, step, value, experiment_hash)]``.

        Sorted by signal then step. ``origin`` (an origin or a loader name) says which origin's
        sample is meant when several hold ``sample_id``.

        Raises
        ------
        UnknownSampleError
            If ``sample_id`` is not known.
        AmbiguousSampleError
            ``sample_id`` exists in several origins and ``origin`` is None.
        """
        rows = self.rows_of([sample_id], origin, argument="sample_id")
        return self._row_history(rows, signal_name, exp_hash)

    def query_instance_history(self, sample_id, annotation_id: int, signal_name: str | None = None,
                               exp_hash: str | None = None,
                               origin: str | None = None) -> list[tuple]:
        """The logged history of one instance: ``[(signal_name, step, value, experiment_hash)]``.

        ``annotation_id`` is 1-based (0 is the sample's own row, see
        :meth:`query_sample_history`). Sorted by signal then step. ``origin`` as for
        :meth:`query_sample_history`.

        Raises
        ------
        UnknownSampleError
            If the ``(sample_id, annotation_id)`` pair is not known.
        AmbiguousSampleError
            The pair exists in several origins and ``origin`` is None.
        """
        if isinstance(annotation_id, bool) or not isinstance(annotation_id, (int, np.integer)):
            raise InvalidTypeError(f"annotation_id: expected an int, got {annotation_id!r}")
        rows = self.rows_of([sample_id], origin, annotation_id=int(annotation_id),
                            argument="sample_id/annotation_id")
        return self._row_history(rows, signal_name, exp_hash)

    def _row_history(self, rows, signal_name: str | None, exp_hash: str | None) -> list[tuple]:
        """``[(signal_name, step, value, experiment_hash)]`` of table rows, sorted by signal then
        step."""
        if signal_name is not None:
            _check_signal_name(signal_name)
        _check_optional_str(exp_hash, "exp_hash")
        self.drain()
        cols = self.history.query_samples(rows=rows, signal=None if signal_name is None else
                                          bare_signal_name(signal_name), exp_hash=exp_hash)
        sigs, exps = self.history.names_by_id()
        return [(sigs[int(s)], int(st), float(v), exps.get(int(e)))
                for s, st, v, e in zip(cols["signal"], cols["step"], cols["value"], cols["exp"])]

    def history_frame(self, layer: str, signals=None, exp_hash: str | None = None,
                      sample_ids=None, annotation_ids=None, origin: str | None = None):
        """One history layer as a pandas DataFrame (the source of ``write_history``).

        Parameters
        ----------
        layer : {"global", "sample", "instance"}
        signals : str or list of str, optional
            Keep these signal names only.
        exp_hash : str, optional
            Keep one run; None keeps every run.
        sample_ids, annotation_ids : optional
            Keep these samples / annotation ids (ignored by the global layer; annotation ids
            only filter the instance layer). Unknown ids match nothing.
        origin : str, optional
            Keep the samples of this origin (ignored by the global layer).

        Returns
        -------
        DataFrame
            global: ``graph_name, experiment_hash, step, metric_value, metric_min, metric_max,
            count``; sample: ``graph_name, experiment_hash, sample_id, step, metric_value,
            origin``; instance: ``annotation_id`` after ``sample_id``. Global rows are sorted
            by name and step; the others by sample-table row (the order samples were
            registered), signal and step.
        """
        import pandas as pd

        if layer not in ("global", "sample", "instance"):
            raise InvalidValueError("layer: expected 'global', 'sample' or 'instance', got "
                                    f"{layer!r}")
        names = [signals] if isinstance(signals, str) else \
            (None if signals is None else list(signals))
        self.drain()
        sig_names, exps = self.history.names_by_id()
        name_of = _lookup_array(sig_names)
        hash_of = _lookup_array(exps)  # index -1 (no experiment) gives None
        if layer == "global":
            parts = [self.history.query_global(bare_signal_name(n), exp_hash) for n in names] \
                if names is not None else [self.history.query_global(None, exp_hash)]
            parts = parts or [self.history.query_global("", None)]  # no names: no rows
            cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            frame = pd.DataFrame({
                "graph_name": name_of[cols["signal"]],
                "experiment_hash": hash_of[cols["exp"]],
                "step": cols["step"], "metric_value": cols["mean"], "metric_min": cols["min"],
                "metric_max": cols["max"], "count": cols["count"]})
            return frame.sort_values(["graph_name", "step"], kind="stable", ignore_index=True)
        cols = self.history.query_samples(exp_hash=exp_hash)
        with self.lock:
            ann = self.table.annotation_id[cols["row"]]
            keep = ann == 0 if layer == "sample" else ann >= 1
            if names is not None:
                wanted = self.history.signal_ids_of([bare_signal_name(n) for n in names])
                keep &= np.isin(cols["signal"], wanted)
            if sample_ids is not None:
                wanted_ids = set(normalize_ids(sample_ids, "sample_id"))
                keep &= np.fromiter((s in wanted_ids for s in self.table.sample_id[cols["row"]]),
                                    dtype=bool, count=len(keep))
            if layer == "instance" and annotation_ids is not None:
                keep &= np.isin(ann, np.atleast_1d(np.asarray(annotation_ids, dtype=np.int64)))
            if origin is not None:
                code = self.table.origin_code_of(self.resolve_origin(origin))
                keep &= self.table.origin_code[cols["row"]] == code
            rows = cols["row"][keep]
            origins = np.asarray(self.table.origins + [None], dtype=object)
            data = {"graph_name": name_of[cols["signal"][keep]],
                    "experiment_hash": hash_of[cols["exp"][keep]],
                    "sample_id": self.table.sample_id[rows].tolist()}
            row_origins = origins[self.table.origin_code[rows]]
            if layer == "instance":
                data["annotation_id"] = self.table.annotation_id[rows].astype(np.int64)
        data["step"] = cols["step"][keep]
        data["metric_value"] = cols["value"][keep]
        data["origin"] = row_origins
        return pd.DataFrame(data)

    def global_signal_names(self) -> list[str]:
        """Signals with at least one curve point, in the order they first appeared."""
        self.drain(wait_signals=False)
        return self.history.global_names()

    def global_series(self, name: str, start: int = 0) -> dict[str, np.ndarray]:
        """Points ``start...`` of a signal's curve: ``step, mean, min, max, count, exp`` arrays."""
        self.drain(wait_signals=False)
        return self.history.global_series(name, start)

    def history_statistic(self, signal: str, stat: str) -> np.ndarray:
        """One value per sample-table row: ``stat`` of each row's history of ``signal``.

        Parameters
        ----------
        signal : str
            Signal name, with or without the ``signals//`` prefix.
        stat : {"mean", "last", "max", "min", "count"}

        Returns
        -------
        ndarray, float64, length = number of table rows (NaN where a row has no history).

        Raises
        ------
        ValueError
            Unknown statistic or signal.
        """
        name = self.history_signal(signal, stat)
        self.drain(wait_signals=False)
        values = self.history.sample_stats(name, len(self.table), which=(stat,))[stat]
        return values.astype(np.float64, copy=False)

    def history_signal(self, signal: str, stat: str) -> str:
        """The history's name of ``signal`` (a name or ``signals//`` column) for a sort by
        ``stat``; ``InvalidValueError`` for an unknown statistic or a signal without history."""
        if stat not in HISTORY_STATS:
            raise InvalidValueError(f"stat: expected one of {HISTORY_STATS}, got {stat!r}")
        name = bare_signal_name(signal)
        if name not in self.history.signal_names():
            raise InvalidValueError(f"signal: no history for {signal!r}; known: "
                                    f"{self.history.signal_names()}")
        return name

    def sample_series(self, sample_ids, signal: str, max_points: int = 64,
                      origin: str | None = None) -> dict:
        """Recent history of each sample, for sparklines: ``{sample_id: (steps, values)}``.

        At most the last ``max_points`` points per sample (int64 steps, float64 values); samples
        without history map to empty arrays. Unknown ids raise ``UnknownSampleError``; ids
        several origins hold need ``origin``.
        """
        rows = self.rows_of(sample_ids, origin)
        self.drain(wait_signals=False)
        cols = self.history.query_samples(rows=rows, signal=bare_signal_name(signal))
        out = {}
        for sid, row in zip(self.table.ids_of(rows), rows.tolist()):
            mine = cols["row"] == row
            out[sid] = (cols["step"][mine][-max_points:], cols["value"][mine][-max_points:])
        return out

    def refs_at_step(self, signal: str, step: int) -> list[SampleRef]:
        """The batch of training step ``step``: ``[SampleRef(origin, sample_id)]`` of the
        samples that recorded ``signal`` at that step, in table order.

        Values an evaluation pass recorded at that step (under its marker hash) are not part of
        the batch: the validation samples of an evaluation never show up in a training step.
        """
        return self._training_refs(signal, int(step))

    def refs_in_steps(self, signal: str, first: int, last: int) -> list[SampleRef]:
        """The samples of the training batches of steps ``first`` to ``last`` (both included):
        ``[SampleRef(origin, sample_id)]``, each once, in table order. Evaluation values are
        left out as in :meth:`refs_at_step`.

        Raises InvalidValueError when ``first > last``.
        """
        if int(first) > int(last):
            raise InvalidValueError(f"first: must be <= last, got {first} > {last}")
        return self._training_refs(signal, (int(first), int(last)))

    def _training_refs(self, signal: str, step) -> list[SampleRef]:
        self.drain(wait_signals=False)
        cols = self.history.query_samples(signal=bare_signal_name(signal), step=step)
        rows = cols["row"]
        markers = {m["experiment_hash"] for m in self.history.markers()}
        if markers and len(rows):
            _, exps = self.history.names_by_id()
            evaluations = [i for i, name in exps.items() if name in markers]
            rows = rows[~np.isin(cols["exp"], evaluations)]
        rows = np.unique(rows)
        with self.lock:
            codes = self.table.origin_code[rows].tolist()
            return [SampleRef(self.table.origins[c], sid)
                    for c, sid in zip(codes, self.table.ids_of(rows))]

    def samples_at_step(self, signal: str, step: int) -> list:
        """Ids of the samples of the batch of step ``step`` (see :meth:`refs_at_step`, which
        also says each sample's origin)."""
        return [ref.sample_id for ref in self.refs_at_step(signal, step)]


def _lookup_array(names: dict[int, str]) -> np.ndarray:
    """Object array mapping ids 0..n-1 to names, with one extra None slot at the end so that
    id -1 (no experiment) maps to None."""
    out = np.full(max(names, default=-1) + 2, None, dtype=object)
    for i, name in names.items():
        out[i] = name
    return out


def _check_signal_name(name) -> str:
    """The history name of a signal given as ``"loss"`` or ``"signals//loss"``."""
    if not isinstance(name, str) or not name:
        raise InvalidTypeError(f"signal_name: expected the name of a recorded signal (a "
                               f"non-empty string), got {type(name).__name__} ({name!r})")
    return bare_signal_name(name)


def _check_optional_str(value, argument: str) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidTypeError(f"{argument}: expected a string or None, got "
                               f"{type(value).__name__} ({value!r})")
