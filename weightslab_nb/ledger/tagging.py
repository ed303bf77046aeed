"""Tags, categorical tags and discards on the sample table, and origin filters.

Every write takes ``session.lock``, validates, journals the edit (``session.files``: on disk
before the table changes, see :mod:`weightslab_nb.persistence`), makes one vectorised update
of the table's columns, bumps the change counters panels poll, and refreshes the experiment
hash (discards and the tag registry are part of the data state; tag memberships are not).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.arguments import check_optional_int
from weightslab_nb.ledger.ids import (SampleId, SampleRef, as_int_array, is_ref, normalize_one,
                                      normalize_ref)
from weightslab_nb.ledger.names import (check_tag_name, check_tag_term, check_tag_value,
                                        check_tag_values)
from weightslab_nb.ledger.sample_table import tag_column

TAG_MODES = ("add", "remove", "set")


class SampleTagging:
    """Mixin of :class:`~weightslab_nb.session.Session`: tagging, discarding and looking up
    samples by tag or origin.

    Uses the session's ``lock``, ``table``, ``registry``, ``changes``, ``files`` (the edit
    journal), ``access`` (a session opened read-only refuses edits with
    :class:`~weightslab_nb.errors.ReadOnlyError` before anything else) and
    ``refresh_experiment_hash()``.
    """

    def tag_samples(self, sample_ids, tag: str, mode: str = "add",
                    origin: str | None = None) -> None:
        """Add, remove or set a boolean tag on samples.

        Parameters
        ----------
        sample_ids : int, str or sequence of them
        tag : str
            Tag name; the table column is ``tag:<tag>``. Created by ``"add"``/``"set"``.
        mode : {"add", "remove", "set"}, default "add"
            ``"set"`` replaces the tag's membership within the origins of the given samples: they
            have the tag afterwards, every other sample of those origins loses it. (The reference
            implementation treats "set" as "add"; we implement what the word says.)
        origin : str, optional
            The origin (or loader name) the ids belong to; needed only when an id exists in
            several origins (train and validation sets that both index from 0).

        Raises
        ------
        UnknownSampleError
            Unknown ids (nothing changes).
        AmbiguousSampleError
            An id several origins hold, without ``origin=`` (nothing changes).
        ValueError
            Bad ``mode``, an empty tag name, ``"remove"`` of a tag that does not exist, or a
            categorical tag's name.
        """
        self.access.check_edit("tag_samples")
        if mode not in TAG_MODES:
            raise InvalidValueError(f"mode: expected one of {TAG_MODES}, got {mode!r}")
        check_tag_name(tag, "tag")
        with self.lock:
            rows = self.rows_of(sample_ids, origin)
            if mode == "remove":
                if tag_column(tag) not in self.table.bool_tags:
                    raise InvalidValueError(f"tag: no boolean tag named {tag!r}; known tags: "
                                            f"{self.table.tag_names()}")
                self.files.journal_edit({"op": "tag", "tag": tag, "mode": mode}, rows)
                self.table.bool_tags[tag_column(tag)][rows] = False
            else:
                if tag_column(tag) in self.table.cat_tags:
                    raise InvalidValueError(f"tag: {tag!r} is a categorical tag; use "
                                            "set_categorical_tag")
                self.files.journal_edit({"op": "tag", "tag": tag, "mode": mode}, rows)
                col = self.table.ensure_bool_tag(tag)
                if mode == "set":
                    origins = np.unique(self.table.origin_code[rows])
                    col[: len(self.table)][np.isin(self.table.origin_code[: len(self.table)],
                                                   origins)] = False
                col[rows] = True
            self.changes.table += 1
            self.changes.tags += 1
            self.refresh_experiment_hash()

    def register_tag(self, name: str) -> None:
        """Create an empty boolean tag (so panels can offer it before any sample has it)."""
        self.access.check_edit("register_tag")
        check_tag_name(name, "name")
        with self.lock:
            if tag_column(name) in self.table.cat_tags:
                raise InvalidValueError(f"name: {name!r} is a categorical tag")
            self.files.journal_edit({"op": "register_tag", "name": name})
            self.table.ensure_bool_tag(name)
            self.changes.tags += 1
            self.changes.table += 1

    def register_categorical_tag(self, name: str, values) -> None:
        """Declare a categorical tag and its allowed values (extends an existing one).

        Parameters
        ----------
        name : str
        values : sequence of str
            Non-empty, distinct strings; order is kept (panels show them in this order).

        Raises
        ------
        TypeError, ValueError
            Values that are not non-empty strings, or a name already used by a boolean tag.
        """
        self.access.check_edit("register_categorical_tag")
        check_tag_name(name, "name")
        values = list(dict.fromkeys(check_tag_values(values, "values")))
        with self.lock:
            if tag_column(name) in self.table.bool_tags:
                raise InvalidValueError(f"name: {name!r} is already a boolean tag; pick another "
                                        "name")
            self.files.journal_edit({"op": "register_categorical", "name": name,
                                     "values": values})
            self.table.ensure_categorical(name, values)
            self.changes.tags += 1
            self.changes.table += 1

    def set_categorical_tag(self, sample_ids, tag: str, value: str | None,
                            origin: str | None = None) -> None:
        """Set one value of a categorical tag on samples; ``""`` or None clears it.

        A value not yet registered is added to the tag's values; a tag not yet registered is
        created. ``origin`` says which origin's ids are meant (see :meth:`tag_samples`).

        Raises
        ------
        UnknownSampleError, AmbiguousSampleError
            Unknown ids, or ids several origins hold without ``origin=`` (nothing changes).
        TypeError, ValueError
            A non-string value, or a name used by a boolean tag.
        """
        self.access.check_edit("set_categorical_tag")
        check_tag_name(tag, "tag")
        if value is not None and value != "":
            value = check_tag_value(value, "value")
        with self.lock:
            rows = self.rows_of(sample_ids, origin)
            if tag_column(tag) in self.table.bool_tags:
                raise InvalidValueError(f"tag: {tag!r} is a boolean tag; use tag_samples")
            self.files.journal_edit({"op": "categorical", "tag": tag, "value": value or None},
                                    rows)
            cat = self.table.ensure_categorical(tag, [])
            cat.codes[rows] = -1 if not value else cat.code_of(value)
            self.changes.table += 1
            self.changes.tags += 1
            self.refresh_experiment_hash()

    def discard_samples(self, sample_ids, discarded: bool = True,
                        origin: str | None = None) -> None:
        """Mark samples as discarded (skipped by watched loaders from the next batch on) or
        restore them with ``discarded=False``. ``origin`` says which origin's ids are meant
        (see :meth:`tag_samples`). Discarded samples leave ``session.selection`` (the panels'
        selection shows what an action will apply to; restore selects nothing again).

        Raises
        ------
        UnknownSampleError, AmbiguousSampleError
            Unknown ids, or ids several origins hold without ``origin=`` (nothing changes).
        TypeError
            ``discarded`` is not a bool.
        """
        self.access.check_edit("discard_samples")
        if not isinstance(discarded, (bool, np.bool_)):
            raise InvalidTypeError(f"discarded: expected True or False, got {discarded!r}")
        with self.lock:
            rows = self.rows_of(sample_ids, origin)
            self.files.journal_edit({"op": "discard", "discarded": bool(discarded)}, rows)
            self.table.set_discarded(rows, bool(discarded))
            self.changes.table += 1
            self.refresh_experiment_hash()
            if discarded:
                t = self.table
                self.selection.remove([(t.origins[t.origin_code[r]], t.sample_id[r])
                                       for r in np.asarray(rows).tolist()])

    def get_samples_by_tag(self, tag: str, origin: str | None = "train",
                           limit: int | None = None) -> list[SampleId]:
        """Ids of samples having ``tag`` (a boolean tag, or any value of a categorical one).

        Parameters
        ----------
        tag : str
            ``"name"``, or ``"name=value"`` for one value of a categorical tag.
        origin : str or None, default "train"
            An origin or a loader name (``"train_loader"`` means ``"train"``); None for all.
        limit : int, optional
            At most this many ids, in table order.

        Raises
        ------
        ValueError
            Unknown tag or origin, or a negative limit.
        """
        from weightslab_nb.ledger.query import tag_filter

        check_tag_term(tag, "tag")
        with self.lock:
            mask = tag_filter(self.table, tag, "tag") & self._origin_mask(origin)
            return self._ids_limited(mask, limit)

    def get_discarded_samples(self, origin: str | None = "train",
                              limit: int | None = None) -> list[SampleId]:
        """Ids of discarded samples of ``origin`` (an origin or loader name; None for all)."""
        with self.lock:
            n = len(self.table)
            mask = self.table.discarded[:n] & self._origin_mask(origin)
            return self._ids_limited(mask, limit)

    def outcome_refs(self, label, prediction, origin: str | None = None) -> list[SampleRef]:
        """The samples whose target is ``label`` and whose latest recorded prediction is
        ``prediction`` (class ids, compared as numbers), as refs ``(origin, sample_id)`` in
        table order: the samples behind one cell of a confusion matrix.

        Samples without a target or without a prediction (never seen by a watched loss or
        ``save_signals(preds=...)``) never match; discarded samples do (the grid's own
        filters decide whether it shows them).

        Parameters
        ----------
        label, prediction : int or float
            Class ids (``target`` / ``prediction`` columns of the sample table).
        origin : str, optional
            An origin or loader name to look in; default every origin.

        Raises
        ------
        InvalidTypeError
            ``label`` or ``prediction`` is not a number.
        InvalidValueError
            An unknown origin.
        """
        for name, value in (("label", label), ("prediction", prediction)):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float,
                                                                             np.number)):
                raise InvalidTypeError(f"{name}: expected a class id (a number), got "
                                       f"{type(value).__name__}")
        self.drain(wait_signals=False)
        with self.lock:
            n = len(self.table)
            mask = self._origin_mask(origin)
            mask &= (self.table.target[:n] == label) & (self.table.prediction[:n] == prediction)
            rows = np.flatnonzero(mask)
            origins = self.table.origins
            return [SampleRef(origins[c], s) for c, s in
                    zip(self.table.origin_code[rows].tolist(), self.table.ids_of(rows))]

    def rows_of(self, sample_ids, origin: str | None = None, annotation_id: int = 0,
                argument: str = "sample_ids"):
        """Sample-table rows of ``sample_ids`` (int64 array, in order).

        ``origin`` (an origin or a loader name) selects which origin's ids are meant; without
        it an id resolves to the one origin that holds it.

        Raises
        ------
        UnknownSampleError
            An id the origin (or every origin) lacks.
        AmbiguousSampleError
            ``origin`` is None and an id exists in several origins (the error names them).
        InvalidValueError
            An unknown origin.
        """
        if origin is not None:
            if not isinstance(origin, str):
                raise InvalidTypeError(f"origin: expected an origin or loader name (a string) "
                                       f"or None, got {type(origin).__name__}")
            origin = self.resolve_origin(origin)
        return self.table.rows_for(sample_ids, annotation_id, argument, origin=origin)

    def sample_refs(self, samples, origin: str | None = None,
                    argument: str = "sample_ids") -> list[SampleRef]:
        """The identity of samples: a :class:`~weightslab_nb.ledger.ids.SampleRef`
        ``(origin, sample_id)`` for each, in the given order.

        Parameters
        ----------
        samples : sequence of sample ids and/or refs
            A sample id (int or str) means the one sample of that id in ``origin`` (or, without
            ``origin``, in the one origin that holds it). A ref ``(origin, sample_id)`` (a
            tuple, a list or a ``SampleRef``; the origin may be a loader name) names its own
            origin.
        origin : str, optional
            The origin (or loader name) of the bare ids. A ref of another origin is refused.

        Raises
        ------
        UnknownSampleError
            An id its origin (or every origin) lacks.
        AmbiguousSampleError
            A bare id several origins hold, without ``origin``.
        InvalidValueError
            An unknown origin, or a ref whose origin is not ``origin``.
        InvalidTypeError
            An item that is neither a sample id nor a ref.
        """
        if isinstance(samples, (str, int, np.integer)) and not isinstance(samples,
                                                                         (bool, np.bool_)):
            samples = [samples]
        elif as_int_array(samples) is not None:
            samples = as_int_array(samples).tolist()
        elif hasattr(samples, "tolist") and not isinstance(samples, (list, tuple)):
            samples = samples.tolist()
        if isinstance(samples, (str, bytes)) or not isinstance(samples, Iterable):
            raise InvalidTypeError(f"{argument}: expected a sequence of sample ids or "
                                   f"(origin, sample_id) refs, got {type(samples).__name__}")
        bare: tuple[list[int], list] = ([], [])
        refs: dict[str, tuple[list[int], list]] = {}
        for i, item in enumerate(samples):
            if is_ref(item):
                ref = normalize_ref(item, f"{argument}[{i}]")
                positions, ids = refs.setdefault(ref.origin, ([], []))
                positions.append(i)
                ids.append(ref.sample_id)
            else:
                bare[0].append(i)
                bare[1].append(normalize_one(item, f"{argument}[{i}]"))
        out: list = [None] * (len(bare[0]) + sum(len(p) for p, _ in refs.values()))
        with self.lock:
            wanted = None if origin is None else self._checked_origin(origin)
            groups = [(origin, bare)] if bare[0] else []
            for given, group in refs.items():
                resolved = self.resolve_origin(given)
                if wanted is not None and resolved != wanted:
                    raise InvalidValueError(
                        f"{argument}: [{given!r}, {group[1][0]!r}] is a sample of origin "
                        f"{resolved!r}, but origin={origin!r} was given; drop one of them")
                groups.append((resolved, group))
            for group_origin, (positions, ids) in groups:
                rows = self.rows_of(ids, group_origin, argument=argument)
                codes = self.table.origin_code[rows].tolist()
                for p, code, sid in zip(positions, codes, self.table.ids_of(rows)):
                    out[p] = SampleRef(self.table.origins[code], sid)
        return out

    def _checked_origin(self, origin) -> str:
        if not isinstance(origin, str):
            raise InvalidTypeError(f"origin: expected an origin or loader name (a string) or "
                                   f"None, got {type(origin).__name__}")
        return self.resolve_origin(origin)

    def resolve_origin(self, origin: str) -> str:
        """The origin meant by ``origin``: itself, or the origin of a loader of that name.

        Raises ``ValueError`` listing the known origins when neither matches.
        """
        if origin in self.table.origins:
            return origin
        loader = self.registry.all("data").get(origin)
        if loader is not None:
            return loader.origin
        raise InvalidValueError(f"origin: unknown origin {origin!r}; "
                                f"known: {self.table.origins or 'none'}")

    def _origin_mask(self, origin: str | None) -> np.ndarray:
        n = len(self.table)
        mask = self.table.annotation_id[:n] == 0
        if origin is not None:
            code = self.table.origins.index(self.resolve_origin(origin))
            mask &= self.table.origin_code[:n] == code
        return mask

    def _ids_limited(self, mask: np.ndarray, limit: int | None) -> list[SampleId]:
        limit = check_optional_int(limit, "limit", 0)
        rows = np.flatnonzero(mask)
        if limit is not None:
            rows = rows[:limit]
        return self.table.ids_of(rows)

    def tag_summary(self) -> dict:
        """Counts per tag: ``{"boolean": {name: n},
        "categorical": {name: {"values": [...], "counts": {value: n}}}}``."""
        with self.lock:
            n = len(self.table)
            out = {"boolean": {c[4:]: int(a[:n].sum()) for c, a in self.table.bool_tags.items()},
                   "categorical": {}}
            for c, cat in self.table.cat_tags.items():
                counts = np.bincount(cat.codes[:n][cat.codes[:n] >= 0], minlength=len(cat.values))
                out["categorical"][c[4:]] = {"values": list(cat.values),
                                             "counts": dict(zip(cat.values, counts.tolist()))}
            return out
