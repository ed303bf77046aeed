"""Copying what a training step records off the step at once: small host buffers, no graph.

A recorded batch must not keep its step's tensors alive (their autograd graph, a device
buffer) until the recorder drains it, possibly hundreds of steps later. :func:`to_host` copies a
tensor into a compact host buffer when it is recorded:

* a CPU tensor is kept detached when it owns its (small) storage, else copied compactly: no
  autograd graph, nothing larger than the recorded values (see :func:`to_host`);
* a CUDA tensor is copied asynchronously into pinned host memory, on the current stream, and a
  CUDA event is recorded after the copy; the step never waits for it. The result is a
  :class:`HostCopy` that the drain resolves with :func:`resolve`, waiting on the event then.

The waiting logic lives in :class:`HostCopy` and takes any event with ``query()`` and
``synchronize()``, so it runs (and is tested) on machines without a GPU.
"""

from __future__ import annotations

import numpy as np


class HostCopy:
    """A device-to-host copy that may still be in flight.

    Parameters
    ----------
    buffer : host tensor or ndarray
        Where the copy lands (pinned memory for CUDA copies); read only after ``event`` fired.
    event : object with ``query() -> bool`` and ``synchronize()``
        Recorded after the copy was queued (a ``torch.cuda.Event``).
    """

    __slots__ = ("buffer", "event")

    def __init__(self, buffer, event):
        self.buffer = buffer
        self.event = event

    @property
    def shape(self) -> tuple:
        """The shape of the copied values (known before the copy completes)."""
        return tuple(self.buffer.shape)

    def ready(self) -> bool:
        """True when the copy has completed (never blocks)."""
        return bool(self.event.query())

    def wait(self) -> np.ndarray:
        """Block until the copy has completed; return the values as a numpy array."""
        self.event.synchronize()
        buffer = self.buffer
        return buffer.numpy() if hasattr(buffer, "numpy") else np.asarray(buffer)


def to_host(tensor):
    """A host version of a (possibly grad-requiring) tensor that keeps nothing of its step.

    * CUDA: a :class:`HostCopy`, copied asynchronously into pinned memory (see the module
      docstring); the caller's step does not wait for it.
    * CPU: the detached tensor itself when it owns its storage (no autograd graph, nothing
      larger than its own values is kept), else a compact copy of its values (a slice of a
      bigger tensor). A copy of every recorded CPU tensor would cost the step more than it
      saves (measured on the digits benchmark: ~14 us per step more, and a slower backward).
    * other devices: a synchronous copy to the CPU.

    Anything that is not a tensor is returned unchanged.
    """
    if not hasattr(tensor, "detach"):
        return tensor
    if tensor.requires_grad:  # an op's output that is no view owns its storage
        t, owned = tensor.detach(), tensor._base is None
    else:
        t, owned = tensor, False
    if t.is_cpu:
        if not owned and t.untyped_storage().nbytes() > t.nbytes + _SLACK:
            return t.clone()  # a view into a larger tensor: keep only our values
        return t
    return _cuda_copy(t) if t.is_cuda else t.cpu()


_SLACK = 4096  # bytes of a storage beyond a tensor's own that it may keep alive


def _cuda_copy(t) -> HostCopy:
    import torch

    if t.dtype.is_floating_point and t.dtype not in (torch.float16, torch.float32,
                                                     torch.float64):
        t = t.float()  # bfloat16, float8: numpy lacks them
    buffer = torch.empty(t.shape, dtype=t.dtype, pin_memory=True)  # cached by torch
    buffer.copy_(t, non_blocking=True)
    event = torch.cuda.Event()
    event.record()
    return HostCopy(buffer, event)


def resolve(value):
    """The numpy array of a :class:`HostCopy` (waiting for it), else ``value`` unchanged."""
    return value.wait() if isinstance(value, HostCopy) else value


# ---------------------------------------------------------------- what a recorded batch keeps
ARGMAX_FROM = 32  # [B, C] scores with more classes than this keep only their argmax (no evidence)


def batch_to_host(values, preds, targets, batch_size: int, evidence: bool) -> tuple:
    """``(values, preds, targets)`` of one recorded batch reduced to what the ledger stores and
    moved off the step with :func:`to_host`.

    * ``values`` (checked by ``check_values``): a ``[B, ...]`` tensor is averaged per sample on
      its device (float64) first, so at most ``[B]`` numbers are kept.
    * ``preds``: ``[B, C]`` scores are kept whole when ``evidence`` or ``C <= ARGMAX_FROM``,
      else only their argmax; ``[B]`` and ``[B, 1]`` values are kept; other shapes (masks,
      boxes), for which no prediction is stored, are dropped (None).
    * ``targets``: ``[B]`` / ``[B, 1]`` are kept, a list or tuple of ``B`` entries as given,
      anything else is dropped.

    Numpy arrays are copied (the caller may reuse them).
    """
    if hasattr(values, "detach"):
        if values.dim() > 1 and values.numel():
            values = values.detach().reshape(batch_size, -1).double().mean(1)
        values = to_host(values)
    if preds is not None:
        preds = _preds(preds, batch_size, evidence)
    if targets is not None:
        targets = _targets(targets, batch_size)
    return values, preds, targets


def _preds(preds, batch_size: int, evidence: bool):
    if hasattr(preds, "detach"):  # a tensor
        nd = preds.dim()
        if nd == 0 or nd > 2 or preds.shape[0] != batch_size:
            return None
        if nd == 2 and not evidence and preds.shape[1] > ARGMAX_FROM:
            return to_host(preds.detach().argmax(1))
        return to_host(preds)
    shape = getattr(preds, "shape", None)
    if shape is None or len(shape) == 0 or len(shape) > 2 or shape[0] != batch_size:
        return None
    return np.array(preds)


def _targets(targets, batch_size: int):
    if hasattr(targets, "detach"):  # a tensor
        nd = targets.dim()
        if (nd == 1 or (nd == 2 and targets.shape[1] == 1)) and targets.shape[0] == batch_size:
            return to_host(targets)
        return None
    if isinstance(targets, (list, tuple)):
        return targets if len(targets) == batch_size else None
    shape = getattr(targets, "shape", None)
    if shape is None or tuple(shape) not in ((batch_size,), (batch_size, 1)):
        return None
    return np.array(targets)
