"""Evaluations requested in the notebook while the ranks it launched train: rank 0 runs them.

The kernel's model is the one the ranks were forked from, never trained, so an evaluation
requested in the hub (a cell, the controls panel) is carried out by rank 0, which holds the
trained weights and the same watched loaders:

1. the hub's :class:`~weightslab_nb.evaluation.EvaluationController` queues and pauses as in one
   process; once every rank is held at a boundary (the hub's state is ``"paused"``), its worker
   hands the request to :class:`HubEvaluations` (the controller's ``delegate``), which sends
   ``("evaluate", id, loader name, positions, timeout)`` to rank 0 and waits for the answer;
2. rank 0's :class:`RankEvaluator` keeps every rank held while the pass runs (its
   :class:`~weightslab_nb.distributed.mirrored.MirroredSource` reports a pause whatever the hub
   pushes, a stop included, until the pass ended), waits until its relay holds every rank, runs
   the pass in a thread of its own with its session's ``evaluation.run_pass`` (the registered
   ``eval_fn``, else the default pass over the watched model) and ships what the signals
   recorded, by ``(origin, sample ids)``: ``("evaluation", id, samples, scalars, None)``, or
   ``("evaluation", id, None, None, (state, text))`` when it was cancelled, timed out or raised;
3. the hub turns the values into a :class:`~weightslab_nb.ledger.recorder.Capture` on its own
   rows, and its controller commits it as any pass (markers under ``<hash>_<N>``, history rows,
   the request's result and state; training resumes when the request asked it).

Why rank 0 alone, the other ranks held in the relay (as under ``torchrun``), rather than every
rank evaluating its shard: a pass in one process needs no collective, so nothing can hang
between ranks while it runs, its result is the one a single process gives, and the user's
single-process ``eval_fn`` works unchanged. The held ranks exchange the relay's heartbeat, so no
collective times out however long the pass takes.

Constraints: the ``eval_fn`` runs on rank 0 alone, so it must not run collectives (call the
watched module, not its DDP wrapper), and it must be registered before the launch (the ranks
are forked with it). A cancel in the hub reaches rank 0 (the pass stops at its next batch);
rank 0 ending, or the run failing, before it answered ends the request as failed.
"""

from __future__ import annotations

import threading
import traceback

import numpy as np

from weightslab_nb.distributed.control import sample_ids
from weightslab_nb.errors import RankError
from weightslab_nb.evaluation import EvaluationCancelled, EvaluationRequest
from weightslab_nb.ledger.recorder import Capture

LOOK = 0.5  # seconds between two looks at a cancel or a lost rank while a pass runs


class HubEvaluations:
    """The hub's ``evaluation.delegate`` while launched ranks train (see the module docstring).

    Parameters
    ----------
    hub : Hub
        The hub of the run (its session, failures and ranks gone).
    send : callable
        ``send(message) -> bool`` to rank 0 (False when it is not connected).
    """

    def __init__(self, hub, send):
        self._hub = hub
        self._send = send
        self._answers: dict[int, tuple] = {}
        self._closed = False
        hub.handlers["evaluation"] = self._answer

    def __call__(self, req: EvaluationRequest, indices: np.ndarray) -> Capture:
        """Have rank 0 run ``req`` over the positions ``indices`` of its loader; return what
        its signals recorded, on the hub's rows.

        Raises
        ------
        EvaluationCancelled
            The pass was cancelled or timed out on rank 0.
        RankError
            Rank 0 is not connected, failed in the pass (the error has its traceback), or the
            run ended before rank 0 answered.
        """
        message = ("evaluate", req.id, req.loader_name, np.asarray(indices, dtype=np.int64),
                   req.timeout)
        if self._closed or not self._send(message):
            raise RankError("evaluation: rank 0 is not connected (the distributed run ended or "
                            "has not started)", rank=0)
        cancel_sent = False
        changed = self._hub.changed
        while True:
            with changed:
                changed.wait_for(lambda: req.id in self._answers or self._lost() is not None
                                 or (req.cancel_requested and not cancel_sent), LOOK)
                if req.id in self._answers:
                    samples, scalars, failure = self._answers.pop(req.id)
                    break
                lost = self._lost()
                if lost is not None:
                    raise RankError(f"evaluation: {lost} before rank 0 finished the pass",
                                    rank=0)
            if req.cancel_requested and not cancel_sent:  # sent outside the condition
                cancel_sent = True
                self._send(("cancel", req.id))
        if failure is not None:
            state, text = failure
            if state == "failed":
                raise RankError(text, rank=0)
            raise EvaluationCancelled(text)
        return self._capture(samples, scalars)

    def _lost(self) -> str | None:
        hub = self._hub
        if self._closed:
            return "the distributed run ended"
        if hub.failures:
            return f"rank {hub.failures[0][0]} failed"
        if 0 in hub.gone:
            return "rank 0 ended"
        return None

    def _answer(self, rank: int, hub_id: int, samples, scalars, failure) -> None:
        """Rank 0's answer (the hub's reader thread)."""
        with self._hub.changed:
            self._answers[hub_id] = (samples, scalars, failure)
            self._hub.changed.notify_all()

    def _capture(self, samples: dict, scalars: dict) -> Capture:
        session = self._hub.session
        captured = Capture(threading.current_thread())
        for name, parts in samples.items():
            for origin, ids, values, preds, targets in parts:
                rows = session.rows_of(ids, origin, argument="batch_ids")
                captured.add_samples(name, rows, values, preds, targets)
        for name, points in scalars.items():
            for mean, vmin, vmax, count in points:
                captured.add_scalar(name, mean, vmin, vmax, count)
        return captured

    def close(self) -> None:
        """The run ended: a pass still waited for fails, and later requests are refused."""
        with self._hub.changed:
            self._closed = True
            self._hub.changed.notify_all()


class RankEvaluator:
    """Rank 0's side: runs the hub's evaluations while every rank is held.

    Parameters
    ----------
    session : Session
        Rank 0's session (its watched model, loaders, signals and ``eval_fn``).
    source : MirroredSource
        Rank 0's control source (it holds the ranks while a pass runs).

    Attributes
    ----------
    link : HubLink
        The channel the answers go back on (set once it exists).
    """

    def __init__(self, session, source):
        self.session = session
        self.source = source
        self.link = None
        self._lock = threading.Lock()
        self._running: dict[int, EvaluationRequest] = {}

    def receive(self, message) -> None:
        """A hub message for evaluations (the link's reader thread): ``("evaluate", id,
        loader name, positions, timeout)`` starts a pass, ``("cancel", id)`` cancels one."""
        if message[0] == "evaluate":
            _, hub_id, loader_name, indices, timeout = message
            req = EvaluationRequest(loader_name, timeout=timeout)
            since = self.source.hold()
            with self._lock:
                self._running[hub_id] = req
            threading.Thread(target=self._run, args=(hub_id, req, indices, since),
                             name="wl-rank-evaluation", daemon=True).start()
        elif message[0] == "cancel":
            with self._lock:
                req = self._running.get(message[1])
            if req is not None:
                req.cancel()

    def _run(self, hub_id: int, req: EvaluationRequest, indices, since: int) -> None:
        samples = scalars = failure = None
        try:
            while not self.source.wait_held(since, LOOK):  # every rank held: the pass starts
                if req.cancel_requested:
                    raise EvaluationCancelled("cancelled")
            captured = self.session.evaluation.run_pass(req, indices)
            samples, scalars = by_origin(self.session.table, captured), captured.scalars
        except EvaluationCancelled as exc:
            failure = ("timed_out" if "timed" in str(exc) else "cancelled", str(exc))
        except Exception as exc:
            failure = ("failed", f"the evaluation failed on rank 0: {type(exc).__name__}: "
                                 f"{exc}\n{traceback.format_exc()}")
        try:
            self.link.ship(("evaluation", hub_id, samples, scalars, failure))
        finally:
            with self._lock:
                self._running.pop(hub_id, None)
            self.source.release()


def by_origin(table, captured: Capture) -> dict:
    """``captured``'s per-sample values as they travel to the hub: signal name -> list of
    ``(origin, sample ids, values, predictions, targets)`` (numpy arrays, or None)."""
    out: dict[str, list] = {}
    for name, parts in captured.samples.items():
        for rows, values, preds, targets in parts:
            codes = table.origin_code[rows]
            for code in np.unique(codes):
                mine = codes == code
                out.setdefault(name, []).append((
                    table.origins[int(code)], sample_ids(table, rows[mine]), values[mine],
                    None if preds is None else preds[mine],
                    None if targets is None else targets[mine]))
    return out
