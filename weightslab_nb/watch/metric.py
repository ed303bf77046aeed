"""Watched losses and metrics: call the wrapped object, record what it returned."""

from __future__ import annotations

from typing import TYPE_CHECKING

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.ledger.convert import to_values
from weightslab_nb.ledger.handoff import last_batch_ids

if TYPE_CHECKING:
    from weightslab_nb.session import Session


class WatchedSignal:
    """A loss or metric whose outputs are recorded by the session.

    Call it like the wrapped object, with an extra keyword ``batch_ids`` (the ids the watched
    loader yielded; when omitted, the ids of the batch the calling thread drew last are used).

    * ``per_sample=True``: the object must return one value per sample (``[B]``, or ``[B, ...]``
      averaged per sample). The values are stored per sample (latest value in the sample table,
      every value in the per-sample history), the first two positional arguments are read as
      predictions (argmax of ``[B, C]`` scores) and targets, and the ``[B]`` values are returned
      unchanged, so ``loss.mean().backward()`` works.
    * otherwise the (scalar) result is returned unchanged and, with ``log=True``, logged per step.

    * ``per_instance=True``: the object returns one value per instance, flat and sample-major
      (detection boxes, masks). The instance -> batch position map is read from a ``batch_idx=``
      keyword (consumed, not passed on) or from a dict argument holding ``"batch_idx"``; the
      values are stored at ``(sample_id, annotation_id >= 1)`` through
      :meth:`~weightslab_nb.session.Session.save_instance_signals`.

    With ``log=True`` the batch mean, min and max go to the global history (one curve point per
    step).

    * ``evidence=True`` (the default of ``flag="loss"``; pass ``evidence=False`` to
      ``watch_or_edit`` to opt out) with ``per_sample=True``: when the predictions are ``[B, C]``
      class scores and the targets class indices, the recorder also derives each sample's
      margin, p(given label), correctness, forgetting events and class votes (the signals
      ``<name>/margin`` ... of :mod:`weightslab_nb.ledger.evidence`), off the training thread.
      Other batches (regression, masks) record the loss alone.
    """

    def __init__(self, session: "Session", fn, name: str, per_sample: bool = False,
                 log: bool = True, per_instance: bool = False, evidence: bool = False):
        if not callable(fn):
            raise InvalidTypeError(f"obj: a loss/metric must be callable, got {type(fn).__name__}")
        self.session = session
        self.fn = fn
        self.name = name
        self.per_sample = per_sample
        self.per_instance = per_instance
        self.log = log
        self.evidence = evidence

    def __call__(self, *args, batch_ids=None, **kwargs):
        batch_idx = kwargs.pop("batch_idx", None) if self.per_instance else None
        out = self.fn(*args, **kwargs)
        if self.per_instance:
            self._record_instances(out, args, kwargs, batch_ids, batch_idx)
        elif self.per_sample:
            ids = batch_ids if batch_ids is not None else last_batch_ids()
            if ids is None:
                raise InvalidValueError(f"batch_ids: signal {self.name!r} is per-sample; pass "
                                        "batch_ids= (the ids a watched loader yielded)")
            n = len(args)  # positional: the hot path's cheapest call
            self.session.record_batch(self.name, ids, out, args[0] if n else None,
                                      args[1] if n > 1 else None, None, self.log,
                                      self.evidence)
        elif self.log:
            values = to_values(out, self.name)
            self.session.record_scalar(self.name, float(values.mean()) if values.size else
                                       float("nan"), count=max(values.size, 1),
                                       vmin=float(values.min()) if values.size else None,
                                       vmax=float(values.max()) if values.size else None)
        return out

    def _record_instances(self, out, args, kwargs, batch_ids, batch_idx) -> None:
        if batch_idx is None:
            batch = next((a for a in (*args, *kwargs.values())
                          if isinstance(a, dict) and "batch_idx" in a), None)
            if batch is None:
                raise InvalidValueError(f"batch_idx: signal {self.name!r} is per-instance; pass "
                                        "batch_idx= or a batch dict holding 'batch_idx'")
            batch_idx = batch["batch_idx"]
        ids = batch_ids if batch_ids is not None else last_batch_ids()
        if ids is None:
            raise InvalidValueError(f"batch_ids: signal {self.name!r} is per-instance; pass "
                                    "batch_ids= (the ids a watched loader yielded)")
        self.session.save_instance_signals({self.name: out}, ids, batch_idx, log=self.log)

    def __getattr__(self, item):
        # attributes of the wrapped loss (reduction, weight, ...) stay reachable
        if item == "fn":
            raise AttributeError(item)
        return getattr(self.fn, item)

    def __repr__(self) -> str:
        kind = "per-instance" if self.per_instance else "per-sample" if self.per_sample else \
            "scalar"
        return f"<WatchedSignal {self.name!r} {kind} log={self.log} of {self.fn!r}>"
