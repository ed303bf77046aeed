"""Distributed training on ``torch.distributed``: one hub session, many ranks.

The hub (rank 0 under ``torchrun``, or the notebook kernel that launched the ranks) owns the
:class:`~weightslab_nb.session.Session`; every rank ships what it records to the hub over a
:mod:`~weightslab_nb.distributed.channel`, and applies the hub's control at the same step
boundary as every other rank.
"""

from weightslab_nb.session import register_feature


def _launcher(session):
    # the launcher and the modules it needs load on the first launch, not at import
    from weightslab_nb.distributed.launch import Launcher

    return Launcher(session)


register_feature("launch", _launcher)
