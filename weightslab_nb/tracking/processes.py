"""Whether a process that left its id in a file (a writer's temporary file, a sweep agent's
trial) still runs on this machine."""

from __future__ import annotations

import os
from pathlib import Path


def alive(pid: int) -> bool:
    """True when a process ``pid`` runs on this machine (this one included), or exists but
    belongs to another user; False when there is none, or when it has exited and waits for its
    parent to reap it (a zombie, told by ``/proc`` where there is one)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: kill() said it exists
    return stat.rpartition(")")[2].split()[0] != "Z"
