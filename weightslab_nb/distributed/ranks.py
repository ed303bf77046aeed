"""Which rank this process is, read from ``torch.distributed`` or the launcher's environment."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class RankInfo:
    """This process's place in a distributed run.

    Attributes
    ----------
    rank : int
        Global rank, ``0 <= rank < world``.
    world : int
        Number of ranks.
    local_rank : int
        Rank on this machine (``LOCAL_RANK``; equal to ``rank`` on one machine).
    """

    rank: int
    world: int
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        """True with two ranks or more."""
        return self.world > 1


def detect() -> RankInfo:
    """This process's rank: from an initialised ``torch.distributed`` process group, else from
    the ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` variables that ``torchrun`` sets, else a
    single process (rank 0 of 1).

    Raises
    ------
    ValueError
        The environment variables are set but are not integers with ``0 <= RANK < WORLD_SIZE``.
    """
    local = _env_int("LOCAL_RANK", 0)
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return RankInfo(dist.get_rank(), dist.get_world_size(), local)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"RANK / WORLD_SIZE: expected 0 <= RANK < WORLD_SIZE, got RANK={rank}, "
                         f"WORLD_SIZE={world}")
    return RankInfo(rank, world, local)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}: expected an integer in the environment, got {raw!r}") from None
