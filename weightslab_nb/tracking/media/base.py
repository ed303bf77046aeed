"""The base classes, as the wandb data-types reference names them.

* :class:`WBValue`: anything ``wl.log`` accepts as a rich value. ``to_json`` writes its files
  and returns its descriptor; the class method ``from_json`` rebuilds an equal value from that
  descriptor; every concrete class registers its descriptor ``"_type"``.
* :class:`Media`: a value shown in a media panel (the kinds of this package derive from it).
* ``_FileMedia``: a Media whose bytes are fixed when it is built and written to one file; two
  are equal when they are of one class with the same bytes and descriptor fields.
* :class:`BatchableMedia`: file media that are often logged as lists (images, audio...).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import ClassVar

from weightslab_nb.errors import InvalidValueError
from weightslab_nb.tracking.media._files import _store, file_in_run

_STORAGE_FIELDS = ("_type", "path", "sha256", "size")


class WBValue:
    """Base class of the rich values ``wl.log`` accepts.

    Subclasses check and snapshot their input when built and write it when logged. The
    descriptor returned by :meth:`to_json` is what history rows and summaries store; the class
    method :meth:`from_json` turns it back into a value of the class. Values compare equal by
    identity unless the class defines its content (file media compare by content).
    """

    _type: ClassVar[str] = ""
    _classes: ClassVar[dict[str, type]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_type"):
            WBValue._classes.setdefault(cls._type, cls)

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

    @classmethod
    def from_json(cls, descriptor: dict, run_dir: Path):
        """The value a descriptor from :meth:`to_json` describes, rebuilt from its files.

        Parameters
        ----------
        descriptor : dict
            As :meth:`to_json` returned it (or as a history row holds it).
        run_dir : Path or str
            The run folder its ``"path"`` is relative to.

        Returns
        -------
        WBValue
            An instance of ``cls``, equal to the value that was logged.

        Raises
        ------
        ValueError
            ``descriptor`` is not a dict of this class's ``"_type"``, misses a field, or its
            file's sha256 differs from the recorded one (an ``InvalidValueError``).
        FileNotFoundError
            Its file is missing.
        NotImplementedError
            The class cannot be rebuilt (its ``"_type"`` is read with ``decode_value``).
        """
        if not isinstance(descriptor, dict) or descriptor.get("_type") != cls._type:
            found = descriptor.get("_type") if isinstance(descriptor, dict) else descriptor
            raise InvalidValueError(f"descriptor: {cls.__name__}.from_json expects a dict with "
                                    f"_type {cls._type!r}, got {found!r}")
        try:
            return cls._from_descriptor(descriptor, run_dir)
        except KeyError as exc:
            raise InvalidValueError(f"descriptor: a {cls._type!r} descriptor misses the field "
                                    f"{exc.args[0]!r}") from None

    @classmethod
    def _from_descriptor(cls, descriptor: dict, run_dir: Path):
        raise NotImplementedError(f"{cls.__name__} cannot be rebuilt from its descriptor; read "
                                  "it with decode_value")


class Media(WBValue):
    """A :class:`WBValue` stored as a file under the run's ``media/`` folder and shown in a media
    panel (Histogram, whose counts sit in the history row itself, derives from it too)."""


class _FileMedia(Media):
    """A media value whose bytes are fixed when it is built (``_payload``, file suffix ``_ext``).

    ``_fields()`` are the descriptor fields beside the storage ones; :meth:`from_json` reads the
    bytes back and sets each such field as an attribute (``_restore`` does more where needed).
    """

    _kind_dir: ClassVar[str] = ""
    _payload: bytes
    _ext: str

    def _fields(self) -> dict:
        return {}

    def to_json(self, run_dir: Path, key: str, step: int) -> dict:
        stored = _store(run_dir, self._kind_dir, key, step, self._ext, self._payload)
        return {"_type": self._type, **stored, **self._fields()}

    to_json.__doc__ = WBValue.to_json.__doc__

    @classmethod
    def _from_descriptor(cls, descriptor: dict, run_dir: Path):
        payload = _stored_bytes(descriptor, run_dir)
        value = cls.__new__(cls)
        value._payload = payload
        # names are <key>_<step>_<8 hex digits>.<ext>: the extension follows the digest
        value._ext = Path(descriptor["path"]).name.rpartition("_")[2].partition(".")[2]
        for name, field in descriptor.items():
            if name not in _STORAGE_FIELDS and not isinstance(getattr(cls, name, None),
                                                              property):
                setattr(value, name, field)
        value._restore(descriptor, run_dir)
        return value

    def _restore(self, descriptor: dict, run_dir: Path) -> None:
        """Set what the descriptor fields alone do not (called by :meth:`from_json`)."""

    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._payload == other._payload and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash((type(self).__name__, hashlib.sha256(self._payload).hexdigest()))


class BatchableMedia(_FileMedia):
    """File media often logged as a list at one step (images, audio, video, 3-D objects,
    molecules): ``wl.log({"k": [v0, v1]})`` writes item ``i`` under ``"k_i"``."""


def _stored_bytes(descriptor: dict, run_dir: Path) -> bytes:
    """The bytes of the file a descriptor names, checked against its recorded sha256."""
    path = file_in_run(run_dir, descriptor["path"], "descriptor")
    payload = path.read_bytes()
    recorded = descriptor.get("sha256")
    if recorded is not None and hashlib.sha256(payload).hexdigest() != recorded:
        raise InvalidValueError(f"descriptor: file {descriptor['path']!r} changed since it was "
                                "logged (its sha256 differs from the descriptor's)")
    return payload
