""":class:`Audio`: a sound clip saved as a 16-bit PCM WAV file."""

from __future__ import annotations

import io
import os
import wave

import numpy as np

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.tracking.media._checks import _as_array, _check_caption, _check_int
from weightslab_nb.tracking.media._files import _read_source
from weightslab_nb.tracking.media.base import BatchableMedia

MAX_AUDIO_CHANNELS = 32


def _pcm16(data) -> np.ndarray:
    """Samples ``[N, channels]`` int16 from float (-1..1, clipped) or int16 samples."""
    array = _as_array(data, "data_or_path")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] == 0 or not 1 <= array.shape[1] <= MAX_AUDIO_CHANNELS:
        raise InvalidValueError("data_or_path: expected samples of shape [N] or [N, channels] with "
                                f"N >= 1 and at most {MAX_AUDIO_CHANNELS} channels, got shape "
                                f"{tuple(array.shape)} (transpose a [channels, N] array)")
    if array.dtype == np.int16:
        return array
    if array.dtype.kind != "f":
        raise InvalidTypeError(f"data_or_path: expected float samples in [-1, 1] or int16 samples, "
                               f"got dtype {array.dtype}")
    if not np.isfinite(array).all():
        raise InvalidValueError("data_or_path: samples must be finite (found NaN or inf)")
    return np.rint(np.clip(array, -1.0, 1.0) * 32767).astype(np.int16)


def _wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(samples.shape[1])
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())
    return buffer.getvalue()


def _wav_info(payload: bytes) -> tuple[int, int, int]:
    """Sample rate, channels and frames of a WAV file's bytes."""
    try:
        with wave.open(io.BytesIO(payload), "rb") as source:
            return source.getframerate(), source.getnchannels(), source.getnframes()
    except (wave.Error, EOFError) as exc:
        raise InvalidValueError(f"data_or_path: not a PCM WAV file ({exc})") from None


class Audio(BatchableMedia):
    """A sound clip, saved as a 16-bit PCM WAV file.

    Parameters
    ----------
    data_or_path : ndarray, Tensor, str or os.PathLike
        Samples ``[N]`` (mono) or ``[N, channels]``: floats in [-1, 1] (values outside are
        clipped) or int16. Or the path of a ``.wav`` file, copied as it is.
    sample_rate : int, optional
        Samples per second; required for arrays. For a file it is read from the file (a
        different value given here is an error).
    caption : str, optional

    Attributes
    ----------
    sample_rate, channels, frames : int
    duration : float
        Length in seconds.

    Raises
    ------
    ValueError
        A missing or non-positive ``sample_rate`` for an array, a bad shape, non-finite
        samples, or a file that is not a PCM WAV.
    TypeError
        A sample dtype other than float or int16.
    FileNotFoundError
        ``data_or_path`` names a file that does not exist.
    """

    _type = "audio-file"
    _kind_dir = "audio"
    _ext = "wav"

    def __init__(self, data_or_path, sample_rate: int | None = None, caption=None):
        if sample_rate is not None:
            rate = _check_int(sample_rate, "sample_rate")
            if not 0 < rate < 2**31:  # the WAV header holds it in 32 bits
                raise InvalidValueError(f"sample_rate: expected a positive number of samples per "
                                        f"second below 2**31, got {rate}")
        if isinstance(data_or_path, (str, os.PathLike)):
            self._payload = _read_source(data_or_path, "data_or_path", ("wav",))
            self.sample_rate, self.channels, self.frames = _wav_info(self._payload)
            if sample_rate is not None and rate != self.sample_rate:
                raise InvalidValueError(f"sample_rate: the file is sampled at {self.sample_rate} "
                                        f"Hz, not {rate}; omit sample_rate for files")
        else:
            if sample_rate is None:
                raise InvalidValueError("sample_rate: required when data_or_path holds samples "
                                        "(samples per second, e.g. 16000)")
            samples = _pcm16(data_or_path)
            self._payload = _wav_bytes(samples, rate)
            self.sample_rate, (self.frames, self.channels) = rate, samples.shape
        self.duration = self.frames / self.sample_rate
        self.caption = _check_caption(caption)

    def _fields(self) -> dict:
        return {"sample_rate": self.sample_rate, "channels": self.channels,
                "duration": self.duration, "caption": self.caption}

    def _restore(self, descriptor, run_dir) -> None:
        self.sample_rate, self.channels, self.frames = _wav_info(self._payload)

    def __repr__(self) -> str:
        return (f"<Audio {self.duration:.3g} s at {self.sample_rate} Hz, {self.channels} "
                f"channel(s) caption={self.caption!r}>")
