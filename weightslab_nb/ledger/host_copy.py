"""Copying what a training step records off the step at once: small host buffers, no graph.

A recorded batch must not keep its step's tensors alive (their autograd graph, a device
buffer) until the recorder drains it, possibly hundreds of steps later. :func:`to_host` copies a
tensor into a compact host buffer when it is recorded:

* a CPU tensor becomes a numpy copy at once (a few hundred bytes for a ``[B]`` loss);
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
    """A host copy of a (possibly grad-requiring) tensor that shares nothing with it.

    Returns a numpy array for a CPU tensor and a :class:`HostCopy` for a CUDA tensor (copied
    asynchronously; see the module docstring). Dtypes numpy lacks (bfloat16, ...) are widened to
    float32 first. Anything that is not a tensor is returned unchanged.
    """
    if not hasattr(tensor, "detach"):
        return tensor
    t = tensor.detach()
    if t.device.type == "cuda":
        return _cuda_copy(t)
    if t.device.type != "cpu":  # other accelerators: a plain (synchronous) copy
        t = t.cpu()
    try:
        return t.numpy().copy()
    except TypeError:  # dtypes numpy lacks
        return t.float().numpy()


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


def values_to_host(values, batch_size: int):
    """``values`` (a detached tensor or numpy array checked by ``check_values``) as a host copy
    of at most ``[B]`` numbers: ``[B, ...]`` tensors are averaged per sample first, on their
    device, in float64."""
    if hasattr(values, "detach") and values.dim() > 1 and values.numel():
        values = values.detach().reshape(batch_size, -1).double().mean(1)
    return to_host(values)


def preds_to_host(preds, batch_size: int, evidence: bool):
    """The part of ``preds`` the ledger can use, copied to the host, or None.

    ``[B, C]`` scores are kept whole when ``evidence`` or ``C <= ARGMAX_FROM`` (else their argmax);
    ``[B]`` and ``[B, 1]`` values are kept; any other shape (masks, boxes) is dropped at once, as
    the ledger stores no prediction for it.
    """
    shape = getattr(preds, "shape", None)
    if shape is None or len(shape) == 0 or len(shape) > 2 or shape[0] != batch_size:
        return None
    if not hasattr(preds, "detach"):
        return np.array(preds)
    if len(shape) == 2 and shape[1] > ARGMAX_FROM and not evidence:
        return to_host(preds.detach().argmax(1))
    return to_host(preds)


def targets_to_host(targets, batch_size: int):
    """``[B]`` / ``[B, 1]`` targets copied to the host; a list or tuple of ``B`` entries is kept
    as given; anything else is None (nothing would be stored)."""
    if isinstance(targets, (list, tuple)):
        return targets if len(targets) == batch_size else None
    shape = getattr(targets, "shape", None)
    if shape is None or tuple(shape) not in ((batch_size,), (batch_size, 1)):
        return None
    return to_host(targets) if hasattr(targets, "detach") else np.array(targets)
