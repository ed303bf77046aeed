"""The framed body of the panel relay: one JSON header and raw binary buffers in one HTTP body.

Layout: a 4-byte big-endian unsigned length ``N``, ``N`` bytes of UTF-8 JSON (an object, the
*header*), then the buffers concatenated. The header's ``"buffers"`` key lists their lengths in
order (``[]`` or absent: no buffers); nothing may follow the last buffer. Panel buffers (float
columns, PNG thumbnails) thus travel as the bytes they are, never as base64 or JSON numbers.
"""

from __future__ import annotations

import json
import struct

from weightslab_nb.errors import InvalidValueError

CONTENT_TYPE = "application/vnd.weightslab-nb.frames"
_LENGTH = struct.Struct(">I")


class FrameError(InvalidValueError):
    """A body that is not a well-formed frame (truncated, bad header, wrong buffer lengths)."""


def encode_frames(header: dict, buffers=(), default=None) -> bytes:
    """``header`` (a JSON-able dict; its ``"buffers"`` key is set here) and ``buffers``
    (bytes-like objects) as one body. ``default`` is passed to :func:`json.dumps` for values it
    cannot encode (numpy scalars...)."""
    views = [memoryview(b).cast("B") for b in buffers]
    head = json.dumps({**header, "buffers": [v.nbytes for v in views]}, default=default,
                      separators=(",", ":")).encode("utf-8")
    return b"".join([_LENGTH.pack(len(head)), head, *views])


def decode_frames(body: bytes, check_header=None) -> tuple[dict, list[memoryview]]:
    """The ``(header, buffers)`` of a body made by :func:`encode_frames`; the buffers are
    memoryviews into ``body``. ``check_header(raw_json_bytes)``, when given, runs before the
    header is parsed (the backend refuses deeply nested JSON there).

    Raises
    ------
    FrameError
        A body shorter than its header length, a header that is not a JSON object, buffer
        lengths that are not non-negative ints, or lengths that do not add up to the body.
    """
    view = memoryview(body).cast("B")
    if view.nbytes < _LENGTH.size:
        raise FrameError(f"frames: a body of {view.nbytes} bytes has no 4-byte header length")
    (size,) = _LENGTH.unpack_from(view)
    end = _LENGTH.size + size
    if end > view.nbytes:
        raise FrameError(f"frames: header of {size} bytes is longer than the body")
    raw = bytes(view[_LENGTH.size:end])
    if check_header is not None:
        check_header(raw)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FrameError(f"frames: header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise FrameError(f"frames: header must be a JSON object, got {type(header).__name__}")
    lengths = header.pop("buffers", None) or []
    if not isinstance(lengths, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in lengths):
        raise FrameError("frames: 'buffers' must be a list of byte counts (ints >= 0)")
    if end + sum(lengths) != view.nbytes:
        raise FrameError(f"frames: buffers of {sum(lengths)} bytes announced, "
                         f"{view.nbytes - end} present")
    buffers, at = [], end
    for n in lengths:
        buffers.append(view[at:at + n])
        at += n
    return header, buffers
