""":class:`Video`: frames saved as an animated GIF, or a copied video file."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.tracking.media._checks import _as_array, _check_caption, _to_uint8
from weightslab_nb.tracking.media._files import _read_source
from weightslab_nb.tracking.media.base import BatchableMedia

VIDEO_FORMATS = ("gif", "mp4", "webm", "ogg")


def _video_frames(data) -> np.ndarray:
    """Frames ``[T, H, W]`` or ``[T, H, W, 3]`` uint8 from ``[T, C, H, W]`` (C 1 or 3)."""
    array = _as_array(data, "data_or_path")
    if array.ndim != 4 or array.shape[1] not in (1, 3) or 0 in array.shape:
        raise InvalidValueError("data_or_path: expected frames of shape [T, C, H, W] with C 1 or "
                                f"3, got shape {tuple(array.shape)}; log a batch as a list of "
                                "Video")
    frames = _to_uint8(array, "data_or_path").transpose(0, 2, 3, 1)
    return np.ascontiguousarray(frames[..., 0] if frames.shape[-1] == 1 else frames)


def _gif_bytes(frames: np.ndarray, fps: float) -> bytes:
    from PIL import Image as PILImage

    images = [PILImage.fromarray(frame) for frame in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=max(10, round(1000 / fps)))
    return buffer.getvalue()


def _gif_info(payload: bytes) -> tuple[int, int, int]:
    """Frames, width and height of a GIF file's bytes."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(io.BytesIO(payload)) as image:
            return getattr(image, "n_frames", 1), image.width, image.height
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidValueError(f"data_or_path: not a GIF file PIL can read ({exc})") from None


class Video(BatchableMedia):
    """A clip: frames from an array saved as an animated GIF, or a copied video file.

    Parameters
    ----------
    data_or_path : ndarray, Tensor, str or os.PathLike
        Frames ``[T, C, H, W]`` with ``C`` 1 (grey) or 3 (RGB), uint8 or float (scaled like
        :class:`Image` pixels); or the path of a ``.gif``, ``.mp4``, ``.webm`` or ``.ogg``
        file, copied as it is.
    fps : int or float, default 4
        Frames per second (GIF frame times are whole hundredths of a second).
    caption : str, optional
    format : str, optional
        ``"gif"`` (the only format for arrays; the default for them). For a file, it must
        match the file's extension when given.

    Attributes
    ----------
    frames, width, height : int or None
        Known for arrays and GIF files; None for other files.

    Raises
    ------
    ValueError
        A bad shape, a non-positive ``fps``, a format other than GIF for arrays, or a file
        extension not accepted.
    FileNotFoundError
        ``data_or_path`` names a file that does not exist.

    Notes
    -----
    GIF holds at most 256 colours per frame: RGB frames with more colours are quantised, and
    consecutive identical frames may be merged into one longer frame.
    """

    _type = "video-file"
    _kind_dir = "videos"

    def __init__(self, data_or_path, fps: float = 4, caption=None, format: str | None = None):
        if isinstance(fps, (bool, np.bool_)) or \
                not isinstance(fps, (int, float, np.integer, np.floating)):
            raise InvalidTypeError("fps: expected a number of frames per second from 0.01 to "
                                   f"1000, got {type(fps).__name__} {fps!r}")
        if not math.isfinite(fps) or not 0.01 <= fps <= 1000:
            raise InvalidValueError("fps: expected a number of frames per second from 0.01 to "
                                    f"1000, got {fps!r}")
        self.fps = float(fps) if isinstance(fps, (float, np.floating)) else int(fps)
        self.caption = _check_caption(caption)
        if isinstance(data_or_path, (str, os.PathLike)):
            self._payload = _read_source(data_or_path, "data_or_path", VIDEO_FORMATS)
            self._ext = Path(data_or_path).suffix.lower().lstrip(".")
            if format is not None and format != self._ext:
                raise InvalidValueError(f"format: {format!r} does not match the file's extension "
                                        f".{self._ext}")
            info = _gif_info(self._payload) if self._ext == "gif" else (None, None, None)
        else:
            if format not in (None, "gif"):
                raise InvalidValueError(f"format: arrays are written as animated GIF; 'gif' is the "
                                        f"supported format for arrays, got {format!r}")
            frames = _video_frames(data_or_path)
            self._payload, self._ext = _gif_bytes(frames, float(fps)), "gif"
            info = (frames.shape[0], frames.shape[2], frames.shape[1])
        self.format = self._ext
        self.frames, self.width, self.height = info

    def _fields(self) -> dict:
        return {"format": self.format, "fps": self.fps, "frames": self.frames,
                "width": self.width, "height": self.height, "caption": self.caption}

    def __repr__(self) -> str:
        return (f"<Video {self.format} {self.frames} frames {self.width}x{self.height} at "
                f"{self.fps} fps caption={self.caption!r}>")
