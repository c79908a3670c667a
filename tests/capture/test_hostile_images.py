"""Hostile image input: random bytes, garbled headers, absurd declared sizes and decompression bombs.

Whatever the bytes, biometrix.capture.files raises only UnreadableImage / ImageTooLarge / InvalidInput
(never a raw PIL, OpenCV, ValueError or MemoryError), and a bomb is refused from its header alone.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from biometrix.capture import files
from biometrix.core.errors import ImageTooLarge, InvalidInput, UnreadableImage

ALLOWED = (UnreadableImage, ImageTooLarge, InvalidInput)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int, height: int, *, color_type: int = 0) -> bytes:
    """A small, well-formed PNG header declaring width x height; the IDAT holds one row only (never decoded)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    idat = zlib.compress(bytes(min(width, 4096) + 1), 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def pgm(width: int, height: int, maxval: int = 255, body: bytes = b"") -> bytes:
    return f"P5\n{width} {height}\n{maxval}\n".encode() + body


def jpeg_with_size(width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose SOF0 frame header is patched to declare width x height."""
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8), 128, np.uint8)).save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")
    assert sof > 0
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def _valid(fmt: str) -> bytes:
    buf = io.BytesIO()
    arr = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    img = Image.fromarray(arr if fmt != "PPM" else arr[..., 0])
    img.save(buf, format=fmt)
    return buf.getvalue()


VALID = {"png": _valid("PNG"), "jpg": _valid("JPEG"), "pgm": _valid("PPM"), "bmp": _valid("BMP")}


def _all_entry_points(data: bytes, path: Path, max_pixels: int = files.MAX_PIXELS) -> None:
    """Feed ``data`` to every reader: each either succeeds with a uint8 image or raises an allowed error."""
    path.write_bytes(data)
    calls = [
        lambda: files.decode_gray(data, max_pixels=max_pixels),
        lambda: files.decode_rgb(data, max_pixels=max_pixels),
        lambda: files.load_gray(path, max_pixels=max_pixels),
        lambda: files.load_rgb(path, max_pixels=max_pixels),
        lambda: files.read_image_header(path, max_pixels=max_pixels),
    ]
    for call in calls:
        try:
            out = call()
        except ALLOWED as err:
            assert str(err) and "\n" not in str(err)
            continue
        if isinstance(out, np.ndarray):
            assert out.dtype == np.uint8 and out.ndim in (2, 3) and out.size > 0
        else:
            assert out.width > 0 and out.height > 0


@FAST
@given(data=st.binary(min_size=0, max_size=2048))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    _all_entry_points(data, tmp_path / "random.img")


@FAST
@given(
    fmt=st.sampled_from(sorted(VALID)),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=6),
    junk=st.binary(max_size=64),
)
# a BMP whose header Pillow reads as a small image and OpenCV as one over its own width limit (cv2.error)
@example(fmt="bmp", cut=0.4453125, flips=[(502925, 16)], junk=b"")
def test_truncated_and_garbled_valid_images(
    tmp_path: Path, fmt: str, cut: float, flips: list[tuple[int, int]], junk: bytes
) -> None:
    data = bytearray(VALID[fmt][: max(1, int(len(VALID[fmt]) * cut))])
    for pos, mask in flips:
        data[pos % len(data)] ^= mask
    _all_entry_points(bytes(data) + junk, tmp_path / f"garbled.{fmt}")


@FAST
@given(
    width=st.integers(0, 2**31 - 1),
    height=st.integers(0, 2**31 - 1),
    kind=st.sampled_from(["png", "png-rgba", "pgm", "pgm16", "jpeg"]),
)
def test_absurd_declared_sizes(tmp_path: Path, width: int, height: int, kind: str) -> None:
    if kind == "png":
        data = bomb_png(width, height)
    elif kind == "png-rgba":
        data = bomb_png(width, height, color_type=6)
    elif kind == "pgm":
        data = pgm(width, height, body=bytes(64))
    elif kind == "pgm16":
        data = pgm(width, height, 65535, bytes(64))
    else:
        data = jpeg_with_size(min(width, 65535), min(height, 65535))
    _all_entry_points(data, tmp_path / "absurd.img", max_pixels=1_000_000)


@pytest.mark.parametrize(
    "data",
    [bomb_png(60000, 60000), bomb_png(60000, 60000, color_type=6), pgm(60000, 60000, body=bytes(1024)),
     jpeg_with_size(65000, 65000)],
    ids=["png-grey", "png-rgba", "pgm", "jpeg"],
)
def test_decompression_bomb_refused_before_decoding(tmp_path: Path, data: bytes) -> None:
    assert len(data) < 10_000  # a small file...
    path = tmp_path / "bomb.img"
    path.write_bytes(data)
    for call in (lambda: files.decode_gray(data), lambda: files.load_rgb(path),
                 lambda: files.read_image_header(path, max_pixels=files.MAX_PIXELS)):
        tracemalloc.start()
        t0 = time.perf_counter()
        try:
            with pytest.raises(ImageTooLarge, match="over the"):
                call()
            elapsed = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert elapsed < 1.0, f"refusing a bomb took {elapsed:.2f} s"
        assert peak < 50 * 2**20, f"refusing a bomb allocated {peak / 2**20:.0f} MB"


def test_header_reports_the_declared_bomb_size(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(60000, 60000))
    header = files.read_image_header(path)  # no limit: just the header, never the pixels
    assert (header.width, header.height, header.format) == (60000, 60000, "PNG")
