"""Tests for biometrix.capture.files: real files written by OpenCV/Pillow, checked against numpy."""

from __future__ import annotations

import os
import struct
import time
import tracemalloc
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from biometrix.capture.files import (
    MAX_PIXELS,
    ImageHeader,
    decode_gray,
    decode_rgb,
    encode_png,
    load_gray,
    load_rgb,
    read_image_header,
)
from biometrix.core.errors import ImageTooLarge, InvalidInput, UnreadableImage


def _bgr_gray(bgr: np.ndarray) -> np.ndarray:
    """Independent grey oracle: ITU-R 601 luma, as OpenCV documents for BGR2GRAY."""
    b, g, r = (bgr[..., i].astype(np.float64) for i in range(3))
    return np.rint(0.299 * r + 0.587 * g + 0.114 * b).astype(np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _zero_png(width: int, height: int, *, rows_per_segment: int = 256) -> bytes:
    """A valid 8-bit grey PNG of zeros, built without materialising width × height bytes.

    Each segment is raw deflate from a fresh compressor ended by a full flush, so identical segments
    can be repeated; the Adler-32 of n zero bytes is (n mod 65521) << 16 | 1.
    """
    row = bytes(width + 1)  # filter byte 0, then zeros

    def segment(n_rows: int) -> bytes:
        comp = zlib.compressobj(1, zlib.DEFLATED, -15)
        return comp.compress(row * n_rows) + comp.flush(zlib.Z_FULL_FLUSH)

    full, rest = divmod(height, rows_per_segment)
    body = segment(rows_per_segment) * full + (segment(rest) if rest else b"")
    final_block = zlib.compressobj(1, zlib.DEFLATED, -15).flush()
    n_bytes = (width + 1) * height
    stream = b"\x78\x01" + body + final_block + struct.pack(">I", ((n_bytes % 65521) << 16) | 1)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", stream) + _png_chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def bgr_image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8)


# --- decoded values -------------------------------------------------------------------------------


def test_gray_png_roundtrips_exactly(tmp_path: Path) -> None:
    img = np.random.default_rng(1).integers(0, 256, size=(40, 31), dtype=np.uint8)
    path = tmp_path / "g.png"
    assert cv2.imwrite(str(path), img)
    out = load_gray(path)
    assert out.dtype == np.uint8 and out.shape == (40, 31)
    np.testing.assert_array_equal(out, img)
    np.testing.assert_array_equal(load_rgb(path), np.repeat(img[..., None], 3, axis=2))


def test_16bit_gray_png_is_scaled_to_8bit(tmp_path: Path) -> None:
    img = np.array([[0, 257, 65535], [32768, 1000, 65000]], dtype=np.uint16)
    path = tmp_path / "g16.png"
    assert cv2.imwrite(str(path), img)
    expected = np.rint(img.astype(np.float64) / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(load_gray(path), expected)


def test_rgb_png_gives_rgb_and_luma(tmp_path: Path, bgr_image: np.ndarray) -> None:
    path = tmp_path / "c.png"
    assert cv2.imwrite(str(path), bgr_image)
    np.testing.assert_array_equal(load_rgb(path), bgr_image[..., ::-1])
    gray = load_gray(path)
    assert gray.shape == bgr_image.shape[:2]
    assert np.abs(gray.astype(int) - _bgr_gray(bgr_image).astype(int)).max() <= 1


def test_rgba_transparent_background_becomes_white(tmp_path: Path) -> None:
    bgra = np.zeros((20, 30, 4), dtype=np.uint8)  # fully transparent black everywhere
    bgra[5:10, 5:25] = (10, 20, 30, 255)  # opaque dark ink
    bgra[12:15, 5:25] = (0, 0, 0, 128)  # half-transparent black
    path = tmp_path / "a.png"
    assert cv2.imwrite(str(path), bgra)
    rgb = load_rgb(path)
    expected = np.full((20, 30, 3), 255, dtype=np.uint8)
    expected[5:10, 5:25] = (30, 20, 10)
    expected[12:15, 5:25] = np.rint(255 * (1 - 128 / 255))
    np.testing.assert_array_equal(rgb, expected)
    gray = load_gray(path)
    assert gray[0, 0] == 255 and gray[7, 7] == _bgr_gray(np.array([[[10, 20, 30]]], np.uint8))[0, 0]


def test_gray_alpha_and_palette_pngs(tmp_path: Path) -> None:
    la = Image.new("LA", (8, 4), (0, 0))  # transparent
    la.putpixel((1, 1), (40, 255))
    la_path = tmp_path / "la.png"
    la.save(la_path)
    g = load_gray(la_path)
    assert g[1, 1] == 40 and g[0, 0] == 255 and (g == 255).sum() == 31

    pal = Image.new("P", (6, 3))
    pal.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * (253 * 3))
    pal.putpixel((2, 1), 1)
    pal.putpixel((4, 2), 2)
    pal_path = tmp_path / "p.png"
    pal.save(pal_path)
    np.testing.assert_array_equal(load_rgb(pal_path), np.asarray(pal.convert("RGB")))


def test_jpeg_and_bmp(tmp_path: Path, bgr_image: np.ndarray) -> None:
    bmp = tmp_path / "c.bmp"
    assert cv2.imwrite(str(bmp), bgr_image)
    np.testing.assert_array_equal(load_rgb(bmp), bgr_image[..., ::-1])

    smooth = np.zeros((32, 48, 3), dtype=np.uint8)
    smooth[..., 0] = np.linspace(0, 255, 48, dtype=np.uint8)[None, :]
    smooth[..., 2] = 128
    jpg = tmp_path / "c.jpg"
    assert cv2.imwrite(str(jpg), smooth, [cv2.IMWRITE_JPEG_QUALITY, 95])
    out = load_rgb(jpg)
    assert out.shape == (32, 48, 3)
    assert np.abs(out.astype(int) - smooth[..., ::-1].astype(int)).mean() < 3.0
    assert read_image_header(jpg) == ImageHeader(width=48, height=32, format="JPEG")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    arr = np.zeros((16, 24, 3), dtype=np.uint8)
    arr[:4, :8] = 255  # a bright top-left block, so every transform is visible
    im = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    im.save(path, exif=exif, quality=100)
    with Image.open(path) as reopened:
        expected = np.asarray(ImageOps.exif_transpose(reopened).convert("RGB"))
    out = load_rgb(path)
    assert out.shape == expected.shape
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 8


def test_decode_gray_on_bytes(bgr_image: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", bgr_image)
    assert ok
    data = buf.tobytes()
    gray = decode_gray(data)
    assert np.abs(gray.astype(int) - _bgr_gray(bgr_image).astype(int)).max() <= 1
    np.testing.assert_array_equal(decode_rgb(data), bgr_image[..., ::-1])
    with pytest.raises(UnreadableImage, match="upload.png is not a readable image"):
        decode_gray(b"hello world", name="upload.png")
    with pytest.raises(UnreadableImage, match="empty"):
        decode_gray(b"")


def test_encode_png_is_lossless(bgr_image: np.ndarray) -> None:
    rgb = bgr_image[..., ::-1].copy()
    data = encode_png(rgb)
    assert data.startswith(b"\x89PNG")
    np.testing.assert_array_equal(decode_rgb(data), rgb)
    gray = rgb[..., 0].copy()
    np.testing.assert_array_equal(decode_gray(encode_png(gray)), gray)
    with pytest.raises(InvalidInput):
        encode_png(rgb.astype(np.float32))
    with pytest.raises(InvalidInput):
        encode_png(np.zeros((4, 4, 2), dtype=np.uint8))


# --- refusals -------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.png"
    with pytest.raises(UnreadableImage, match="no such file: .*nope.png"):
        load_gray(path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(UnreadableImage, match="directory"):
        load_rgb(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(UnreadableImage, match=r"empty\.png is empty \(0 bytes\)"):
        load_gray(path)


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.jpg"
    path.write_bytes(np.random.default_rng(2).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(UnreadableImage, match="is not a readable image"):
        load_gray(path)


def test_text_renamed_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n" * 20)
    with pytest.raises(UnreadableImage, match=r"notes\.png is not a readable image \(.+\)"):
        load_rgb(path)


def test_truncated_png(tmp_path: Path) -> None:
    img = np.random.default_rng(3).integers(0, 256, size=(120, 90), dtype=np.uint8)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    data = buf.tobytes()
    path = tmp_path / "half.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableImage, match=r"half\.png is not a readable image"):
        load_gray(path)


def test_messages_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("plain text")
    with pytest.raises(UnreadableImage) as info:
        load_gray(path)
    assert "\n" not in str(info.value)


def test_zero_png_builder_makes_a_real_png(tmp_path: Path) -> None:
    data = _zero_png(301, 700, rows_per_segment=256)  # 2 full segments and a remainder
    path = tmp_path / "zeros.png"
    path.write_bytes(data)
    out = load_gray(path)
    assert out.shape == (700, 301) and not out.any()
    with Image.open(path) as im:
        im.load()  # Pillow checks the stream and its CRCs too
        assert im.size == (301, 700)


def test_30000_square_png_refused_from_header(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_zero_png(30000, 30000, rows_per_segment=512))
    assert os.path.getsize(path) < 20_000_000
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ImageTooLarge) as info:
            load_gray(path)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(info.value) == f"{path} is 30000×30000 = 900 Mpx, over the 50 Mpx limit"
    assert elapsed < 2.0
    assert peak < 64_000_000  # far below the 900 MB a decode would need
    assert read_image_header(path) == ImageHeader(width=30000, height=30000, format="PNG")
    with pytest.raises(ImageTooLarge):
        read_image_header(path, max_pixels=MAX_PIXELS)
    with pytest.raises(ImageTooLarge, match="900 Mpx"):
        decode_gray(path.read_bytes())


def test_max_pixels_is_a_parameter(tmp_path: Path) -> None:
    path = tmp_path / "g.png"
    assert cv2.imwrite(str(path), np.zeros((100, 200), dtype=np.uint8))
    with pytest.raises(ImageTooLarge, match=r"200×100 = 0\.02 Mpx, over the 0\.02 Mpx limit"):
        load_gray(path, max_pixels=19_999)
    assert load_gray(path, max_pixels=20_000).shape == (100, 200)


def test_pillow_warning_zone_is_not_noisy(tmp_path: Path) -> None:
    """Between Pillow's warning and error limits (~89-179 Mpx) the header is read quietly."""
    path = tmp_path / "big.png"
    path.write_bytes(_zero_png(12000, 10000, rows_per_segment=1000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        header = read_image_header(path)
    assert header.pixels == 120_000_000
