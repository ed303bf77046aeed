"""Splitting a batch into inputs, targets and ids (the values are converted by
:mod:`weightslab_nb.ledger.convert`)."""

from __future__ import annotations



INPUT_KEYS = ("image", "input", "x", "data")
TARGET_KEYS = ("label", "target", "y", "mask")
ID_KEYS = ("id", "sample_id", "idx", "index")


def unpack_batch(batch):
    """Return ``(inputs, targets, ids)`` of a batch; any part may be None.

    A tuple or list is read by position (``[0]`` inputs, ``[1]`` targets, ``[2]`` ids); a dict by
    the first present key of ``image/input/x/data``, ``label/target/y/mask`` and
    ``id/sample_id/idx/index``; anything else is taken as the inputs.
    """
    if isinstance(batch, (tuple, list)):
        parts = list(batch) + [None, None, None]
        return parts[0], parts[1], parts[2]
    if isinstance(batch, dict):
        def first(keys):
            return next((batch[k] for k in keys if k in batch), None)
        return first(INPUT_KEYS), first(TARGET_KEYS), first(ID_KEYS)
    return batch, None, None
