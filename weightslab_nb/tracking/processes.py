"""Whether a process that left its id in a file (a writer's temporary file, a sweep agent's
trial) still runs on this machine."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True when a process ``pid`` runs on this machine (this one included), or exists but
    belongs to another user; False when there is none."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
