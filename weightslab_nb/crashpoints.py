"""Crash injection points: a test hook that kills the process at a named place (like etcd's
failpoints), so crash-recovery tests can stop a real process exactly between two writes.

Code that writes durable state calls :func:`crash_point` at the moments a crash would be most
harmful. When the environment variable ``WEIGHTSLAB_NB_CRASH_AT`` names that point, the process
kills itself with ``SIGKILL`` there (no ``finally`` blocks, no ``atexit``, as with ``kill -9``).
The variable is read once, at import; unarmed, a point costs one string comparison.

``WEIGHTSLAB_NB_CRASH_AT=snapshot.before-publish`` crashes the first time that point is
reached; ``WEIGHTSLAB_NB_CRASH_AT=snapshot.before-publish@3`` the third time.

Points (see :data:`POINTS`):

``journal.mid-append``
    An edit-journal append wrote the first half of its line (armed, the journal writes a line
    in two ``os.write`` calls so that a torn line really reaches the file).
``journal.after-append``
    An append's line is in the file (the OS has it) but ``sync`` has not run.
``journal.mid-compact``
    Compaction rotated to a new segment and removed the first covered segment.
``<what>.mid-write``
    :func:`weightslab_nb.experiment.write_atomic` wrote half of the temporary file, for
    ``<what>`` in ``snapshot`` (the ledger snapshot) and ``checkpoint``.
``<what>.before-publish``
    The temporary file is complete (and synced) but not yet renamed over the target.
"""

from __future__ import annotations

import os
import signal

from weightslab_nb.errors import InvalidValueError

ENV = "WEIGHTSLAB_NB_CRASH_AT"
POINTS = ("journal.mid-append", "journal.after-append", "journal.mid-compact",
          "snapshot.mid-write", "snapshot.before-publish",
          "checkpoint.mid-write", "checkpoint.before-publish")


def _parse(spec: str | None) -> tuple[str | None, int]:
    """``"name@k"`` -> ``("name", k)``; empty or None -> ``(None, 0)``."""
    if not spec:
        return None, 0
    name, _, count = spec.partition("@")
    if name not in POINTS:
        raise InvalidValueError(f"{ENV}: unknown crash point {name!r}; known: {list(POINTS)}")
    if count and (not count.isdigit() or int(count) < 1):
        raise InvalidValueError(f"{ENV}: the count after '@' must be a positive integer, "
                                f"got {count!r}")
    return name, int(count or 1)


ARMED, _remaining = _parse(os.environ.get(ENV))


def crash_point(name: str) -> None:
    """Kill this process with ``SIGKILL`` if ``WEIGHTSLAB_NB_CRASH_AT`` names ``name`` (and this
    is the k-th time it is reached, for ``name@k``); otherwise do nothing."""
    global _remaining
    if name == ARMED:
        _remaining -= 1
        if _remaining <= 0:
            os.kill(os.getpid(), signal.SIGKILL)


def rearm_from_environ() -> None:
    """Read ``WEIGHTSLAB_NB_CRASH_AT`` again.

    For test processes forked from an already-imported parent (a fork server that pays for the
    imports once); every other process arms its points through the variable at import.
    """
    global ARMED, _remaining
    ARMED, _remaining = _parse(os.environ.get(ENV))
