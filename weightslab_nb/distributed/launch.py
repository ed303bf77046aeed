"""Launch DDP ranks from the notebook: ``wl.start_training(train_fn, world_size=N)``.

As Lightning's ``ddp_notebook`` and Accelerate's ``notebook_launcher`` do, the ranks are forked
from the kernel, so they inherit everything the notebook defined (the model, the watched
loaders, ``train_fn`` itself) without pickling it. The kernel's session is the hub: it keeps
the history, the panels and the controls; every rank trains in a process of its own, ships what
it records to the hub and obeys its control at every batch boundary (relayed by rank 0).

Constraints (those of forking a kernel):

* Linux or another system with the ``fork`` start method;
* CUDA must not be initialised in the kernel before the launch (a forked process cannot use
  it): create CUDA tensors inside ``train_fn``; with ``backend="nccl"`` each rank should pick
  its device from ``LOCAL_RANK``;
* ``train_fn`` runs in the ranks: what it changes in Python objects stays in the ranks (the
  kernel's model is not trained; save a checkpoint from a rank to keep the weights). An
  evaluation requested in the kernel while the ranks train runs on rank 0 instead
  (:mod:`weightslab_nb.distributed.remote_eval`).

The returned :class:`~weightslab_nb.control.TrainingHandle` works as for a single process:
``state``, ``step`` (rank 0's), ``pause()``, ``resume()``, ``stop()``, ``wait()``; when a rank
raises or dies, the others are stopped and ``handle.error`` is a
:class:`~weightslab_nb.errors.RankError` naming the rank, with its traceback.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import socket
import time
import traceback
from datetime import timedelta

from weightslab_nb.distributed.channel import HubLink
from weightslab_nb.distributed.hub import Hub
from weightslab_nb.distributed.mirrored import MirroredSource
from weightslab_nb.distributed.push import ControlPush
from weightslab_nb.distributed.rank import RankRuntime
from weightslab_nb.distributed.remote_eval import HubEvaluations, RankEvaluator
from weightslab_nb.arguments import check_int
from weightslab_nb.errors import InvalidValueError, RankError, StateError, TrainingStopped

log = logging.getLogger(__name__)

BACKENDS = ("gloo", "nccl")
RELAY_TIMEOUT = 60.0  # seconds a rank waits for the others in a collective of the relay
STOP_GRACE = 10.0     # seconds the ranks get to end after a failure before they are killed
EXIT_GRACE = 3.0      # seconds a rank's process may be over before the hub read its goodbye


def check_launch(world_size, backend) -> tuple[int, str]:
    """Validate ``world_size`` (an int >= 1) and ``backend`` ("gloo" or "nccl"), and that ranks
    can be forked here.

    Raises
    ------
    InvalidTypeError, InvalidValueError
        A bad argument.
    StateError
        No ``fork`` start method, or CUDA already initialised in this process.
    """
    world_size = check_int(world_size, "world_size", 1)
    if backend not in BACKENDS:
        raise InvalidValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
    if "fork" not in mp.get_all_start_methods():
        raise StateError("world_size: launching ranks from the notebook forks the kernel, and "
                         "this system has no 'fork' start method; run a script with torchrun")
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        raise StateError("world_size: CUDA is already initialised in this kernel, and forked "
                         "ranks cannot use it; restart the kernel and launch before any CUDA "
                         "call (create CUDA tensors inside train_fn)")
    return world_size, backend


def launch(session, train_fn, args: tuple, kwargs: dict, world_size: int, backend: str):
    """Fork ``world_size`` ranks running ``train_fn(*args, **kwargs)``, with ``session`` as
    their hub; return the session's training handle (see the module docstring)."""
    hub = Hub(session, world_size)
    push = ControlPush(session, lambda message: hub.server.send(0, message))
    port = _free_port()
    ctx = mp.get_context("fork")
    procs = []
    with session.recorder.fork_guard():  # no lock is held mid-way by another thread
        for rank in range(world_size):
            proc = ctx.Process(target=_rank_main, name=f"wl-rank-{rank}", daemon=True, args=(
                session, rank, world_size, port, backend, hub.address, hub.authkey, train_fn,
                args, kwargs))
            proc.start()
            procs.append(proc)
    # the ranks hold the trained model: rank 0 runs the evaluations requested here
    evaluations = HubEvaluations(hub, lambda message: hub.server.send(0, message))
    session.evaluation.delegate = evaluations
    return session.controller.start(_supervise, (session, hub, push, procs, evaluations), {})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _supervise(session, hub: Hub, push: ControlPush, procs, evaluations) -> None:
    """The hub's training thread: wait for every rank; on a failure stop the others. At the
    end, evaluations requested during the run and not carried out by rank 0 end (failed or
    cancelled) and later ones run in the kernel again (on its own, untrained, model)."""
    world = len(procs)
    exited: dict[int, float] = {}  # rank -> when its process was first seen ended
    try:
        while True:
            with hub.changed:
                if hub.changed.wait_for(lambda: hub.failures or len(hub.gone) == world,
                                        timeout=1.0):
                    break
            _note_silent_exits(hub, procs, exited)  # a rank that died before telling the hub
        if hub.failures:
            rank, text = hub.failures[0]
            # the others fail at their next collective; what they ship meanwhile is kept
            _stop_ranks(procs, grace=STOP_GRACE)
            raise RankError(f"rank {rank} failed; the other ranks were stopped.\n{text}",
                            rank=rank)
        for proc in procs:
            proc.join(STOP_GRACE)
    finally:
        evaluations.close()
        _end_evaluations(session, evaluations)
        push.close()
        hub.close()
        _stop_ranks(procs)


def _end_evaluations(session, evaluations: HubEvaluations) -> None:
    """Cancel the evaluations still queued for rank 0 (they never ran on the trained model),
    then let later requests run in the kernel."""
    controller = session.evaluation
    for request in controller.queued():
        request.cancel()
    if controller.delegate is evaluations:
        controller.delegate = None


def _note_silent_exits(hub: Hub, procs, exited: dict) -> None:
    """Report ranks whose process ended while the hub never heard of them (connected or not).

    A rank's last messages (its goodbye, or its error) can still be on their way, or waiting
    for the hub's reader thread, when its process has ended: a rank is reported only once it
    has been seen ended for :data:`EXIT_GRACE` seconds without them (``exited``: rank -> when
    it was first seen ended, kept by the caller)."""
    now = time.monotonic()
    for rank, proc in enumerate(procs):
        if proc.exitcode is None or rank in hub.gone:
            continue
        seen = exited.setdefault(rank, now)
        if now - seen >= EXIT_GRACE:
            hub.failed(rank, f"rank {rank} exited with code {proc.exitcode} before it reported "
                             "to the hub (its output is in the kernel's log)")


def _stop_ranks(procs, grace: float = 0.0) -> None:
    """Let the ranks end within ``grace`` seconds, then terminate (and at last kill) them."""
    deadline = time.monotonic() + grace
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(STOP_GRACE)
        if proc.is_alive():
            proc.kill()
            proc.join(STOP_GRACE)


def _rank_main(session, rank, world, port, backend, address, authkey, train_fn, args,
               kwargs) -> None:
    """A forked rank: join the process group, feed the hub, run ``train_fn``, exit."""
    session.recorder.after_fork()  # the kernel's threads are not here: start afresh
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      LOCAL_WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    code, link, outcome = 0, None, ("done",)
    try:
        import torch.distributed as dist

        source = evaluator = None
        if rank == 0:  # rank 0 hears the hub's control and evaluations
            source = MirroredSource()
            evaluator = RankEvaluator(session, source)
        link = HubLink(address, authkey, rank,
                       on_control=_route(source, evaluator) if rank == 0 else None)
        if evaluator is not None:
            evaluator.link = link
        session.become_rank()
        session.activate()  # the rank's wl.* calls act on its copy of the session
        # the training's own collectives keep torch's default timeout (as under torchrun):
        # rank 0 alone may validate or save a checkpoint for minutes while the others wait
        dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=world)
        group = dist.new_group(backend="gloo", timeout=timedelta(seconds=RELAY_TIMEOUT))
        session.distributed = RankRuntime(session, rank, group, link=link, source=source)
        try:
            train_fn(*args, **kwargs)
        except TrainingStopped:
            pass
    except BaseException:
        code, outcome = 1, ("error", f"rank {rank}: {traceback.format_exc()}")
    finally:
        if link is not None:
            try:  # what the rank recorded last (and rank 0's last step) reach the hub first
                session.recorder.flush()
            except Exception:
                log.exception("rank %d could not hand over its last records", rank)
            link.ship(outcome)
            link.close(RELAY_TIMEOUT)
        os._exit(code)  # never the kernel's exit handlers (they would close its files)


def _route(source: MirroredSource, evaluator: RankEvaluator):
    """Rank 0's handler of the hub's messages: evaluations (tagged by a name) to the
    evaluator, control ``(state, changes)`` to the relay's source."""
    def receive(message) -> None:
        if isinstance(message[0], str):
            evaluator.receive(message)
        else:
            source.push(message)
    return receive


class Launcher:
    """``session.feature("launch")``: starts ranks for :meth:`Session.start_training` with a
    ``world_size`` (see the module docstring)."""

    def __init__(self, session):
        self._session = session

    def start(self, train_fn, args: tuple, kwargs: dict, world_size, backend):
        """Validate, fork the ranks and return the training handle.

        Raises
        ------
        InvalidTypeError, InvalidValueError, StateError
            See :func:`check_launch`; also StateError while a run is in progress.
        """
        world_size, backend = check_launch(world_size, backend)
        thread = self._session.controller.training_thread
        if thread is not None and thread.is_alive():
            raise StateError("start_training: a training run is already in progress; "
                             "stop it (handle.stop()) before starting another")
        return launch(self._session, train_fn, args, kwargs, world_size, backend)
