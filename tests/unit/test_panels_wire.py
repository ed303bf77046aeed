"""Wire formats, thumbnails and curve bucketing: what the browser decodes is what Python meant."""

from __future__ import annotations

import io
import sys
import threading

import numpy as np
import pytest
from PIL import Image

from weightslab_nb.panels.curves import bucket_series
from weightslab_nb.panels.thumbnails import (ThumbnailCache, default_thumbnail, normalize_uint8,
                                             placeholder_png, to_image_array)
from weightslab_nb.panels.wire import decode_arrays, encode_array, encode_arrays, is_png


def decode_png(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(bytes(data)))
    img.load()
    return img


def test_arrays_travel_as_little_endian_buffers_with_dtype_and_shape():
    big = np.arange(6, dtype=">f8").reshape(2, 3)
    meta, buf = encode_array("x", big)
    assert meta == {"name": "x", "dtype": "<f8", "shape": [2, 3]}
    assert bytes(buf) == np.arange(6, dtype="<f8").tobytes()
    metas, bufs = encode_arrays({"step": np.array([1, 2], dtype=np.int64), "ok": np.array([True])})
    back = decode_arrays(metas, bufs)
    assert back["step"].tolist() == [1, 2] and back["ok"].tolist() == [True]


def test_arrays_the_browser_cannot_read_are_refused():
    with pytest.raises(TypeError, match="x: cannot send dtype"):
        encode_array("x", np.array(["a"]))
    with pytest.raises(TypeError):
        encode_array("x", np.array([1 + 2j]))


@pytest.mark.parametrize("shape, mode, size", [
    ((8, 8), "L", (8, 8)),
    ((1, 8, 8), "L", (8, 8)),
    ((3, 5, 7), "RGB", (7, 5)),
    ((5, 7, 3), "RGB", (7, 5)),
    ((5, 7, 4), "RGB", (7, 5)),
    ((1, 1, 6, 6), "L", (6, 6)),
    ((64,), "L", (8, 8)),
])
def test_default_thumbnail_reads_common_image_layouts(shape, mode, size):
    png = default_thumbnail(np.random.default_rng(0).random(shape))
    img = decode_png(png)
    assert is_png(png) and img.mode == mode and img.size == size


def test_default_thumbnail_reads_torch_tensors_and_pil_images():
    torch = pytest.importorskip("torch")
    img = decode_png(default_thumbnail(torch.rand(3, 4, 6)))
    assert img.mode == "RGB" and img.size == (6, 4)
    img = decode_png(default_thumbnail(torch.rand(2, 2, dtype=torch.float16)))
    assert img.size == (2, 2)
    pil = Image.new("RGBA", (5, 3), (10, 20, 30, 255))
    assert decode_png(default_thumbnail(pil)).size == (5, 3)


def test_thumbnails_are_min_max_normalised():
    arr = to_image_array(np.array([[2.0, 4.0], [6.0, np.nan]]))
    u8 = normalize_uint8(arr)
    assert u8.tolist() == [[0, 128], [255, 0]]
    assert normalize_uint8(np.full((2, 2), 7.0)).tolist() == [[0, 0], [0, 0]]
    img = np.asarray(decode_png(default_thumbnail(np.array([[0.0, 16.0]]))))
    assert img.tolist() == [[0, 255]]


def test_large_images_are_shrunk():
    img = decode_png(default_thumbnail(np.zeros((3, 600, 300))))
    assert max(img.size) == 128


def test_non_images_are_refused_with_a_clear_error():
    with pytest.raises(TypeError, match="thumbnail"):
        default_thumbnail("a caption")
    with pytest.raises(ValueError, match="square"):
        default_thumbnail(np.zeros(10))


def test_thumbnail_cache_converts_once_per_sample_and_accepts_user_callables():
    calls = []

    def mine(x):
        calls.append(x)
        return Image.new("L", (2, 2), 255)

    cache = ThumbnailCache(mine, max_items=2)
    a = cache.get(1, lambda: "input-1")
    assert cache.get(1, lambda: pytest.fail("cached")) == a
    cache.get(2, lambda: "input-2")
    cache.get(3, lambda: "input-3")
    assert calls == ["input-1", "input-2", "input-3"] and len(cache) == 2
    assert is_png(a) and decode_png(a).size == (2, 2)
    with pytest.raises(ValueError, match="not a PNG"):
        ThumbnailCache(lambda x: b"nope").get(9, lambda: 0)
    with pytest.raises(TypeError, match="callable"):
        ThumbnailCache("not callable")
    assert decode_png(placeholder_png()).size == (1, 1)


def test_bucketing_keeps_min_max_and_the_exact_last_value():
    n = 10_001
    rng = np.random.default_rng(1)
    mean = rng.normal(size=n)
    series = {"step": np.arange(n, dtype=np.int64) * 3, "mean": mean, "min": mean - rng.random(n),
              "max": mean + rng.random(n)}
    out = bucket_series(series, 500)
    assert len(out["step"]) <= 500
    assert out["min"].min() == series["min"].min()
    assert out["max"].max() == series["max"].max()
    assert out["step"][-1] == series["step"][-1] and out["mean"][-1] == mean[-1]
    assert out["weight"].sum() == n
    assert np.all(np.diff(out["step"]) > 0)
    # the weighted mean of bucket means is the mean of the points
    assert np.isclose((out["mean"] * out["weight"]).sum() / n, mean.mean())


def test_bucketing_ignores_nan_and_leaves_short_series_alone():
    series = {"step": np.arange(5), "mean": np.array([np.nan, 2, np.nan, 4, 5.0]),
              "min": np.array([np.nan, 2, np.nan, 4, 5.0]), "max": np.array([np.nan, 2, np.nan, 4, 5.0])}
    out = bucket_series(series, 3)
    assert out["mean"].tolist() == [2.0, 4.0, 5.0]
    assert bucket_series(series, 10)["mean"] is not None
    assert len(bucket_series(series, 10)["step"]) == 5
    with pytest.raises(ValueError):
        bucket_series(series, 1)


def test_panels_import_without_torch_or_threads():
    import subprocess

    code = ("import sys, threading; import weightslab_nb.panels; "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "assert threading.active_count() == 1, threading.enumerate()")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert threading.current_thread() is threading.main_thread()
