"""Compare a saved data state with a session (:func:`diff_state`) and apply it
(:func:`apply_state`).

Applying makes the discards and tags of every sample the state *covers* (in the state and in
the session) equal to the state's:

* a covered sample discarded in the state is discarded; one active in the state is restored,
  even when it is discarded now (the state says what training draws);
* each boolean tag and each categorical tag's value is set as the state has it; a tag the
  session has and the state does not know is removed from the covered samples (the tag itself
  stays registered); the state's tags and categorical values are registered first;
* samples the session has and the state does not mention are left as they are, and reported.

Edits go through the session's public methods (``discard_samples``, ``tag_samples``,
``set_categorical_tag``, ``register_*``), so they are journaled and persisted as user edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from weightslab_nb.data_state.files import DataState, ids_fingerprint, read_state
from weightslab_nb.data_state.save import selected_origins
from weightslab_nb.errors import InvalidTypeError, InvalidValueError, StateError

if TYPE_CHECKING:
    from weightslab_nb.session import Session

SHOWN_IDS = 20  # ids listed per origin in a report (the counts are complete)
TRAINING_STATES = ("running", "paused")


class DataStateMismatchError(StateError):
    """``apply_state(..., strict=True)`` found the state's samples differ from the session's;
    nothing was applied. ``.report`` is the :class:`ApplyReport` (``applied`` all zero)."""

    def __init__(self, message: str, report: "ApplyReport"):
        super().__init__(message)
        self.report = report


@dataclass
class OriginReport:
    """How a state's samples of one origin match the session's.

    ``samples``: ids in the state; ``covered``: of them, those the session has; ``missing`` /
    ``unmentioned``: the first :data:`SHOWN_IDS` ids the state has and the session lacks / the
    session has and the state lacks, with ``missing_count`` / ``unmentioned_count`` the full
    counts; ``fingerprint``: ``(saved, now)`` fingerprints of the origin's ids;
    ``loaders``: loader name -> ``(saved, now)`` for each loader the state recorded whose ids
    differ now (``now`` None: no loader of that name is watched).
    """

    samples: int
    covered: int
    missing: list
    missing_count: int
    unmentioned: list
    unmentioned_count: int
    fingerprint: tuple[str, str | None]
    loaders: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    @property
    def fingerprint_matches(self) -> bool:
        """The session's ids of this origin, and of each recorded loader, are the state's."""
        return self.fingerprint[0] == self.fingerprint[1] and not self.loaders

    def to_dict(self) -> dict:
        """A JSON-able dict of the fields (plus ``fingerprint_matches``)."""
        return {"samples": self.samples, "covered": self.covered, "missing": self.missing,
                "missing_count": self.missing_count, "unmentioned": self.unmentioned,
                "unmentioned_count": self.unmentioned_count,
                "fingerprint": list(self.fingerprint),
                "loaders": {k: list(v) for k, v in self.loaders.items()},
                "fingerprint_matches": self.fingerprint_matches}


@dataclass
class ApplyReport:
    """What :func:`apply_state` did: ``applied`` counts (``discarded``, ``restored``,
    ``tagged``, ``untagged``, ``categorical``: samples changed), ``origins`` (origin ->
    :class:`OriginReport`) and ``identity`` (what the session recorded as the state it trains
    on)."""

    applied: dict[str, int]
    origins: dict[str, OriginReport]
    identity: dict

    @property
    def missing(self) -> dict[str, int]:
        """origin -> number of the state's ids the session lacks (origins with some)."""
        return {o: r.missing_count for o, r in self.origins.items() if r.missing_count}

    @property
    def fingerprint_mismatch(self) -> list[str]:
        """Origins whose ids (or whose loaders' ids) differ from the state's."""
        return [o for o, r in self.origins.items() if not r.fingerprint_matches]

    @property
    def exact(self) -> bool:
        """The session's samples are exactly the state's (no id missing or unmentioned)."""
        return not self.fingerprint_mismatch

    def to_dict(self) -> dict:
        """A JSON-able dict: ``applied``, ``origins``, ``identity``, ``exact``."""
        return {"applied": dict(self.applied), "identity": dict(self.identity),
                "origins": {o: r.to_dict() for o, r in self.origins.items()},
                "exact": self.exact}

    def summary(self) -> str:
        """One line for people: what changed, and what did not match."""
        a = self.applied
        text = (f"{a['discarded']} discarded, {a['restored']} restored, {a['tagged']} tagged, "
                f"{a['untagged']} untagged, {a['categorical']} categorical values set")
        for origin, r in self.origins.items():
            if r.missing_count:
                text += f"; {origin}: {r.missing_count} ids of the state not in the session"
            if r.unmentioned_count:
                text += f"; {origin}: {r.unmentioned_count} samples not in the state (kept)"
        return text


@dataclass
class _OriginPlan:
    """The edits that make one origin's covered samples equal to the state."""

    discard: list = field(default_factory=list)
    restore: list = field(default_factory=list)
    tag_add: dict[str, list] = field(default_factory=dict)
    tag_remove: dict[str, list] = field(default_factory=dict)
    cat_set: dict[str, dict] = field(default_factory=dict)  # tag -> value (None) -> ids
    cat_terms: dict[str, list[int]] = field(default_factory=dict)  # "t=v" -> [added, removed]


def _check_conflicts(session: "Session", state: DataState) -> None:
    with session.lock:
        bools = {c[4:] for c in session.table.bool_tags}
        cats = {c[4:] for c in session.table.cat_tags}
    clash = sorted((set(state.boolean) & cats) | (set(state.categorical) & bools))
    if clash:
        raise InvalidValueError(f"state: tags {clash} are boolean in one of the state and the "
                                "session and categorical in the other; rename them first")


def _origin_plan(session: "Session", origin: str, state: DataState) -> tuple[_OriginPlan,
                                                                              OriginReport]:
    """Compare the state's samples of ``origin`` with the session's (under its lock)."""
    part = state.origins[origin]
    saved_fp = state.manifest.get("origins", {}).get(origin, {}).get("fingerprint") or \
        ids_fingerprint(part.ids)
    plan = _OriginPlan()
    with session.lock:
        table = session.table
        known = origin in table.origins
        rows_now = table.sample_rows(origin) if known else np.empty(0, dtype=np.int64)
        ids_now = table.ids_of(rows_now)
        row_of = dict(zip(ids_now, rows_now.tolist()))
        found = np.fromiter((row_of.get(s, -1) for s in part.ids), dtype=np.int64,
                            count=len(part.ids))
        covered = found >= 0
        rows, at = found[covered], np.flatnonzero(covered)
        ids = np.empty(len(at), dtype=object)
        ids[:] = [part.ids[i] for i in at.tolist()]
        want, have = part.discarded[at], table.discarded[rows]
        plan.discard = ids[want & ~have].tolist()
        plan.restore = ids[~want & have].tolist()
        for name in dict.fromkeys([*state.boolean, *(c[4:] for c in table.bool_tags)]):
            want_tag = part.bool_tags[name][at] if name in part.bool_tags else \
                np.zeros(len(at), dtype=bool)
            col = table.bool_tags.get("tag:" + name)
            have_tag = col[rows] if col is not None else np.zeros(len(at), dtype=bool)
            plan.tag_add[name] = ids[want_tag & ~have_tag].tolist()
            plan.tag_remove[name] = ids[~want_tag & have_tag].tolist()
        for name in dict.fromkeys([*state.categorical, *(c[4:] for c in table.cat_tags)]):
            want_v = part.cat_tags[name][at] if name in part.cat_tags else \
                np.full(len(at), None, dtype=object)
            cat = table.cat_tags.get("tag:" + name)
            have_v = np.array([*cat.values, None], dtype=object)[cat.codes[rows]] \
                if cat is not None else np.full(len(at), None, dtype=object)
            changed = want_v != have_v
            groups: dict = {}
            for sid, value in zip(ids[changed].tolist(), want_v[changed].tolist()):
                groups.setdefault(value, []).append(sid)
            plan.cat_set[name] = groups
            for value in {*want_v[changed].tolist(), *have_v[changed].tolist()} - {None}:
                plan.cat_terms[f"{name}={value}"] = [
                    int(np.sum(changed & (want_v == value))),
                    int(np.sum(changed & (have_v == value)))]
        mentioned = set(part.ids)
        unmentioned = [s for s in ids_now if s not in mentioned]
        loaders = {}
        for name, saved in state.loaders.get(origin, {}).items():
            loader = session.registry.all("data").get(name)
            now = None if loader is None else ids_fingerprint(loader.sample_ids)
            if now != saved:
                loaders[name] = (saved, now)
    missing = [part.ids[i] for i in np.flatnonzero(~covered).tolist()]
    report = OriginReport(len(part.ids), int(covered.sum()), missing[:SHOWN_IDS], len(missing),
                          unmentioned[:SHOWN_IDS], len(unmentioned),
                          (saved_fp, ids_fingerprint(ids_now) if known else None), loaders)
    return plan, report


def _state_origins(session: "Session", state: DataState, origin) -> list[str]:
    if origin is None:
        return list(state.origins)
    if not isinstance(origin, str):
        raise InvalidTypeError(f"origin: expected an origin or loader name (a string) or None, "
                               f"got {type(origin).__name__}")
    if origin in state.origins:
        return [origin]
    for name, loaders in state.loaders.items():  # a loader name the state recorded
        if origin in loaders:
            return [name]
    resolved = selected_origins(session, origin)[0]  # a loader name of the session
    if resolved not in state.origins:
        raise InvalidValueError(f"origin: the state holds no samples of {resolved!r}; it has "
                                f"{sorted(state.origins)}")
    return [resolved]


def _plans(session, directory, origin):
    state = read_state(directory)
    _check_conflicts(session, state)
    return state, {o: _origin_plan(session, o, state)
                   for o in _state_origins(session, state, origin)}


def diff_state(session: "Session", directory, origin: str | None = None) -> dict:
    """What applying the state in ``directory`` would change in the session now.

    Parameters
    ----------
    session : Session
    directory : str or Path
        A directory :func:`~weightslab_nb.data_state.save_state` wrote.
    origin : str, optional
        Compare this origin (or loader name) only; default every origin of the state.

    Returns
    -------
    dict
        ``{"discards": {"added": n, "removed": n}, "tags": {term: {"added": n, "removed": n}},
        "registry": {"boolean": [new tag names], "categorical": {name: [new values]}},
        "origins": {origin: OriginReport.to_dict()}, "digest": the state's digest}``.
        "added" is what the state has and the session does not (a discard added: a sample the
        state discards and the session trains on now); a term is a boolean tag's name or
        ``"name=value"`` of a categorical tag. Terms without any change are left out.

    Raises
    ------
    MissingFileError, InvalidValueError
        Not a data state directory, an origin the state does not hold, or tags that are
        boolean on one side and categorical on the other.
    """
    state, plans = _plans(session, directory, origin)
    tags: dict[str, dict[str, int]] = {}
    added = removed = 0
    for plan, _ in plans.values():
        added, removed = added + len(plan.discard), removed + len(plan.restore)
        changes = [(name, len(plan.tag_add[name]), len(plan.tag_remove[name]))
                   for name in plan.tag_add]
        for term, a, r in changes + [(t, a, r) for t, (a, r) in plan.cat_terms.items()]:
            entry = tags.setdefault(term, {"added": 0, "removed": 0})
            entry["added"] += a
            entry["removed"] += r
    with session.lock:
        bools = {c[4:] for c in session.table.bool_tags}
        cats = {c[4:]: set(cat.values) for c, cat in session.table.cat_tags.items()}
    new_cat = {n: [v for v in values if v not in cats.get(n, set())]
               for n, values in state.categorical.items()}
    return {"discards": {"added": added, "removed": removed},
            "tags": {t: c for t, c in tags.items() if c["added"] or c["removed"]},
            "registry": {"boolean": [n for n in state.boolean if n not in bools],
                         "categorical": {n: v for n, v in new_cat.items() if v}},
            "origins": {o: report.to_dict() for o, (_, report) in plans.items()},
            "digest": state.manifest.get("digest")}


def apply_state(session: "Session", directory, origin: str | None = None, strict: bool = False,
                identity: dict | None = None) -> ApplyReport:
    """Apply the data state saved in ``directory`` to the session, before training.

    Parameters
    ----------
    session : Session
    directory : str or Path
        A directory :func:`~weightslab_nb.data_state.save_state` wrote.
    origin : str, optional
        Apply this origin (or loader name) of the state only; default every origin it holds.
    strict : bool, default False
        Refuse (raise :class:`DataStateMismatchError`, nothing applied) when the session's
        samples of an applied origin are not exactly the state's: ids missing on either side, or
        a recorded loader's ids differing. Without it those are reported in the result.
    identity : dict, optional
        What to record as the state the run trains on (``{"name", "version", ...}``, JSON-able);
        the state's ``digest`` is added. Default ``{"digest", "path"}``. It goes into the
        experiment hash and ``manifest.json`` (:meth:`Session.note_data_state`), and into
        ``run.config["data_state"]`` of a running ``wl.init()`` run.

    Returns
    -------
    ApplyReport
        Counts of what changed, ids missing per origin (first :data:`SHOWN_IDS` and the count),
        ids the session has that the state does not mention, fingerprint mismatches.

    Raises
    ------
    StateError
        Training is running or paused (apply before it starts, or after it stopped).
    DataStateMismatchError
        ``strict=True`` and the samples differ (a :class:`StateError`).
    MissingFileError, InvalidValueError, InvalidTypeError
        As :func:`diff_state`, or a bad ``identity``. Nothing is applied on any error.

    See the module docstring for what "apply" does to samples discarded now.
    """
    if not isinstance(strict, bool):
        raise InvalidTypeError(f"strict: expected True or False, got {strict!r}")
    if identity is not None and not isinstance(identity, dict):
        raise InvalidTypeError(f"identity: expected a dict or None, got "
                               f"{type(identity).__name__}")
    _check_idle(session)
    state, plans = _plans(session, directory, origin)
    identity = {**({"path": str(directory)} if identity is None else identity),
                "digest": state.manifest.get("digest")}
    applied = dict.fromkeys(("discarded", "restored", "tagged", "untagged", "categorical"), 0)
    report = ApplyReport(applied, {o: r for o, (_, r) in plans.items()}, identity)
    if strict and not report.exact:
        raise DataStateMismatchError(
            f"apply_state: the session's samples differ from the state's (nothing applied): "
            f"{report.summary()}; fingerprint mismatch in {report.fingerprint_mismatch}", report)
    _check_idle(session)
    for name in state.boolean:
        session.register_tag(name)
    for name, values in state.categorical.items():
        if values:
            session.register_categorical_tag(name, values)
    for o, (plan, _) in plans.items():
        _run_plan(session, o, plan, applied)
    session.note_data_state(identity)
    run = getattr(session, "run", None)
    if run is not None and getattr(run, "state", None) == "running":
        run.config["data_state"] = identity
    return report


def _check_idle(session: "Session") -> None:
    if session.controller.state in TRAINING_STATES:
        raise StateError(f"apply_state: training is {session.controller.state}; apply a data "
                         "state before training starts (or after it stopped)")


def _run_plan(session: "Session", origin: str, plan: _OriginPlan, applied: dict) -> None:
    if plan.discard:
        session.discard_samples(plan.discard, True, origin=origin)
        applied["discarded"] += len(plan.discard)
    if plan.restore:
        session.discard_samples(plan.restore, False, origin=origin)
        applied["restored"] += len(plan.restore)
    for name, ids in plan.tag_add.items():
        if ids:
            session.tag_samples(ids, name, "add", origin=origin)
            applied["tagged"] += len(ids)
    for name, ids in plan.tag_remove.items():
        if ids:
            session.tag_samples(ids, name, "remove", origin=origin)
            applied["untagged"] += len(ids)
    for name, groups in plan.cat_set.items():
        for value, ids in groups.items():
            session.set_categorical_tag(ids, name, value, origin=origin)
            applied["categorical"] += len(ids)
