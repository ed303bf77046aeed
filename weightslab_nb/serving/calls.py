"""Session methods a remote session calls over the backend: ``POST /v1/call``.

A notebook attached to a training process (:mod:`weightslab_nb.serving.remote`) runs the module
functions (``wl.tag_samples``, ``wl.query_sample_history``...) on the session that lives there.
Each call names one method of :data:`CALLS`, an allow-list of the public session interface, with
JSON positional and keyword arguments::

    {"method": "tag_samples", "args": [[3, 7], "hard"], "kwargs": {"origin": "train"}}

and runs it on the served session, whose own checks decide what is accepted: a remote call is
refused with the message and exception class a local call would raise, and changes nothing then.
The result travels as JSON (:func:`encode_result`: tuples become lists, numpy scalars numbers);
the client turns it back into the local shape (:func:`decode_result`).

Methods outside the list (training, recording, watching, writing files on the server) are refused
with a 400: a remote session observes and steers a run, it does not train in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from weightslab_nb.arguments import check_seconds
from weightslab_nb.commands import request_dict
from weightslab_nb.errors import ArgumentError, InvalidTypeError, UnknownNameError

CALL_PATH = "/v1/call"
MAX_WAIT = 20.0  # seconds an evaluation_status call holds its answer at most


@dataclass(frozen=True)
class Call:
    """One method a remote session may call: how its result comes back.

    ``result``: ``"plain"`` (JSON as is), ``"rows"`` (a list of tuples: each row back to a
    tuple), ``"request"`` (an evaluation request, sent as its status dict), ``"frame"`` (a
    pandas DataFrame, sent as an Arrow IPC stream: columns, dtypes and index kept).
    """

    result: str = "plain"


CALLS: dict[str, Call] = {
    "tag_samples": Call(),
    "discard_samples": Call(),
    "register_categorical_tag": Call(),
    "set_categorical_tag": Call(),
    "get_samples_by_tag": Call(),
    "get_discarded_samples": Call(),
    "query_signal_history": Call("rows"),
    "query_sample_history": Call("rows"),
    "query_instance_history": Call("rows"),
    "get_current_experiment_hash": Call(),
    "request_evaluation": Call("request"),
    "evaluation_status": Call("request"),
    "dataframe": Call("frame"),
}

#: The content type of a ``"frame"`` result (the reply body is the Arrow IPC stream itself).
ARROW_STREAM = "application/vnd.apache.arrow.stream"


def check_call(payload) -> tuple[str, list, dict]:
    """``(method, args, kwargs)`` of a decoded request body.

    Raises
    ------
    ArgumentError
        Not an object with a known ``method``, a list ``args`` and an object ``kwargs``
        with string keys.
    """
    if not isinstance(payload, dict):
        raise InvalidTypeError(f"request: expected a JSON object, got {type(payload).__name__}")
    unexpected = sorted(set(payload) - {"method", "args", "kwargs"})
    if unexpected:
        raise InvalidTypeError(f"request: unexpected key(s) {unexpected}; expected 'method', "
                               "'args', 'kwargs'")
    method = payload.get("method")
    if method not in CALLS:
        raise UnknownNameError(f"method: {method!r} cannot be called remotely; expected one of "
                               f"{sorted(CALLS)}")
    args = payload.get("args", [])
    kwargs = payload.get("kwargs", {})
    if not isinstance(args, list):
        raise InvalidTypeError(f"args: expected a list, got {type(args).__name__}")
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise InvalidTypeError("kwargs: expected an object with string keys")
    return method, args, kwargs


def run_call(session, payload):
    """Run one call on ``session``; return its JSON-able result.

    Raises
    ------
    ArgumentError
        A malformed request (nothing ran).
    Exception
        What the session method raised (its refusal; nothing changed).
    """
    method, args, kwargs = check_call(payload)
    if method == "evaluation_status":
        result = _evaluation(session, *args, **kwargs)
    elif method == "dataframe":  # a property
        if args or kwargs:
            raise InvalidTypeError("dataframe: takes no arguments")
        result = session.dataframe
    else:
        result = getattr(session, method)(*args, **kwargs)
    return encode_result(CALLS[method], result)


def _evaluation(session, request_id, wait: float = 0.0):
    """The evaluation request ``request_id`` of the session's controller, once it finished or
    after ``wait`` seconds (at most :data:`MAX_WAIT`)."""
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise InvalidTypeError(f"request_id: expected an int, got {request_id!r}")
    wait = min(check_seconds(wait, "wait"), MAX_WAIT)
    req = session.evaluation.find(request_id)
    if req is None:
        raise UnknownNameError(f"request_id: no evaluation request {request_id}")
    if wait:
        req.wait(wait)
    return req


def encode_result(call: Call, value):
    """``value`` as JSON values, or as the bytes of an Arrow IPC stream for a frame (see the
    module docstring)."""
    if call.result == "request":
        return _plain(request_dict(value))
    if call.result == "frame":
        return frame_bytes(value)
    return _plain(value)


def frame_bytes(frame) -> bytes:
    """A pandas DataFrame as an Arrow IPC stream."""
    import io

    import pyarrow as pa

    table = pa.Table.from_pandas(frame)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf": JSON has no such numbers
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    raise ArgumentError(f"result: {type(value).__name__} cannot travel as JSON")


def decode_result(method: str, value):
    """The local shape of a call's result: history rows back to tuples, their value (third
    field) back to a float when it was NaN or infinite; a frame's Arrow bytes back to a
    DataFrame."""
    if CALLS[method].result == "frame":
        import pyarrow as pa

        return pa.ipc.open_stream(value).read_pandas()
    if CALLS[method].result == "rows":
        return [(a, b, float(v) if isinstance(v, str) else v, h) for a, b, v, h in value]
    return value
