"""UI state shared by the panels of one session: the selection (the grid selects, the tag editor
applies) and the step highlight (a curve click sets it, the grid shows its batch)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from weightslab_nb.errors import InvalidValueError
from weightslab_nb.ledger.ids import SampleRef, normalize_ref


class Selection:
    """The samples selected in the panels: a thread-safe, ordered set of
    :class:`~weightslab_nb.ledger.ids.SampleRef` ``(origin, sample_id)``, with a version that
    grows on every change.

    The session's selection (``session.selection``) resolves what it is given: bare sample ids
    (each must be held by one origin, or by ``origin=``) and refs (``(origin, sample_id)``
    tuples or lists; a loader name is read as its origin). A selection made without a
    ``resolve`` function takes refs only and does not check them.

    Parameters
    ----------
    resolve : callable, optional
        ``resolve(samples, origin) -> list[SampleRef]``, raising for unknown or ambiguous
        samples (the session's :meth:`~weightslab_nb.session.Session.sample_refs`).
    """

    def __init__(self, resolve: Callable | None = None):
        self._lock = threading.Lock()
        self._refs: list[SampleRef] = []
        self._resolve = resolve
        self.version = 0

    def set(self, samples, origin: str | None = None) -> None:
        """Replace the selection with ``samples`` (duplicates dropped, order kept).

        Parameters
        ----------
        samples : sequence of sample ids and/or ``(origin, sample_id)`` refs
        origin : str, optional
            The origin (or loader name) of the bare ids; needed only for an id that several
            origins hold (train and validation sets that both index from 0).

        Raises
        ------
        UnknownSampleError, AmbiguousSampleError, InvalidValueError, InvalidTypeError
            As :meth:`Session.sample_refs`; the selection is unchanged then.
        """
        if self._resolve is not None:
            refs = self._resolve(samples, origin)
        else:
            if origin is not None:
                raise InvalidValueError("origin: this selection takes (origin, sample_id) refs "
                                        "only")
            refs = [normalize_ref(r, f"samples[{i}]") for i, r in enumerate(samples)]
        self._replace(list(dict.fromkeys(SampleRef(*r) for r in refs)))

    def clear(self) -> None:
        """Empty the selection."""
        self._replace([])

    def remove(self, refs) -> int:
        """Drop ``refs`` (``(origin, sample_id)`` each) from the selection; return how many were
        selected. The version grows only when something was dropped (discarded samples leave
        the selection this way: :meth:`Session.discard_samples`)."""
        gone = {SampleRef(*r) for r in refs}
        with self._lock:
            kept = [r for r in self._refs if r not in gone]
            dropped = len(self._refs) - len(kept)
            if dropped:
                self._refs = kept
                self.version += 1
        return dropped

    def _replace(self, refs: list) -> None:
        with self._lock:
            self._refs = refs
            self.version += 1

    def get(self) -> list[SampleRef]:
        """A copy of the selected samples, ``[SampleRef(origin, sample_id), ...]``, in
        selection order."""
        with self._lock:
            return list(self._refs)

    def snapshot(self) -> tuple[list[SampleRef], int]:
        """The selected samples (as :meth:`get`) and the version they are at, read together:
        a panel sends both, so a view can drop a push older than its own last change."""
        with self._lock:
            return list(self._refs), self.version

    def ids(self) -> list:
        """The selected sample ids, in selection order (an id of two origins appears twice)."""
        with self._lock:
            return [r.sample_id for r in self._refs]

    def by_origin(self) -> dict[str, list]:
        """``{origin: [sample_id, ...]}`` of the selection, e.g. for
        ``session.tag_samples(ids, tag, origin=origin)``."""
        out: dict[str, list] = {}
        with self._lock:
            for origin, sid in self._refs:
                out.setdefault(origin, []).append(sid)
        return out

    def __len__(self) -> int:
        with self._lock:
            return len(self._refs)

    def __repr__(self) -> str:
        counts = {o: len(ids) for o, ids in self.by_origin().items()}
        return f"<Selection {len(self)} sample(s) {counts}>"


#: Most ids one highlight may hold (a step's batch is far smaller in practice).
MAX_HIGHLIGHT = 1_000_000


@dataclass(frozen=True)
class Highlight:
    """A set of highlighted samples ``refs`` (``SampleRef(origin, sample_id)``) and where they
    came from.

    ``source`` says what made it: ``"step"`` (the batch that recorded ``signal`` at training
    step ``step``, from a click on a curve), ``"steps"`` (the batches of steps ``step`` to
    ``step_end``), ``"confusion"`` (the samples with one (label, prediction) pair, from a click
    on a confusion-matrix cell) or any other short word a feature uses. ``label`` is the text
    the panels show for it ("step 1.2k batch", "label 3 → predicted 5").
    """

    version: int
    signal: str | None
    step: int | None
    refs: tuple
    members: frozenset
    label: str = ""
    source: str = "step"
    step_end: int | None = None

    @property
    def count(self) -> int:
        """Samples highlighted."""
        return len(self.refs)

    @property
    def sample_ids(self) -> tuple:
        """The ids of :attr:`refs` (without their origins)."""
        return tuple(r.sample_id for r in self.refs)

    def info(self) -> dict:
        """What the views get (no ids: the grid asks for its pages)."""
        return {"version": self.version, "signal": self.signal, "step": self.step,
                "step_end": self.step_end, "count": self.count, "label": self.label,
                "source": self.source}

    def __contains__(self, ref) -> bool:
        """Whether ``ref`` (``(origin, sample_id)``) is highlighted."""
        return tuple(ref) in self.members


class HighlightBus:
    """The current highlight of one session; thread-safe.

    ``version`` grows on every change (set or clear); panels poll it and registered publishers
    are woken at once (:meth:`add_listener`).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._version = 0
        self._current: Highlight | None = None
        self._listeners: weakref.WeakSet = weakref.WeakSet()

    @property
    def version(self) -> int:
        """Grows with every change of the highlight (set or cleared)."""
        return self._version

    def get(self) -> Highlight | None:
        """The current highlight, or None."""
        with self._lock:
            return self._current

    def info(self) -> dict:
        """``Highlight.info()`` of the current highlight, or ``{"version"}`` alone when none."""
        with self._lock:
            if self._current is None:
                return {"version": self._version}
            return self._current.info()

    def set(self, signal: str, step: int, refs) -> Highlight:
        """Highlight the samples ``refs`` (``(origin, sample_id)`` each) of ``signal`` at
        ``step`` (the batch of that step; ``source="step"``)."""
        return self.set_refs(refs, label=f"step {int(step):,} batch", source="step",
                             signal=signal, step=int(step))

    def set_refs(self, refs, *, label: str, source: str, signal: str | None = None,
                 step: int | None = None, step_end: int | None = None) -> Highlight:
        """Highlight any samples ``refs`` (``(origin, sample_id)`` each, at most
        :data:`MAX_HIGHLIGHT`), shown as ``label``; see :class:`Highlight` for ``source``.

        Raises InvalidValueError (nothing changes) for a bad ref or too many refs.
        """
        refs = tuple(dict.fromkeys(normalize_ref(r, "refs") for r in refs))
        if len(refs) > MAX_HIGHLIGHT:
            raise InvalidValueError(f"refs: at most {MAX_HIGHLIGHT} samples can be highlighted")
        with self._lock:
            self._version += 1
            self._current = Highlight(self._version, signal, step, refs, frozenset(refs),
                                      label=str(label), source=str(source), step_end=step_end)
            current = self._current
        self._notify()
        return current

    def clear(self) -> bool:
        """Remove the highlight; False when there was none (nothing changes then)."""
        with self._lock:
            if self._current is None:
                return False
            self._version += 1
            self._current = None
        self._notify()
        return True

    def add_listener(self, publisher) -> None:
        """Wake ``publisher`` (anything with ``wake()``) on every change; held weakly."""
        self._listeners.add(publisher)

    def remove_listener(self, publisher) -> None:
        """Stop waking ``publisher`` on changes (a closed panel; unknown ones are ignored)."""
        self._listeners.discard(publisher)

    def _notify(self) -> None:
        for p in list(self._listeners):
            try:
                p.wake()
            except Exception:  # a closed panel: never let one listener break the others
                pass
