"""The read-only views :func:`~weightslab_nb.tracking.media.decode_value` returns.

``LoggedImage``, ``LoggedMask``, ``LoggedTable``, ``LoggedHistogram``, ``LoggedPlot`` and
``LoggedFile`` (Html, Audio, Video, Object3D). PIL and pandas are imported only by the
methods that need them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from weightslab_nb.errors import UnknownNameError


@dataclass(frozen=True)
class LoggedHistogram:
    """A logged :class:`Histogram`: ``bins`` (n + 1 edges) and ``histogram`` (n counts)."""

    bins: tuple
    histogram: tuple


@dataclass(frozen=True)
class LoggedMask:
    """A logged segmentation mask: its PNG ``path`` and ``class_labels`` (int -> str)."""

    path: Path
    class_labels: dict

    def to_numpy(self) -> np.ndarray:
        """The class ids, ``[H, W]`` uint8."""
        from PIL import Image as PILImage

        with PILImage.open(self.path) as image:
            return np.asarray(image).copy()


@dataclass(frozen=True)
class LoggedImage:
    """A logged :class:`Image`.

    Attributes
    ----------
    path : Path
        The image file.
    width, height : int
    format : str
    caption : str or None
    boxes : dict or None
        Group -> ``{"box_data": [...], "class_labels": {int: str}}``.
    masks : dict or None
        Group -> :class:`LoggedMask`.
    classes : list or None
    """

    path: Path
    width: int
    height: int
    format: str
    caption: str | None = None
    boxes: dict | None = None
    masks: dict | None = None
    classes: list | None = None

    def image(self):
        """The picture as a loaded ``PIL.Image.Image`` (the file is closed)."""
        from PIL import Image as PILImage

        with PILImage.open(self.path) as image:
            image.load()
            return image.copy()

    def to_numpy(self) -> np.ndarray:
        """The pixels, ``[H, W]`` or ``[H, W, C]`` uint8 as PIL decodes them."""
        return np.asarray(self.image())


@dataclass(frozen=True)
class LoggedTable:
    """A logged :class:`Table`: ``columns`` and ``data`` (rows; media cells decoded)."""

    path: Path
    columns: tuple
    data: tuple = field(repr=False)

    def get_dataframe(self):
        """The rows as a ``pandas.DataFrame``."""
        import pandas

        return pandas.DataFrame([list(row) for row in self.data], columns=list(self.columns))

    def get_column(self, name: str) -> list:
        """The cells of column ``name``; KeyError when there is none."""
        if name not in self.columns:
            raise UnknownNameError(f"name: no column {name!r}; columns are {list(self.columns)}")
        index = self.columns.index(name)
        return [row[index] for row in self.data]


@dataclass(frozen=True)
class LoggedPlot:
    """A logged chart (``wl.plot.*``): ``chart``, ``title``, axis labels, ``fields`` (part ->
    column), ``extra`` settings and its ``table`` (a :class:`LoggedTable`)."""

    chart: str
    title: str | None
    x_label: str | None
    y_label: str | None
    fields: dict
    table: LoggedTable
    extra: dict = field(default_factory=dict)

    def get_dataframe(self):
        """The chart's data as a ``pandas.DataFrame``."""
        return self.table.get_dataframe()


@dataclass(frozen=True)
class LoggedFile:
    """A logged Html, Audio, Video or Object3D file.

    ``kind`` is the descriptor's ``"_type"``, ``path`` the file; the other descriptor fields
    (``sample_rate``, ``fps``, ``caption``, ...) are in ``fields`` and readable as attributes.
    """

    kind: str
    path: Path
    fields: dict

    def __getattr__(self, name: str):
        if name.startswith("__") or name == "fields":
            raise AttributeError(name)
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(f"{self.kind} has no field {name!r}") from None

    def read_bytes(self) -> bytes:
        """The file's bytes."""
        return self.path.read_bytes()

    def read_text(self) -> str:
        """The file's text (UTF-8)."""
        return self.path.read_text(encoding="utf-8")
