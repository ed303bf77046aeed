"""A tracking run read back from its files, shown by the panels as the live run is.

A session opened on a finished run (:func:`weightslab_nb.open`) has no running
:class:`~weightslab_nb.tracking.run.Run`; its ``session.run`` is a :class:`RecordedRun`
instead: the same read interface the :class:`~weightslab_nb.panels.media.RunMedia` panel uses
(``id``, ``name``, ``project``, ``path``, ``state``, ``step``, ``dir``, ``version``,
``summary``, ``config``, :meth:`RecordedRun.recent`, :meth:`RecordedRun.log_counts`), read
once from ``run.json``, ``summary.json`` and ``history.jsonl``. It never writes: ``log`` and
``finish`` are refused, and its ``state`` is never ``"running"`` (so ``wl.log`` does not take
it for a run to log into).
"""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path

from weightslab_nb.errors import ReadOnlyError
from weightslab_nb.tracking.api import ApiRun
from weightslab_nb.tracking.run import RECENT_VALUES, RUN_FILE, RUNS_DIR


class RecordedRun:
    """The files of one logged run, read once (see the module docstring).

    Parameters
    ----------
    run_dir : Path
        ``<root_log_dir>/runs/<id>``, holding ``run.json``.

    Attributes
    ----------
    id, name, project : str
    state : str
        ``"finished"``, ``"failed"`` or ``"crashed"`` (a run whose files still say
        ``"running"``: its process ended without finishing it).
    step : int
        The last step logged (0 when nothing was).
    summary, config : dict
    dir : Path
    version : int
        Always 1: the files are read once.

    Raises
    ------
    InvalidValueError
        ``run.json`` is not a run file, or ``history.jsonl`` is damaged before its last line.
    """

    version = 1

    def __init__(self, run_dir: Path):
        source = ApiRun(Path(run_dir))
        self.dir = source.dir
        self.id, self.name, self.project = source.id, source.name, source.project
        self.created_at = source.created_at
        state = source.state  # "running" with a recent heartbeat: killed moments ago
        self.state = "crashed" if state in (None, "running") else state
        self.summary = dict(source.summary)
        self.config = dict(source.config)
        self._recent: dict[str, deque] = {}
        self._logged: dict[str, int] = {}
        last = 0
        for row in source.scan_history():
            step = row["_step"]
            last = max(last, step)
            for key, value in row.items():
                if key.startswith("_"):
                    continue
                pairs = self._recent.get(key)
                if pairs is None:
                    pairs = self._recent[key] = deque(maxlen=RECENT_VALUES)
                pairs.append((step, _value(value)))
                self._logged[key] = self._logged.get(key, 0) + 1
        self.step = last

    @property
    def path(self) -> str:
        """``"<project>/<id>"``."""
        return f"{self.project}/{self.id}"

    def recent(self, key: str | None = None):
        """Each key's last logged values (up to
        :data:`~weightslab_nb.tracking.run.RECENT_VALUES` per key, one per step), oldest
        first, as :meth:`Run.recent <weightslab_nb.tracking.run.Run.recent>` gives them."""
        if key is not None:
            values = self._recent.get(key)
            return None if values is None else list(values)
        return {k: list(values) for k, values in self._recent.items()}

    def log_counts(self) -> dict[str, int]:
        """How many steps each key was logged at."""
        return dict(self._logged)

    def log(self, *args, **kwargs) -> None:
        """Refused: a recorded run is only read.

        Raises
        ------
        ReadOnlyError
            Always.
        """
        raise ReadOnlyError(f"log: the run {self.dir} is a finished run read from its files; "
                            "nothing can be logged into it", "log", str(self.dir))

    def finish(self, exit_code: int | None = None) -> None:
        """Nothing to do: the run ended already."""

    def __repr__(self) -> str:
        return f"<RecordedRun {self.path} {self.state} step={self.step}>"


def latest_recorded_run(root: Path) -> RecordedRun | None:
    """The run logged last under ``root/runs/`` (by its ``created_at``, then its id), or None
    when ``root`` holds none. Runs whose ``run.json`` cannot be read are skipped."""
    found = []
    for path in sorted(Path(root).glob(f"{RUNS_DIR}/*/{RUN_FILE}")):
        try:
            found.append(RecordedRun(path.parent))
        except (ValueError, OSError):
            continue
    if not found:
        return None
    return max(found, key=lambda run: (run.created_at or "", run.id or ""))


def _value(value):
    """A logged value as the live run keeps it: numbers as floats (``null``, how the files
    write a non-finite number, as NaN), anything else as it is."""
    if value is None:
        return math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value
