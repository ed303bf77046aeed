"""Evaluation mode: an inference pass over a watched loader while training is paused.

A request (from code, the controls panel or the CLI) names a watched loader and optionally tags
(only samples having every tag are evaluated). The controller pauses training; once the training
thread is held at its batch boundary (or no training runs), a background thread runs the pass:
the registered :func:`eval_fn` (or the default) iterates a *managed loader* over the chosen
samples, and every watched signal it calls records into an evaluation buffer instead of the
training curves. At the end:

* each signal's per-sample values are stored for the evaluated samples (latest value in the
  sample table, history rows under the evaluation's experiment hash);
* one *evaluation marker* per signal goes to the global history at the current step, under the
  hash ``<experiment hash>_<N>`` (N counts the evaluations of that experiment, from 1);
* one summary line is printed to the process's terminal (``sys.__stdout__``, or the caller's
  stdout for :func:`run_pending_evaluation`), e.g.
  ``[WeightsLab] Evaluation 'val_loader' @ step 1200 — eval_loss=0.2314, accuracy=0.9120``.

While ranks launched from the notebook train, the pass runs on rank 0, which holds the trained
model (the controller's ``delegate``, :mod:`weightslab_nb.distributed.remote_eval`); what it
records is committed here as above.

Training stays paused afterwards unless the request asked ``resume=True``. One evaluation runs
at a time; further requests queue (at most :data:`MAX_QUEUED`, then they are refused).
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from weightslab_nb.errors import (InvalidTypeError, InvalidValueError, StateError, UnknownNameError,
                                  WeightslabError)
from weightslab_nb.arguments import check_bool, check_optional_seconds
from weightslab_nb.ledger.handoff import hand_over
from weightslab_nb.ledger.names import check_tag_term
from weightslab_nb.ledger.sample_table import bare_signal_name
from weightslab_nb.session import register_feature
from weightslab_nb.watch.batches import unpack_batch

if TYPE_CHECKING:
    from weightslab_nb.ledger.recorder import Capture
    from weightslab_nb.session import Session

log = logging.getLogger(__name__)

MAX_QUEUED = 4
_ids = itertools.count(1)


class EvaluationCancelled(WeightslabError):
    """Raised by the managed loader when the evaluation was cancelled or timed out."""


@dataclass
class EvaluationRequest:
    """One requested evaluation; returned by :meth:`EvaluationController.request`.

    Attributes
    ----------
    state : str
        ``"pending"``, ``"running"``, ``"done"``, ``"cancelled"``, ``"timed_out"`` or
        ``"failed"``.
    result : dict[str, float]
        Signal name -> mean over the evaluated samples (when done).
    step : int
        Training step the evaluation ran at; ``marker_hash`` the hash its marker carries.
    progress : tuple[int, int]
        (batches done, batches in total).
    """

    loader_name: str
    tags: tuple[str, ...] = ()
    timeout: float | None = None
    resume: bool = False
    id: int = field(default_factory=lambda: next(_ids))
    state: str = "pending"
    result: dict = field(default_factory=dict)
    error: str | None = None
    step: int | None = None
    marker_hash: str | None = None
    summary: str | None = None
    progress: tuple[int, int] = (0, 0)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> None:
        """Stop the pass at its next batch (or drop it from the queue)."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the evaluation finished (any final state); False on timeout."""
        return self._done.wait(timeout)

    @property
    def cancel_requested(self) -> bool:
        """True once :meth:`cancel` was called (the pass may still be running)."""
        return self._cancel.is_set()

    @property
    def finished(self) -> bool:
        """True once the request reached a final state."""
        return self._done.is_set()


class ManagedLoader:
    """The loader an evaluation function iterates: ``(inputs, targets, sample_ids)`` batches over
    the requested samples, checking cancellation and the timeout before each batch and counting
    progress. Discarded samples are evaluated too (evaluation reads, it does not train)."""

    def __init__(self, request: EvaluationRequest, loader, indices: np.ndarray):
        self.request = request
        self.loader = loader
        self.indices = indices
        self.batch_size = loader.batch_size
        self._deadline = None if request.timeout is None else time.monotonic() + request.timeout
        self._collate = loader._loader.collate_fn

    def __len__(self) -> int:
        return -(-len(self.indices) // self.batch_size)

    def __iter__(self):
        int_ids = all(isinstance(s, int) for s in self.loader.sample_ids[:1])
        total = len(self)
        for b in range(total):
            if self.request._cancel.is_set():
                raise EvaluationCancelled("cancelled")
            if self._deadline is not None and time.monotonic() > self._deadline:
                raise EvaluationCancelled("timed out")
            chunk = self.indices[b * self.batch_size : (b + 1) * self.batch_size]
            batch = self._collate([self.loader.dataset[int(i)] for i in chunk])
            inputs, targets, _ = unpack_batch(batch)
            ids = [self.loader.sample_ids[int(i)] for i in chunk]
            if int_ids:
                import torch

                ids = torch.tensor(ids, dtype=torch.int64)
            # losses called with these ids record them as this loader's samples
            hand_over(self.loader.session.table, ids, self.loader.rows[chunk])
            self.request.progress = (b, total)
            yield inputs, targets, ids
        self.request.progress = (total, total)


def default_eval_fn(session: "Session", model=None, device=None):
    """The built-in pass: ``model(inputs)`` under ``torch.no_grad()`` (inputs moved to
    ``device`` when given), then every watched loss/metric called as
    ``signal(preds, targets, batch_ids=ids)``. ``model`` defaults to the first watched one."""
    def run(loader: ManagedLoader) -> None:
        import torch

        nonlocal model
        if model is None:
            models = list(session.registry.all("model").values())
            if not models:
                raise StateError("evaluation: no model is watched (watch_or_edit(model, "
                                 "flag='model')) and no @wl.eval_fn is registered")
            model = models[0]
        signals = list(session.registry.all("signal").values())
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                for inputs, targets, ids in loader:
                    if device is not None:
                        inputs = inputs.to(device)
                        targets = targets.to(device) if hasattr(targets, "to") else targets
                    preds = model(inputs)
                    for signal in signals:
                        signal(preds, targets, batch_ids=ids)
        finally:
            model.train(was_training)
    return run


class EvaluationController:
    """Queue and worker of evaluations for one session (``session.evaluation``).

    Built by ``session.feature("evaluation")``; it keeps training paused while a request runs
    or waits (the session's ``resume_blockers``) and cancels what is left when the session
    closes (``on_close``).
    """

    def __init__(self, session: "Session"):
        self.session = session
        self._lock = threading.Lock()
        self._queue: list[EvaluationRequest] = []
        self._running: EvaluationRequest | None = None
        self._worker: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.eval_fn = None
        # where the passes run when not in this process: while ranks launched from the notebook
        # train, rank 0 runs them (weightslab_nb.distributed.remote_eval)
        self.delegate: Callable[[EvaluationRequest, np.ndarray], "Capture"] | None = None
        self.history: list[EvaluationRequest] = []
        self._counts: dict[str, int] = {}
        session.resume_blockers.append(self.busy)
        session.on_close.append(self.close)

    # ---------------------------------------------------------------- requests
    def request(self, loader_name: str, tags=None, timeout: float | None = None,
                resume: bool = False) -> EvaluationRequest:
        """Queue an evaluation of a watched loader (by loader name or origin).

        Raises
        ------
        KeyError
            No watched loader of that name/origin.
        ValueError
            Unknown tags, a subset with no samples, a non-positive timeout, or a full queue.
        """
        loader = self._loader(loader_name)
        if tags is not None and not isinstance(tags, (str, list, tuple)):
            raise InvalidTypeError(f"tags: expected a tag, a list of tags or None, got "
                                   f"{type(tags).__name__}")
        tags = (tags,) if isinstance(tags, str) else tuple(tags or ())
        for i, term in enumerate(tags):
            check_tag_term(term, f"tags[{i}]")
        self._indices(loader, tags)  # validates the tags now
        timeout = check_optional_seconds(timeout, "timeout")
        resume = check_bool(resume, "resume")
        req = EvaluationRequest(loader.name, tags, timeout, resume)
        with self._lock:
            if len(self._queue) >= MAX_QUEUED:
                raise InvalidValueError(f"evaluation: {MAX_QUEUED} requests are already queued; "
                                        "wait for them or cancel one")
            self._queue.append(req)
        self.session.controller.pause()
        self._ensure_worker()
        self._wake.set()
        self.session.changes.controller += 1
        return req

    def queued(self) -> list[EvaluationRequest]:
        """Requests waiting to run (not the running one), oldest first."""
        with self._lock:
            return list(self._queue)

    def find(self, request_id: int) -> EvaluationRequest | None:
        """The request of id ``request_id``: running, queued or finished; None if unknown."""
        running = self._running
        live = ([running] if running is not None else []) + self.queued()
        return next((r for r in (*live, *reversed(self.history)) if r.id == request_id), None)

    def busy(self) -> str | None:
        """Why training must stay paused now (an evaluation runs or waits), else None."""
        with self._lock:
            if self._running is not None:
                return f"evaluation of {self._running.loader_name!r} is running"
            if self._queue:
                return f"{len(self._queue)} evaluation(s) are waiting to run"
        return None

    def pending(self) -> EvaluationRequest | None:
        """The next queued request, or None."""
        with self._lock:
            return self._queue[0] if self._queue else None

    @property
    def running(self) -> EvaluationRequest | None:
        """The request being evaluated now, or None."""
        return self._running

    def _claim(self) -> EvaluationRequest | None:
        with self._lock:
            while self._queue:
                req = self._queue.pop(0)
                if req._cancel.is_set():
                    self._finish(req, "cancelled", "cancelled before it started")
                    continue
                self._running = req
                return req
            return None

    def _loader(self, name: str):
        loader = self.session.registry.all("data").get(name) or \
            self.session.registry.loader_for_origin(name)
        if loader is None:
            known = ", ".join(self.session.registry.all("data")) or "none"
            raise UnknownNameError(f"loader_name: no watched loader {name!r} (watched: {known})")
        return loader

    def _indices(self, loader, tags: tuple[str, ...]) -> np.ndarray:
        from weightslab_nb.ledger.query import tag_filter

        keep = np.ones(len(loader.rows), dtype=bool)
        with self.session.lock:
            for tag in tags:
                keep &= tag_filter(self.session.table, tag, "tags")[loader.rows]
        indices = np.flatnonzero(keep)
        if not len(indices):
            raise InvalidValueError(f"tags: no sample of {loader.name!r} has {list(tags)}")
        return indices

    # ---------------------------------------------------------------- running
    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run_worker, name="wl-evaluation",
                                                daemon=True)
                self._worker.start()

    def _run_worker(self) -> None:
        controller = self.session.controller
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            if self.pending() is None:
                continue
            # the training thread must be held at its batch boundary (or not training at all)
            if not controller.wait_for_state(("paused", "idle", "stopped", "error"), 0.5):
                self._wake.set()
                continue
            req = self._claim()
            if req is not None:
                self._execute(req, out=sys.__stdout__)

    def run_pending(self, eval_fn=None, out=None) -> bool:
        """Run the next queued evaluation in the calling thread; True if one ran."""
        req = self._claim()
        if req is None:
            return False
        self._execute(req, eval_fn=eval_fn, out=out or sys.stdout)
        return True

    def run_pending_here(self, loaders=None, model=None, eval_fn=None, device=None) -> bool:
        """What :meth:`Session.run_pending_evaluation
        <weightslab_nb.session.Session.run_pending_evaluation>` does: run the next pending
        request in the calling thread, if ``loaders`` (names) allows it; True if one ran."""
        pending = self.pending()
        if pending is None or (loaders is not None and pending.loader_name not in loaders):
            return False
        if eval_fn is None and (model is not None or device is not None):
            eval_fn = default_eval_fn(self.session, model=model, device=device)
        return self.run_pending(eval_fn)

    def _execute(self, req: EvaluationRequest, eval_fn=None, out=None) -> None:
        session = self.session
        req.state = "running"
        req.step = session.controller.step
        session.changes.controller += 1
        try:
            indices = self._indices(self._loader(req.loader_name), req.tags)
            if self.delegate is not None:  # the trained model is in another process
                captured = self.delegate(req, indices)
            else:
                captured = self.run_pass(req, indices, eval_fn)
        except EvaluationCancelled as exc:
            self._finish(req, "timed_out" if "timed" in str(exc) else "cancelled", str(exc))
            return
        except Exception as exc:
            log.exception("evaluation of %r failed", req.loader_name)
            self._finish(req, "failed", f"{type(exc).__name__}: {exc}")
            return
        self._commit(req, captured, out)
        self._finish(req, "done", None)

    def run_pass(self, req: EvaluationRequest, indices: np.ndarray, eval_fn=None) -> "Capture":
        """Run the pass of ``req`` over the positions ``indices`` of its loader in the calling
        thread and return what the watched signals recorded meanwhile; nothing is committed
        (rank 0 of a run launched from the notebook ships it to the hub, which commits it).

        ``eval_fn`` defaults to the registered one, else :func:`default_eval_fn`.

        Raises
        ------
        EvaluationCancelled
            ``req`` was cancelled or ran out of time.
        Exception
            Whatever the evaluation function raised.
        """
        loader = self._loader(req.loader_name)
        with self.session.recorder.capture() as captured:
            fn = eval_fn or self.eval_fn or default_eval_fn(self.session)
            fn(ManagedLoader(req, loader, indices))
        return captured

    def _commit(self, req: EvaluationRequest, buffer: "Capture", out) -> None:
        session = self.session
        base = session.get_current_experiment_hash() or "none"
        self._counts[base] = self._counts.get(base, 0) + 1
        req.marker_hash = f"{base}_{self._counts[base]}"
        exp = session.history.experiment_id(req.marker_hash)
        for name, parts in buffer.samples.items():
            for rows, values, preds, targets in parts:
                session.recorder.record_rows(name, rows, values, preds, targets, req.step,
                                             log=False, exp=exp)
        stats = buffer.summary()
        for name, (mean, vmin, vmax, count) in stats.items():
            session.history.append_marker(session.history.signal_id(bare_signal_name(name)),
                                          req.step, mean, vmin, vmax, count, exp)
        req.result = {name: s[0] for name, s in stats.items()}
        values = ", ".join(f"{k}={v:.4f}" for k, v in req.result.items()) or \
            "no watched loss or metric was called"
        req.summary = (f"[WeightsLab] Evaluation '{req.loader_name}' @ step {req.step} — "
                       f"{values}")
        log.info(req.summary)
        if out is not None:
            print(req.summary, file=out, flush=True)

    def _finish(self, req: EvaluationRequest, state: str, error: str | None) -> None:
        req.state, req.error = state, error
        self._running = None
        self.history.append(req)
        if req.resume and state == "done" and self.pending() is None:
            self.session.controller.resume()
        req._done.set()
        self.session.changes.controller += 1
        self.session.changes.history += 1

    def close(self, timeout: float = 5.0) -> None:
        """Cancel queued and running evaluations and stop the worker."""
        with self._lock:
            queued, self._queue = self._queue, []
        for req in queued:
            req.cancel()
            self._finish(req, "cancelled", "session closed")
        if self._running is not None:
            self._running.cancel()
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout)


def register_eval_fn(session: "Session", fn):
    """Use ``fn(loader)`` instead of the default evaluation pass of ``session``; returns ``fn``.

    ``fn`` receives a :class:`ManagedLoader` yielding ``(inputs, targets, sample_ids)`` (it
    handles cancellation, the timeout and progress) and calls watched losses/metrics with
    ``batch_ids=``. One function per session: registering another replaces it. The decorator
    ``wl.eval_fn`` calls this for the current session.

    Raises
    ------
    InvalidTypeError
        ``fn`` is not callable.
    """
    if not callable(fn):
        raise InvalidTypeError(f"eval_fn: expected a function, got {type(fn).__name__}")
    session.evaluation.eval_fn = fn
    return fn


register_feature("evaluation", EvaluationController)
