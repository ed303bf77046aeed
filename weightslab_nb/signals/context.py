"""What a custom signal function receives: :class:`SignalContext` (one sample) and
:class:`BatchSignalContext` (a whole batch, for ``batched=True`` signals).

Everything that costs time is computed on first access and cached: the sample table
(``dataframe``), the raw sample (``data``) and its ``image`` / ``point_cloud`` views. Contexts of
one fired batch share a single ``dataframe``, so reading it from every sample costs one copy of
the table per batch, not per sample.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from weightslab_nb.session import Session

_UNSET = object()
_IMAGE_CHANNELS = (1, 3, 4)


class SharedFrame:
    """The session's dataframe, built on first use and shared by the contexts of one call."""

    def __init__(self, session: "Session | None"):
        self._session = session
        self._frame = _UNSET
        self._lock = threading.Lock()

    def get(self):
        if self._frame is _UNSET:
            with self._lock:
                if self._frame is _UNSET:
                    self._frame = self._session.dataframe if self._session is not None else None
        return self._frame


class SignalContext:
    """The argument of a per-sample signal function: one sample, and for a dynamic signal the
    value of the metric it subscribes to.

    Built by the signal machinery; you can also build one yourself to try a signal function,
    e.g. ``my_signal(SignalContext(sample_id=3, data=image))``.

    Attributes
    ----------
    sample_id : int or str
        The sample the value is computed for.
    origin : str or None
        Its split (``"train"``, ``"val"``...).
    step : int or None
        Dynamic: the training step of the subscribed batch (the value is stored at this step).
        Static: the session's step when :func:`compute_signals` ran.
    subscribed_value : float or None
        Dynamic: this sample's value of the subscribed metric in the batch that fired the
        signal (NaN if that value was NaN). None for a static signal.
    subscribed_history : list of dict, or None
        With ``include_history=True``: the sample's earlier values of the subscribed metric,
        oldest first, as ``{"signal_value": float}`` entries, plus ``"model_age": int`` (the
        step it was recorded at) with ``include_history_metadata=True``. "Earlier" means
        recorded at a step before ``step``: the value that fired this call is
        ``subscribed_value``, not part of the list. Every experiment hash of the run is included.
        An empty list when there is no earlier value; None when history was not requested (and
        for static signals).
    subscribe_to : str or None
        The subscribed metric's name (None for a static signal).
    signal_name : str or None
        The name of the signal being computed.
    session : Session or None
        The session the signal belongs to.

    Lazy attributes (computed on first access, then cached): ``dataframe``, ``data``,
    ``image``, ``point_cloud``. ``is_static`` / ``is_dynamic`` tell which kind of call it is.
    """

    def __init__(self, sample_id=None, *, data=_UNSET, origin: str | None = None,
                 step: int | None = None, subscribed_value: float | None = None,
                 subscribed_history: list | None = None, subscribe_to: str | None = None,
                 signal_name: str | None = None, session: "Session | None" = None,
                 dataframe=_UNSET):
        self.sample_id = sample_id
        self.origin = origin
        self.step = step
        self.subscribed_value = subscribed_value
        self.subscribed_history = subscribed_history
        self.subscribe_to = subscribe_to
        self.signal_name = signal_name
        self.session = session
        self._data = data
        self._frame = dataframe if dataframe is not _UNSET else SharedFrame(session)
        self._image = _UNSET
        self._points = _UNSET

    # ---------------------------------------------------------------- kind
    @property
    def is_dynamic(self) -> bool:
        """True when computed because a subscribed metric was recorded (``subscribe_to=``)."""
        return self.subscribe_to is not None

    @property
    def is_static(self) -> bool:
        """True when computed from the sample itself (no subscription), e.g. by
        :func:`compute_signals`."""
        return self.subscribe_to is None

    # ---------------------------------------------------------------- lazy views
    @property
    def dataframe(self):
        """The session's sample table (``session.dataframe``: a pandas DataFrame indexed by
        ``(sample_id, annotation_id)``), built on first access and shared by every context of
        the same batch. None without a session."""
        frame = self._frame
        return frame.get() if isinstance(frame, SharedFrame) else frame

    @property
    def data(self):
        """The raw sample: the inputs part of ``dataset[i]`` (a tensor, array, PIL image...).

        Static signals get it from the dataset being computed; dynamic ones load it on first
        access with ``session.sample_input(sample_id)``.
        """
        if self._data is _UNSET:
            if self.session is None or self.sample_id is None:
                self._data = None
            else:
                self._data = self.session.sample_input(self.sample_id)
        return self._data

    @property
    def image(self):
        """``data`` as a float32 torch tensor ``[C, H, W]`` with values in ``[0, 1]`` when it
        looks like an image, else None (see :func:`image_view` for the rules)."""
        if self._image is _UNSET:
            self._image = image_view(self.data)
        return self._image

    @property
    def point_cloud(self):
        """``data`` as a float32 torch tensor ``[N, 3+]`` (points by coordinates/features) when
        it is 2-D with at least 3 columns, else None (see :func:`point_cloud_view`)."""
        if self._points is _UNSET:
            self._points = point_cloud_view(self.data)
        return self._points

    def __repr__(self) -> str:
        kind = f"dynamic on {self.subscribe_to!r}" if self.is_dynamic else "static"
        extra = f" subscribed_value={self.subscribed_value!r}" if self.is_dynamic else ""
        return (f"<SignalContext {kind} sample_id={self.sample_id!r} origin={self.origin!r} "
                f"step={self.step!r}{extra}>")


class BatchSignalContext:
    """The argument of a ``batched=True`` signal function: one call per batch.

    The function returns one value per sample: an array-like of length ``len(ctx)`` (a list,
    numpy array or tensor); NaN (or None in a list) means "no value" for that sample, which
    leaves its previous value in place. Returning None records nothing.

    Attributes
    ----------
    sample_ids : list of int or str
    origins : list of str
        The origin of each sample.
    step : int or None
        Dynamic: the step of the subscribed batch. Static: the session's step.
    subscribed_values : float64 ndarray ``[B]`` or None
        Dynamic: each sample's value of the subscribed metric. None for static signals.
    subscribed_history : dict or None
        With ``include_history=True``: ``sample_id -> list of entries``, each entry as in
        :attr:`SignalContext.subscribed_history`. None otherwise.
    subscribe_to, signal_name, session
        As in :class:`SignalContext`.

    ``data`` is the list of raw samples (static: loaded from the dataset; dynamic: loaded on
    first access through ``session.sample_input``), ``images`` / ``point_clouds`` their views
    (lists, None where a sample has no such view), and ``dataframe`` the shared sample table.
    Stack same-shaped samples yourself: ``torch.stack(ctx.data)``.
    """

    def __init__(self, sample_ids: list, *, origins: list | None = None, step: int | None = None,
                 subscribed_values: np.ndarray | None = None,
                 subscribed_history: dict | None = None, subscribe_to: str | None = None,
                 signal_name: str | None = None, session: "Session | None" = None, data=_UNSET,
                 dataframe=_UNSET):
        self.sample_ids = list(sample_ids)
        self.origins = list(origins) if origins is not None else [None] * len(self.sample_ids)
        self.step = step
        self.subscribed_values = subscribed_values
        self.subscribed_history = subscribed_history
        self.subscribe_to = subscribe_to
        self.signal_name = signal_name
        self.session = session
        self._data = list(data) if data is not _UNSET else _UNSET
        self._frame = dataframe if dataframe is not _UNSET else SharedFrame(session)
        self._images = _UNSET
        self._points = _UNSET

    def __len__(self) -> int:
        return len(self.sample_ids)

    @property
    def is_dynamic(self) -> bool:
        return self.subscribe_to is not None

    @property
    def is_static(self) -> bool:
        return self.subscribe_to is None

    @property
    def origin(self) -> str | None:
        """The origin shared by every sample, else None."""
        first = self.origins[0] if self.origins else None
        return first if all(o == first for o in self.origins) else None

    @property
    def dataframe(self):
        """The session's sample table, built on first access (see :class:`SignalContext`)."""
        frame = self._frame
        return frame.get() if isinstance(frame, SharedFrame) else frame

    @property
    def data(self) -> list:
        """The raw samples, one per id (loaded on first access for dynamic signals)."""
        if self._data is _UNSET:
            if self.session is None:
                self._data = [None] * len(self.sample_ids)
            else:
                self._data = [self.session.sample_input(s) for s in self.sample_ids]
        return self._data

    @property
    def images(self) -> list:
        """:func:`image_view` of each sample (None where it is not an image)."""
        if self._images is _UNSET:
            self._images = [image_view(d) for d in self.data]
        return self._images

    @property
    def point_clouds(self) -> list:
        """:func:`point_cloud_view` of each sample (None where it is not a point cloud)."""
        if self._points is _UNSET:
            self._points = [point_cloud_view(d) for d in self.data]
        return self._points

    def contexts(self) -> list[SignalContext]:
        """One :class:`SignalContext` per sample (sharing this batch's dataframe)."""
        values = self.subscribed_values
        history = self.subscribed_history
        data = self._data
        return [SignalContext(sid, data=data[i] if data is not _UNSET else _UNSET,
                              origin=self.origins[i], step=self.step,
                              subscribed_value=None if values is None else float(values[i]),
                              subscribed_history=None if history is None else history.get(sid, []),
                              subscribe_to=self.subscribe_to, signal_name=self.signal_name,
                              session=self.session, dataframe=self._frame)
                for i, sid in enumerate(self.sample_ids)]

    def __repr__(self) -> str:
        kind = f"dynamic on {self.subscribe_to!r}" if self.is_dynamic else "static"
        return f"<BatchSignalContext {kind} samples={len(self)} step={self.step!r}>"


# ---------------------------------------------------------------- data views
def _as_array(data) -> tuple[np.ndarray | None, bool]:
    """``(numpy array, from_PIL)`` for tensors, arrays and PIL images, else ``(None, False)``."""
    if data is None:
        return None, False
    if hasattr(data, "detach") and hasattr(data, "dtype"):  # torch.Tensor
        t = data.detach()
        if t.dtype.is_complex:
            return None, False
        if t.device.type != "cpu":
            t = t.cpu()
        try:
            return t.numpy(), False
        except TypeError:  # bfloat16 and other dtypes numpy lacks
            return t.float().numpy(), False
    if isinstance(data, np.ndarray):
        return (None, False) if data.dtype.kind not in "biuf" else (data, False)
    if type(data).__module__.startswith("PIL.") and hasattr(data, "getbands"):
        return np.asarray(data), True
    return None, False


def _to_unit_range(arr: np.ndarray) -> np.ndarray:
    """Scale pixel values to ``[0, 1]``: bool as is, uint8 / 255, uint16 / 65535, other ints
    in ``0..255`` / 255, floats already in ``[0, 1]`` as they are; anything else min-max."""
    kind = arr.dtype.kind
    if kind == "b":
        return arr.astype(np.float32)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    out = arr.astype(np.float32)
    finite = out[np.isfinite(out)]
    if finite.size == 0:
        return np.zeros_like(out)
    lo, hi = float(finite.min()), float(finite.max())
    if kind in "iu" and lo >= 0 and hi <= 255:
        return out / 255.0
    if kind == "f" and lo >= 0.0 and hi <= 1.0:
        return out
    if hi == lo:
        return np.zeros_like(out)
    return np.clip((out - lo) / (hi - lo), 0.0, 1.0)


def image_view(data):
    """A normalised image view of ``data``, or None when it does not look like an image.

    Accepted: a PIL image; a tensor or array of shape ``[H, W]``, ``[C, H, W]`` or
    ``[H, W, C]`` with C in 1, 3, 4 (when both ends fit, the smaller one is the channels, and
    channels-first wins a tie), optionally with a
    leading batch dimension of 1; H and W at least 2. Returns a contiguous float32 torch tensor
    ``[C, H, W]`` scaled to ``[0, 1]`` (uint8 / 255, uint16 / 65535, other integers within
    0..255 / 255, floats already in [0, 1] unchanged, any other range min-max scaled). A 2-D
    array with at least 3 columns is *also* a point cloud: both views exist for it.
    """
    arr, from_pil = _as_array(data)
    if arr is None:
        return None
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim == 3:
        first, last = arr.shape[0], arr.shape[-1]
        if from_pil or (last in _IMAGE_CHANNELS
                        and (first not in _IMAGE_CHANNELS or last < first)):
            arr = np.moveaxis(arr, -1, 0)
        elif arr.shape[0] not in _IMAGE_CHANNELS:
            return None
    else:
        return None
    if arr.shape[1] < 2 or arr.shape[2] < 2:
        return None
    import torch

    return torch.from_numpy(np.ascontiguousarray(_to_unit_range(arr)))


def point_cloud_view(data):
    """``data`` as a float32 torch tensor ``[N, C]`` (C >= 3: x, y, z, then any per-point
    features) when it is a 2-D tensor or array with at least 3 columns (a leading batch
    dimension of 1 is dropped), else None. Values are not rescaled."""
    arr, from_pil = _as_array(data)
    if arr is None or from_pil:
        return None
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2 or arr.shape[1] < 3 or arr.shape[0] < 1:
        return None
    import torch

    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
