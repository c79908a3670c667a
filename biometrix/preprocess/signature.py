"""Signature image preprocessing: grey, denoise, binarize (Otsu), crop to ink, pad to aspect, resize.

One function per step, composed by ``preprocess_signature``. The output is float32 (H, W) with ink
as 1.0 and paper as 0.0, so scan background and paper tone never reach the encoder.
"""

from __future__ import annotations

import cv2
import numpy as np

from biometrix.core.errors import EmptySignature, InvalidInput

#: Fewer ink pixels than this after binarization means there is no signature.
MIN_INK_PIXELS = 30
#: A grey range below this (max - min) means a blank page.
MIN_CONTRAST = 40


def to_gray(img: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3|4) uint8 -> (H, W) uint8. Colour input is taken as RGB."""
    img = np.asarray(img)
    if img.ndim == 2:
        gray = img
    elif img.ndim == 3 and img.shape[2] in (3, 4):
        gray = cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]), cv2.COLOR_RGB2GRAY)
    else:
        raise InvalidInput(f"a signature image must be (H, W) or (H, W, 3), got shape {img.shape}")
    if gray.dtype != np.uint8:
        if gray.dtype == np.uint16:
            gray = (gray / 257).astype(np.uint8)
        elif np.issubdtype(gray.dtype, np.floating) and np.isfinite(gray).all() and gray.max() <= 1.0:
            gray = np.clip(gray * 255 + 0.5, 0, 255).astype(np.uint8)
        else:
            raise InvalidInput(f"unsupported signature image dtype {gray.dtype}")
    if gray.shape[0] < 8 or gray.shape[1] < 8:
        raise InvalidInput(f"signature image is too small ({gray.shape[1]}x{gray.shape[0]} px)")
    return gray


def denoise(gray: np.ndarray) -> np.ndarray:
    """3x3 median filter: removes salt-and-pepper scan noise, keeps stroke edges."""
    return cv2.medianBlur(gray, 3)


def binarize(gray: np.ndarray) -> np.ndarray:
    """Otsu threshold -> bool ink mask (True = ink, dark on light). Blank pages raise EmptySignature."""
    lo, hi = int(gray.min()), int(gray.max())
    if hi - lo < MIN_CONTRAST:
        raise EmptySignature("the signature image is blank (no ink contrast)")
    _, mask = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    ink = mask > 0
    n = int(ink.sum())
    if n < MIN_INK_PIXELS:
        raise EmptySignature(f"the signature image has almost no ink ({n} px)")
    if n > 0.5 * ink.size:
        raise InvalidInput("the image is mostly dark: expected dark ink on light paper")
    return ink


def remove_specks(ink: np.ndarray, *, min_area: int = 4) -> np.ndarray:
    """Drop connected ink components smaller than min_area px (dust)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    out = keep[labels]
    if int(out.sum()) < MIN_INK_PIXELS:
        raise EmptySignature("the signature image has almost no ink once specks are removed")
    return out


def crop_to_ink(ink: np.ndarray, *, margin: int = 2) -> np.ndarray:
    """The bounding box of the ink plus ``margin`` px on each side (bool mask in, bool mask out)."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise EmptySignature("the signature image has no ink")
    r0, r1 = max(rows[0] - margin, 0), min(rows[-1] + margin + 1, ink.shape[0])
    c0, c1 = max(cols[0] - margin, 0), min(cols[-1] + margin + 1, ink.shape[1])
    return ink[r0:r1, c0:c1]


def pad_to_aspect(ink: np.ndarray, *, height: int, width: int) -> np.ndarray:
    """Centre the mask on an empty canvas with the aspect ratio height:width (nothing is stretched)."""
    h, w = ink.shape
    target = width / height
    if w / h >= target:
        new_h, new_w = int(round(w / target)), w
    else:
        new_h, new_w = h, int(round(h * target))
    canvas = np.zeros((max(new_h, h), max(new_w, w)), dtype=np.float32)
    top, left = (canvas.shape[0] - h) // 2, (canvas.shape[1] - w) // 2
    canvas[top : top + h, left : left + w] = ink
    return canvas


def resize(canvas: np.ndarray, *, height: int, width: int) -> np.ndarray:
    """Area-average resize of a float mask to (height, width); values stay in [0, 1]."""
    return cv2.resize(canvas.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)


def kept_ink(img: np.ndarray, *, margin: int = 16, max_height: int = 600, max_width: int = 1200
             ) -> tuple[np.ndarray, bool]:
    """What is worth keeping of a scan for retemplating: (uint8 grey image, exact).

    The scan cropped to its ink (as ``ink_mask`` finds it) plus ``margin`` px, the ink pixels with their grey
    levels (at most 254), everything else (paper, specks) 255. Paper texture is noise to every model and most of
    a scan's bytes. ``exact``: the crop is at the scan's resolution, so its pixels below 255 are the ink mask
    bit for bit (``preprocess_signature`` of that mask is the scan's encoder input). A crop larger than
    ``max_height`` x ``max_width`` (over 6x the 96 x 192 input of the shipped model each way) is area-downscaled
    to fit, and is then an ordinary grey image (dark ink on white) to preprocess again: not exact."""
    gray = to_gray(img)
    ink = remove_specks(binarize(denoise(gray)))
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    r0, r1 = max(rows[0] - margin, 0), min(rows[-1] + margin + 1, gray.shape[0])
    c0, c1 = max(cols[0] - margin, 0), min(cols[-1] + margin + 1, gray.shape[1])
    crop = np.where(ink[r0:r1, c0:c1], np.minimum(gray[r0:r1, c0:c1], 254), 255).astype(np.uint8)
    h, w = crop.shape
    scale = min(max_height / h, max_width / w)
    if scale >= 1.0:
        return crop, True
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA), False


def ink_mask(img: np.ndarray) -> np.ndarray:
    """grey/RGB image -> the cropped bool ink mask (grey, denoise, binarize, de-speck, crop)."""
    return crop_to_ink(remove_specks(binarize(denoise(to_gray(img)))))


def normalize(ink: np.ndarray, *, height: int, width: int) -> np.ndarray:
    """cropped ink mask -> float32 (height, width), ink 1.0, paper 0.0."""
    return resize(pad_to_aspect(ink, height=height, width=width), height=height, width=width)


def preprocess_signature(img: np.ndarray, *, height: int, width: int) -> np.ndarray:
    """grey or RGB uint8 image -> float32 (height, width) encoder input, ink 1.0 on 0.0. A bool (H, W) image is an
    ink mask made already (what ``kept_ink`` keeps of a scan): only cropped and normalised, so that it gives the
    encoder exactly the input its scan gave (never median-filtered again, which would thin its strokes)."""
    if isinstance(img, np.ndarray) and img.dtype == np.bool_:
        if img.ndim != 2 or int(img.sum()) < MIN_INK_PIXELS:
            raise EmptySignature(f"an ink mask must be (H, W) with at least {MIN_INK_PIXELS} ink pixels")
        return normalize(crop_to_ink(img), height=height, width=width)
    return normalize(ink_mask(img), height=height, width=width)
