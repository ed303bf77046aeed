"""The base classes: :class:`Media` (what ``wl.log`` accepts) and ``_FileMedia`` (fixed bytes)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from weightslab_nb.tracking.media._files import _store


class Media:
    """Base class of the rich values ``wl.log`` accepts.

    Subclasses check and snapshot their input when built and write it when logged. The
    descriptor returned by :meth:`to_json` is what history rows and summaries store.
    """

    def to_json(self, run_dir: Path, key: str, step: int) -> dict:
        """Write this value's file(s) for ``key`` at ``step``; return its descriptor.

        Parameters
        ----------
        run_dir : Path or str
            The run's folder; files go to ``run_dir / "media" / <kind>/``.
        key : str
            The history key (any characters; unsafe ones become ``_`` in file names).
        step : int
            The non-negative step the value is logged at.

        Returns
        -------
        dict
            JSON-able, with ``"_type"``; file-backed kinds add ``"path"`` (relative to
            ``run_dir``, forward slashes), ``"sha256"`` and ``"size"`` (bytes).

        Raises
        ------
        TypeError, ValueError
            ``key`` is not a non-empty string or ``step`` not a non-negative integer.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement to_json")


class _FileMedia(Media):
    """A media value whose bytes are fixed when it is built."""

    _type: ClassVar[str] = ""
    _kind_dir: ClassVar[str] = ""
    _payload: bytes
    _ext: str

    def _fields(self) -> dict:
        return {}

    def to_json(self, run_dir: Path, key: str, step: int) -> dict:
        stored = _store(run_dir, self._kind_dir, key, step, self._ext, self._payload)
        return {"_type": self._type, **stored, **self._fields()}

    to_json.__doc__ = Media.to_json.__doc__
