"""Rich values for ``wl.log``: images (with boxes and masks), histograms, tables, HTML, audio,
video, 3-D points, molecules, plotly figures, graphs, JSON metadata and custom charts (wandb's
data types).

A value is checked and snapshotted when it is built (``wl.Image(batch[0])``): later changes to
the source array or file do not leak into it. When a run logs it, :meth:`Media.to_json` writes
its file(s) under ``<run_dir>/media/<kind>/`` and returns a small JSON-able descriptor (always
with a ``"_type"``) that the history row keeps; :func:`decode_value` turns a descriptor back
into a read-only view for notebooks and panels.

File names are ``<safe key>_<step>_<first 8 hex digits of the sha256>.<ext>``. Files are
written to a temporary name in the same folder and renamed into place, and a file that already
holds the same bytes is left alone. Importing this package imports neither torch, pandas,
matplotlib nor PIL: a tensor is recognised by its type's module and converted with its own
methods.

Where things live (every public name is re-exported here):

* ``base``: :class:`WBValue` (``to_json``, ``from_json``, equality), :class:`Media`,
  :class:`BatchableMedia` and ``_FileMedia`` for kinds with fixed bytes.
* ``histogram``: :class:`Histogram` (inline, no file) and ``MAX_HISTOGRAM_BINS``.
* ``image``: :class:`Image` and the checks of its classes.
* ``bounding_boxes``: :class:`BoundingBoxes2D` (one group of boxes, in an image or alone).
* ``image_mask``: :class:`ImageMask` (one segmentation mask, in an image or alone).
* ``json_metadata``: :class:`JSONMetadata`.
* ``graph``: :class:`Graph`, :class:`Node`, :class:`Edge`; ``_graph_torch`` builds them from a
  torch module (``Graph.from_torch``).
* ``plotly_figure``: :class:`Plotly` (optional extra ``weightslab-nb[plotly]``).
* ``molecule``: :class:`Molecule` and ``MOLECULE_FORMATS`` (RDKit: extra ``weightslab-nb[chem]``).
* ``table``: :class:`Table`, ``MAX_TABLE_ROWS`` and ``DEFAULT_TABLE_COLUMNS``.
* ``html``: :class:`Html`.
* ``audio``: :class:`Audio` (16-bit PCM WAV) and ``MAX_AUDIO_CHANNELS``.
* ``video``: :class:`Video` (animated GIF or a copied file) and ``VIDEO_FORMATS``.
* ``object3d``: :class:`Object3D`, ``MAX_POINT_CATEGORY`` and ``MODEL_FORMATS``.
* ``custom_chart``: :class:`CustomChart` and :func:`plot_table` (wandb's custom charts: a
  Vega-Lite spec bound to a table's columns); ``vega_specs`` holds the named specs
  (:func:`register_vega_spec`, built-in presets in ``_vega_presets``) and their checks.
* ``plot``: :class:`Plot`, a chart's table and column roles (built by ``wl.plot.*``).
* ``codec``: :func:`is_media`, :func:`encode_value` (media, lists of media, matplotlib
  figures) and :func:`decode_value`.
* ``logged``: the read-only views :func:`decode_value` returns (:class:`LoggedImage`,
  :class:`LoggedMask`, :class:`LoggedTable`, :class:`LoggedHistogram`, :class:`LoggedPlot`,
  :class:`LoggedFile`).
* ``_files``: key and step checks, atomic writes, file names, reading users' files, and
  :func:`file_in_run` (a logged file found again, never through a symbolic link).
* ``_checks``: array, pixel, number, caption and dict-key checks the kinds share.
"""

from __future__ import annotations

from weightslab_nb.tracking.media.audio import MAX_AUDIO_CHANNELS as MAX_AUDIO_CHANNELS
from weightslab_nb.tracking.media._files import file_in_run
from weightslab_nb.tracking.media.audio import Audio
from weightslab_nb.tracking.media.base import BatchableMedia, Media, WBValue
from weightslab_nb.tracking.media.bounding_boxes import BoundingBoxes2D
from weightslab_nb.tracking.media.codec import decode_value, encode_value, is_media
from weightslab_nb.tracking.media.custom_chart import CustomChart, plot_table
from weightslab_nb.tracking.media.graph import Edge, Graph, Node
from weightslab_nb.tracking.media.histogram import MAX_HISTOGRAM_BINS, Histogram
from weightslab_nb.tracking.media.html import Html
from weightslab_nb.tracking.media.image import Image
from weightslab_nb.tracking.media.image_mask import ImageMask
from weightslab_nb.tracking.media.json_metadata import JSONMetadata
from weightslab_nb.tracking.media.logged import (LoggedFile, LoggedHistogram, LoggedImage,
                                                 LoggedMask, LoggedPlot, LoggedTable)
from weightslab_nb.tracking.media.molecule import MOLECULE_FORMATS as MOLECULE_FORMATS
from weightslab_nb.tracking.media.molecule import Molecule
from weightslab_nb.tracking.media.object3d import MAX_POINT_CATEGORY as MAX_POINT_CATEGORY
from weightslab_nb.tracking.media.object3d import MODEL_FORMATS as MODEL_FORMATS
from weightslab_nb.tracking.media.object3d import Object3D
from weightslab_nb.tracking.media.plot import CHARTS, Plot
from weightslab_nb.tracking.media.plotly_figure import Plotly
from weightslab_nb.tracking.media.table import DEFAULT_TABLE_COLUMNS, MAX_TABLE_ROWS, Table
from weightslab_nb.tracking.media.vega_specs import register_vega_spec, vega_spec_names
from weightslab_nb.tracking.media.video import VIDEO_FORMATS as VIDEO_FORMATS
from weightslab_nb.tracking.media.video import Video

__all__ = ["CHARTS", "DEFAULT_TABLE_COLUMNS", "MAX_HISTOGRAM_BINS", "MAX_TABLE_ROWS", "Audio",
           "BatchableMedia", "BoundingBoxes2D", "CustomChart", "Edge", "Graph", "Histogram",
           "Html", "Image", "ImageMask", "JSONMetadata", "LoggedFile", "LoggedHistogram",
           "LoggedImage", "LoggedMask", "LoggedPlot", "LoggedTable", "Media", "Molecule", "Node",
           "Object3D", "Plot", "Plotly", "Table", "Video", "WBValue", "decode_value",
           "encode_value", "file_in_run", "is_media", "plot_table", "register_vega_spec",
           "vega_spec_names"]
