"""What the session knows about one sample, for the sample detail view: its row, its dataset
item, its latest top-k classes, and the class names of its origin."""

from __future__ import annotations

from weightslab_nb.ledger.class_names import check_class_names
from weightslab_nb.ledger.ids import SampleRef
from weightslab_nb.ledger.query import page_rows
from weightslab_nb.ledger.sample_table import bare_signal_name


class SampleInfo:
    """Mixin of :class:`~weightslab_nb.session.Session`: one sample's view.

    Uses the session's ``lock``, ``table``, ``recorder``, ``registry``, ``rows_of()``,
    ``resolve_origin()``, ``drain()`` and ``class_names_by_origin`` (a dict).
    """

    def set_class_names(self, origin: str, names) -> None:
        """Name the classes of ``origin``'s labels (``class_names=`` of a watched loader does
        it): a sequence of str (class ``i`` is ``names[i]``) or a dict ``{int: str}``.

        Raises
        ------
        InvalidTypeError, InvalidValueError
            See :func:`~weightslab_nb.ledger.class_names.check_class_names`; an unknown origin.
        """
        checked = check_class_names(names)
        with self.lock:
            self.class_names_by_origin[self.resolve_origin(origin)] = checked

    def class_names(self, origin: str) -> dict[int, str]:
        """``{class index: name}`` of ``origin`` (an origin or loader name); empty when none
        were given. Raises ``InvalidValueError`` for an unknown origin."""
        with self.lock:
            return dict(self.class_names_by_origin.get(self.resolve_origin(origin), {}))

    def sample_ref(self, sample_id, origin: str | None = None) -> SampleRef:
        """The identity ``(origin, sample_id)`` of one sample.

        Raises
        ------
        UnknownSampleError, AmbiguousSampleError, InvalidValueError
            As :meth:`rows_of`.
        """
        row = int(self.rows_of([sample_id], origin, argument="sample_id")[0])
        with self.lock:
            return SampleRef(self.table.origins[self.table.origin_code[row]],
                             self.table.sample_id[row])

    def sample_row(self, sample_id, origin: str | None = None) -> dict:
        """The sample-table row of one sample, as the grid shows it: ``sample_id``, ``origin``,
        ``ref``, ``target``, ``prediction``, ``discarded``, ``tags``, ``categorical``,
        ``signals`` (NaN -> None) and ``loss`` (of the grid's loss column)."""
        rows = self.rows_of([sample_id], origin, argument="sample_id")
        self.drain(wait_signals=False)
        with self.lock:
            return page_rows(self.table, rows, self.recorder.loss_column)[0]

    def sample_item(self, sample_id, origin: str | None = None) -> tuple:
        """``(inputs, targets)`` of a sample's dataset item (read from its watched loader; the
        targets may be None). Raises as ``Session.loader_of``: UnknownSampleError,
        AmbiguousSampleError, or UnknownNameError when no watched loader holds the sample."""
        loader, sid = self.loader_of(sample_id, origin)
        return loader.sample_item(sid)

    def top_classes(self, sample_id, origin: str | None = None) -> dict[str, list]:
        """The latest top-k classes of a sample and their softmax probabilities, per loss with
        classification evidence: ``{loss name: [(class, probability), ...]}`` (most probable
        first, at most :data:`~weightslab_nb.ledger.evidence.TOP_K`); empty when no logits of
        it were seen in this process."""
        row = int(self.rows_of([sample_id], origin, argument="sample_id")[0])
        self.drain(wait_signals=False)
        with self.lock:
            out = {bare_signal_name(c): top.of(row) for c, top in self.recorder.top_classes.items()}
        return {name: top for name, top in out.items() if top}
