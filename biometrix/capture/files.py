"""Image files and bytes to uint8 arrays: header check against a pixel limit, decode, PNG encode."""

from __future__ import annotations

import io
import logging
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from biometrix.core.errors import ImageTooLarge, InvalidInput, UnreadableImage

log = logging.getLogger(__name__)

MAX_PIXELS = 50_000_000
"""Default limit on width × height, checked on the header before any pixel is decoded."""

_BYTES_NAME = "<bytes>"
_EXIF_ORIENTATION = 0x0112
# EXIF orientation is only read where Pillow has it from the header alone (a PNG eXIf chunk may
# follow the pixel data, and reading it would decode the image).
_EXIF_HEADER_FORMATS = frozenset({"JPEG", "MPO"})

StrPath = str | os.PathLike[str]


@dataclass(frozen=True)
class ImageHeader:
    """What an image file declares about itself, read without decoding pixels.

    ``format`` is Pillow's name (``"PNG"``, ``"JPEG"``...); ``orientation`` is the EXIF
    orientation tag (1 = upright), applied by the loaders.
    """

    width: int
    height: int
    format: str
    orientation: int = 1

    @property
    def pixels(self) -> int:
        return self.width * self.height


def read_image_header(path: StrPath, *, max_pixels: int | None = None) -> ImageHeader:
    """The header of the image at ``path``; refuses a size over ``max_pixels`` when one is given."""
    p = Path(path)
    data_name = str(p)
    _check_file(p)
    with open(p, "rb") as fp:
        header = _header_from_stream(fp, data_name)
    if max_pixels is not None:
        _check_pixels(header, data_name, max_pixels)
    return header


def load_gray(path: StrPath, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The image at ``path`` as uint8 (H, W) grey; transparency is composited over white."""
    return _to_gray(_decode_file(path, max_pixels))


def load_rgb(path: StrPath, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The image at ``path`` as uint8 (H, W, 3) RGB; transparency is composited over white."""
    return _to_rgb(_decode_file(path, max_pixels))


def decode_gray(data: bytes, *, max_pixels: int = MAX_PIXELS, name: str = _BYTES_NAME) -> np.ndarray:
    """Encoded image bytes as uint8 (H, W) grey; ``name`` is used in error messages."""
    return _to_gray(_decode_bytes(data, name, max_pixels))


def decode_rgb(data: bytes, *, max_pixels: int = MAX_PIXELS, name: str = _BYTES_NAME) -> np.ndarray:
    """Encoded image bytes as uint8 (H, W, 3) RGB; ``name`` is used in error messages."""
    return _to_rgb(_decode_bytes(data, name, max_pixels))


def encode_png(img: np.ndarray) -> bytes:
    """Lossless PNG bytes of a uint8 (H, W) grey or (H, W, 3) RGB image (the loaders' layouts)."""
    return _encode(img, ".png", [], "encode_png")


def encode_webp_lossless(img: np.ndarray) -> bytes:
    """Lossless WebP bytes of a uint8 (H, W) grey or (H, W, 3) RGB image: smaller than PNG for scanned ink
    (a grey image is stored as equal R, G and B, which decode back to the same grey exactly)."""
    return _encode(img, ".webp", [cv2.IMWRITE_WEBP_QUALITY, 101], "encode_webp_lossless")


def _encode(img: np.ndarray, ext: str, params: list[int], what: str) -> bytes:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
        raise InvalidInput(f"{what} needs a uint8 array, got {_describe(img)}")
    if img.ndim == 2:
        bgr = img
    elif img.ndim == 3 and img.shape[2] == 3:
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    else:
        raise InvalidInput(f"{what} needs (H, W) or (H, W, 3), got shape {img.shape}")
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise InvalidInput(f"{what} needs a non-empty image, got shape {img.shape}")
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(bgr), params)
    if not ok:
        raise InvalidInput(f"OpenCV could not encode a {img.shape} image as {ext[1:].upper()}")
    return buf.tobytes()


# --- reading -------------------------------------------------------------------------------------


def _check_file(p: Path) -> None:
    if not p.exists():
        raise UnreadableImage(f"no such file: {p}")
    if p.is_dir():
        raise UnreadableImage(f"{p} is a directory, not an image file")
    if not p.is_file():
        raise UnreadableImage(f"{p} is not a regular file")
    if p.stat().st_size == 0:
        raise UnreadableImage(f"{p} is empty (0 bytes)")


def _decode_file(path: StrPath, max_pixels: int) -> np.ndarray:
    p = Path(path)
    _check_file(p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise UnreadableImage(f"{p} cannot be read ({exc.strerror or exc})") from exc
    return _decode_bytes(data, str(p), max_pixels)


def _decode_bytes(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    """Header check, then decode: uint8 (H, W) grey or (H, W, 3) BGR, alpha composited over white."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidInput(f"image data must be bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise UnreadableImage(f"{name} is empty (0 bytes)")
    header = _header_from_stream(io.BytesIO(data), name)
    _check_pixels(header, name, max_pixels)
    try:
        raw = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        # OpenCV reads the header again itself and may disagree with Pillow (a garbled BMP it sizes over its
        # own width limit): its refusal is an unreadable image, not an error of ours.
        raise UnreadableImage(f"{name} is not a readable image (OpenCV refused this {header.format}: "
                              f"{_cv2_reason(exc)})") from exc
    if raw is None or raw.size == 0:
        raise UnreadableImage(f"{name} is not a readable image (OpenCV cannot decode this {header.format})")
    if raw.shape[0] * raw.shape[1] > max_pixels:  # the decoder disagreed with the header
        raise ImageTooLarge(
            f"{name} is {raw.shape[1]}×{raw.shape[0]} = {_mpx(raw.shape[0] * raw.shape[1])} Mpx, "
            f"over the {_mpx(max_pixels)} Mpx limit"
        )
    img = _composite_to_uint8(raw, name)
    return _apply_orientation(img, header.orientation)


def _cv2_reason(exc: Exception) -> str:
    """The one-line reason in an OpenCV error ("... error: (-215:Assertion failed) size.width <= ... in ...")."""
    text = " ".join(str(exc).split())
    return text.split(" error: ", 1)[-1][:160]


def _header_from_stream(fp: IO[bytes], name: str) -> ImageHeader:
    with warnings.catch_warnings():
        # Our own limit is checked by the caller; Pillow's warning is noise here.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(fp) as im:
                width, height = im.size
                fmt = im.format or "unknown"
                orientation = _orientation(im, fmt)
        except Image.DecompressionBombError:
            # Pillow refuses before telling the size; read the declared size from its plugin.
            width, height, fmt = _declared_size(fp, name)
            orientation = 1
        except (UnidentifiedImageError, SyntaxError, ValueError, struct.error, EOFError, OSError) as exc:
            raise UnreadableImage(f"{name} is not a readable image ({_reason(exc)})") from exc
    if width <= 0 or height <= 0:
        raise UnreadableImage(f"{name} is not a readable image (it declares a {width}×{height} size)")
    return ImageHeader(width=width, height=height, format=fmt, orientation=orientation)


def _declared_size(fp: IO[bytes], name: str) -> tuple[int, int, str]:
    """The size an image declares, from the Pillow plugin that accepts it, without Pillow's bomb check.

    Only reached for images Pillow itself calls a decompression bomb; no pixel is read.
    """
    Image.init()
    fp.seek(0)
    prefix = fp.read(16)
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        accepted = True if accept is None else accept(prefix)
        if isinstance(accepted, str) or not accepted:
            continue
        fp.seek(0)
        try:
            im = factory(fp, name)
        except (SyntaxError, IndexError, TypeError, ValueError, struct.error, EOFError, OSError):
            continue
        return int(im.size[0]), int(im.size[1]), im.format or fmt
    raise UnreadableImage(f"{name} is not a readable image (its declared size is too large to open)")


def _orientation(im: Image.Image, fmt: str) -> int:
    if fmt not in _EXIF_HEADER_FORMATS:
        return 1
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except (SyntaxError, ValueError, struct.error, OSError):  # corrupt EXIF: keep the pixels as stored
        log.warning("ignoring an unreadable EXIF block")
        return 1
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else 1


def _check_pixels(header: ImageHeader, name: str, max_pixels: int) -> None:
    if header.pixels > max_pixels:
        raise ImageTooLarge(
            f"{name} is {header.width}×{header.height} = {_mpx(header.pixels)} Mpx, "
            f"over the {_mpx(max_pixels)} Mpx limit"
        )


# --- pixel conversions ---------------------------------------------------------------------------


def _composite_to_uint8(raw: np.ndarray, name: str) -> np.ndarray:
    """OpenCV's IMREAD_UNCHANGED output -> uint8 (H, W) grey or (H, W, 3) BGR, alpha over white."""
    if raw.dtype == np.uint8:
        full = 255.0
    elif raw.dtype == np.uint16:
        full = 65535.0
    else:
        raise UnreadableImage(f"{name} has an unsupported pixel type ({raw.dtype}); use 8- or 16-bit images")
    channels = 1 if raw.ndim == 2 else raw.shape[2]
    if channels == 1:
        return _scale_to_uint8(raw.reshape(raw.shape[0], raw.shape[1]), full)
    if channels == 3:
        return _scale_to_uint8(raw, full)
    if channels in (2, 4):  # grey + alpha, BGR + alpha
        colour = raw[..., :-1].astype(np.float32) / full
        alpha = raw[..., -1:].astype(np.float32) / full
        over_white = colour * alpha + (1.0 - alpha)
        out = np.clip(np.rint(over_white * 255.0), 0, 255).astype(np.uint8)
        return out[..., 0] if channels == 2 else out
    raise UnreadableImage(f"{name} has an unsupported number of channels ({channels})")


def _scale_to_uint8(img: np.ndarray, full: float) -> np.ndarray:
    if full == 255.0:
        return np.ascontiguousarray(img)
    return np.clip(np.rint(img.astype(np.float32) * (255.0 / full)), 0, 255).astype(np.uint8)


def _apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation tag (the transforms of PIL.ImageOps.exif_transpose)."""
    if orientation == 2:
        out = img[:, ::-1]
    elif orientation == 3:
        out = img[::-1, ::-1]
    elif orientation == 4:
        out = img[::-1, :]
    elif orientation == 5:
        out = np.swapaxes(img, 0, 1)
    elif orientation == 6:
        out = np.rot90(img, k=-1)
    elif orientation == 7:
        out = np.swapaxes(img, 0, 1)[::-1, ::-1]
    elif orientation == 8:
        out = np.rot90(img, k=1)
    else:
        return img
    return np.ascontiguousarray(out)


def _to_gray(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def _to_rgb(img: np.ndarray) -> np.ndarray:
    code = cv2.COLOR_GRAY2RGB if img.ndim == 2 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(img, code)


def _mpx(pixels: int) -> str:
    return f"{pixels / 1e6:.3g}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnidentifiedImageError):
        return "unknown format"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def _describe(obj: object) -> str:
    if isinstance(obj, np.ndarray):
        return f"{obj.dtype} array of shape {obj.shape}"
    return type(obj).__name__
