"""Tests for biometrix.preprocess.signature, checked against a numpy Otsu and hand-computed geometry."""

from __future__ import annotations

import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix.core.errors import EmptySignature, InvalidInput
from biometrix.preprocess.signature import (
    MIN_INK_PIXELS,
    binarize,
    crop_to_ink,
    ink_mask,
    kept_ink,
    pad_to_aspect,
    preprocess_signature,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CEDAR_ZIP = DATA / "cedar" / "cedar_signatures_half.zip"
needs_cedar = pytest.mark.skipif(not CEDAR_ZIP.is_file(), reason=f"CEDAR data not found at {CEDAR_ZIP}")

H, W = 48, 96


def otsu_threshold(gray: np.ndarray) -> int:
    """Independent Otsu: the t maximising the between-class variance of {<= t} and {> t} (first maximum)."""
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    p = hist / hist.sum()
    levels = np.arange(256, dtype=np.float64)
    best_t, best_var = 0, -1.0
    for t in range(256):
        w0, w1 = p[: t + 1].sum(), p[t + 1 :].sum()
        if w0 == 0 or w1 == 0:
            continue
        mu0 = (p[: t + 1] * levels[: t + 1]).sum() / w0
        mu1 = (p[t + 1 :] * levels[t + 1 :]).sum() / w1
        var = w0 * w1 * (mu0 - mu1) ** 2
        if var > best_var * (1 + 1e-12):
            best_t, best_var = t, var
    return best_t


def cedar_images(names: list[str]) -> list[np.ndarray]:
    with zipfile.ZipFile(CEDAR_ZIP) as zf:
        return [cv2.imdecode(np.frombuffer(zf.read(n), np.uint8), cv2.IMREAD_GRAYSCALE) for n in names]


CEDAR_SAMPLE = [
    "CEDAR_half/full_org/original_1_1.png",
    "CEDAR_half/full_org/original_17_9.png",
    "CEDAR_half/full_org/original_46_24.png",
    "CEDAR_half/full_forg/forgeries_5_3.png",
    "CEDAR_half/full_forg/forgeries_55_12.png",
]


def synthetic_signature(seed: int = 0, *, shape: tuple[int, int] = (120, 260)) -> np.ndarray:
    """Dark random strokes on light noisy paper, uint8."""
    rng = np.random.default_rng(seed)
    img = np.clip(rng.normal(235, 6, shape), 0, 255).astype(np.uint8)
    pts = np.stack([np.linspace(30, shape[1] - 30, 12), rng.uniform(30, shape[0] - 30, 12)], 1).astype(np.int32)
    cv2.polylines(img, [pts], False, int(rng.integers(10, 60)), 3)
    cv2.circle(img, (shape[1] // 3, shape[0] // 2), 12, 30, 2)
    return img


# --- binarize ---------------------------------------------------------------------------------------


@needs_cedar
@pytest.mark.parametrize("name", CEDAR_SAMPLE)
def test_binarize_matches_numpy_otsu_on_real_scans(name: str) -> None:
    (img,) = cedar_images([name])
    t = otsu_threshold(img)
    expected = img <= t
    got = binarize(img)
    assert got.dtype == bool and got.shape == img.shape
    np.testing.assert_array_equal(got, expected)
    assert 0 < expected.mean() < 0.5


@pytest.mark.parametrize("seed", range(4))
def test_binarize_matches_numpy_otsu_on_synthetic_images(seed: int) -> None:
    img = synthetic_signature(seed)
    np.testing.assert_array_equal(binarize(img), img <= otsu_threshold(img))


def test_binarize_two_level_image_separates_exactly() -> None:
    img = np.full((40, 60), 200, np.uint8)
    img[10:20, 5:50] = 90
    ink = binarize(img)
    expected = np.zeros_like(ink)
    expected[10:20, 5:50] = True
    np.testing.assert_array_equal(ink, expected)


# --- crop_to_ink --------------------------------------------------------------------------------------


@pytest.mark.parametrize("margin", [0, 2, 5])
def test_crop_to_ink_is_bounding_box_plus_margin(margin: int) -> None:
    ink = np.zeros((100, 150), bool)
    ink[20:30, 40:45] = True
    ink[50:61, 90:120] = True
    ink[35, 70] = True
    got = crop_to_ink(ink, margin=margin)
    # bounding box: rows 20..60, cols 40..119
    assert got.shape == (60 - 20 + 1 + 2 * margin, 119 - 40 + 1 + 2 * margin)
    np.testing.assert_array_equal(got, ink[20 - margin : 61 + margin, 40 - margin : 120 + margin])
    assert got.sum() == ink.sum()


def test_crop_to_ink_margin_is_clipped_at_the_image_border() -> None:
    ink = np.zeros((50, 60), bool)
    ink[0:5, 55:60] = True
    got = crop_to_ink(ink, margin=3)
    np.testing.assert_array_equal(got, ink[0:8, 52:60])


def test_crop_to_ink_without_ink_is_empty_signature() -> None:
    with pytest.raises(EmptySignature):
        crop_to_ink(np.zeros((20, 20), bool))


# --- pad_to_aspect ------------------------------------------------------------------------------------


def _framed(h: int, w: int) -> np.ndarray:
    """A mask whose bounding box is the whole array, with asymmetric content (a stretch would show)."""
    ink = np.zeros((h, w), bool)
    ink[0, :] = ink[-1, :] = ink[:, 0] = ink[:, -1] = True
    ink[: h // 2, : w // 3] = True
    return ink


@pytest.mark.parametrize(("h", "w"), [(10, 100), (40, 30), (25, 50), (7, 13), (60, 61)])
@pytest.mark.parametrize(("height", "width"), [(48, 96), (100, 100), (60, 40)])
def test_pad_to_aspect_centres_without_stretching(h: int, w: int, height: int, width: int) -> None:
    ink = _framed(h, w)
    out = pad_to_aspect(ink, height=height, width=width)
    oh, ow = out.shape
    # one side is kept, the other grows to reach the aspect ratio (to the nearest pixel)
    assert oh >= h and ow >= w and (oh == h or ow == w)
    assert abs(ow / oh - width / height) <= 1.0 / min(oh, ow) + 1e-9
    rows, cols = np.flatnonzero(out.any(1)), np.flatnonzero(out.any(0))
    top, left = rows[0], cols[0]
    assert rows[-1] - top + 1 == h and cols[-1] - left + 1 == w  # not stretched
    np.testing.assert_array_equal(out[top : top + h, left : left + w], ink.astype(np.float32))
    assert out.sum() == ink.sum()  # nothing else is drawn
    bottom, right = oh - (top + h), ow - (left + w)
    assert abs(top - bottom) <= 1 and abs(left - right) <= 1  # centred


# --- preprocess_signature -----------------------------------------------------------------------------


def test_preprocess_output_is_float_ink_one_on_zero_background() -> None:
    img = np.full((100, 300), 250, np.uint8)
    img[45:55, 50:250] = 20  # a 10 x 200 bar
    out = preprocess_signature(img, height=H, width=W)
    assert out.shape == (H, W) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    # hand-computed geometry: crop 14 x 204 (margin 2), pad to 102 x 204, resize by 48/102;
    # the bar occupies padded rows 46..55 -> output rows 21.6..26.4
    assert out[:21].max() == 0.0 and out[27:].max() == 0.0
    np.testing.assert_allclose(out[23:26, 3:-3], 1.0, atol=1e-6)
    assert out[:, 0].max() < 0.5 and out[:, -1].max() < 0.5  # the 2-px margin, scaled


@needs_cedar
def test_preprocess_real_scan_range_and_background() -> None:
    (img,) = cedar_images(CEDAR_SAMPLE[:1])
    out = preprocess_signature(img, height=H, width=W)
    assert out.shape == (H, W) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert out.max() > 0.9  # ink reaches ~1
    assert (out == 0.0).mean() > 0.5  # mostly paper, exactly 0
    assert out.mean() < 0.3


def _background_variants(img: np.ndarray, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    f = img.astype(np.float64)
    darker = f - 45  # the whole page darker by a constant grey
    greyer = 30 + f * 0.7  # greyer paper, lower contrast
    noisy = f * 0.85 + rng.normal(0, 4, f.shape)  # grey paper plus scan noise
    return [np.clip(np.rint(v), 0, 255).astype(np.uint8) for v in (darker, greyer, noisy)]


def _assert_nearly_same(a: np.ndarray, b: np.ndarray) -> None:
    """Same picture up to a sub-pixel shift (a 1-px change of the ink box moves thin strokes a little)."""
    assert np.abs(a - b).mean() < 0.02
    ba, bb = (cv2.GaussianBlur(x, (0, 0), 1.0).ravel() for x in (a, b))
    assert np.corrcoef(ba, bb)[0, 1] > 0.97


@needs_cedar
@pytest.mark.parametrize("name", CEDAR_SAMPLE[:3])
def test_background_tone_does_not_reach_the_output_real(name: str) -> None:
    (img,) = cedar_images([name])
    ref = preprocess_signature(img, height=H, width=W)
    for variant in _background_variants(img, 1):
        _assert_nearly_same(ref, preprocess_signature(variant, height=H, width=W))


def test_background_tone_does_not_reach_the_output_synthetic() -> None:
    img = synthetic_signature(3)
    ref = preprocess_signature(img, height=H, width=W)
    for variant in _background_variants(img, 2):
        _assert_nearly_same(ref, preprocess_signature(variant, height=H, width=W))


def test_background_tone_changes_would_be_detected() -> None:
    """The invariance check above can fail: a different signature is far from the reference."""
    a = preprocess_signature(synthetic_signature(3), height=H, width=W)
    b = preprocess_signature(synthetic_signature(4), height=H, width=W)
    with pytest.raises(AssertionError):
        _assert_nearly_same(a, b)


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [255, 128, 0, 30])
def test_uniform_image_is_empty_signature(value: int) -> None:
    with pytest.raises(EmptySignature):
        preprocess_signature(np.full((60, 120), value, np.uint8), height=H, width=W)


def test_faint_marks_below_contrast_are_empty_signature() -> None:
    img = np.full((60, 120), 240, np.uint8)
    img[20:40, 20:100] = 215  # contrast 25 < MIN_CONTRAST
    with pytest.raises(EmptySignature):
        binarize(img)


def test_too_few_ink_pixels_is_empty_signature() -> None:
    img = np.full((60, 120), 255, np.uint8)
    img[10:14, 10:15] = 0  # 20 px
    assert 20 < MIN_INK_PIXELS
    with pytest.raises(EmptySignature):
        binarize(img)
    with pytest.raises(EmptySignature):
        preprocess_signature(img, height=H, width=W)


def test_enough_ink_pixels_is_accepted() -> None:
    img = np.full((60, 120), 255, np.uint8)
    img[10:16, 10:20] = 0  # 60 px, a solid block that survives the median filter
    assert binarize(img).sum() == 60
    assert preprocess_signature(img, height=H, width=W).max() > 0.9


def test_mostly_black_image_is_invalid_not_empty() -> None:
    img = np.zeros((60, 120), np.uint8)
    img[10:30, 10:60] = 255  # 1000 of 7200 px light
    with pytest.raises(InvalidInput) as err:
        preprocess_signature(img, height=H, width=W)
    assert not isinstance(err.value, EmptySignature)
    assert "dark" in str(err.value)


@pytest.mark.parametrize(
    "img",
    [
        np.full((60,), 255, np.uint8),
        np.full((60, 120, 2), 255, np.uint8),
        np.full((60, 120, 3, 1), 255, np.uint8),
        np.full((5, 120), 255, np.uint8),
        np.full((60, 7), 255, np.uint8),
        np.full((60, 120), 255, np.int32),
        np.full((60, 120), 255.0, np.float32),  # float must be in [0, 1]
        np.full((60, 120), np.nan, np.float64),
    ],
    ids=["1d", "2ch", "4d", "short", "narrow", "int32", "float255", "nan"],
)
def test_bad_input_is_invalid(img: np.ndarray) -> None:
    with pytest.raises(InvalidInput):
        preprocess_signature(img, height=H, width=W)


def test_rgb_rgba_16bit_and_float_inputs_give_the_grey_result() -> None:
    gray = synthetic_signature(5)
    ref = preprocess_signature(gray, height=H, width=W)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    rgba = np.concatenate([rgb, np.full_like(gray, 255)[:, :, None]], axis=2)
    g16 = gray.astype(np.uint16) * 257
    gf = gray.astype(np.float32) / 255
    for img in (rgb, rgba, g16, gf):
        np.testing.assert_array_equal(preprocess_signature(img, height=H, width=W), ref)


def test_coloured_ink_on_rgb_is_found() -> None:
    img = np.full((80, 200, 3), 250, np.uint8)
    img[30:40, 20:180] = (20, 40, 160)  # blue ink (RGB)
    out = preprocess_signature(img, height=H, width=W)
    np.testing.assert_allclose(out[22:26, 5:-5], 1.0, atol=1e-6)


def test_an_ink_mask_is_taken_as_made() -> None:
    """A bool image is an ink mask (what the store keeps of a scan): cropped and normalised, never re-binarized or
    median-filtered, which would erase a one-pixel stroke."""
    rng = np.random.default_rng(4)
    gray = np.full((60, 120), 230, np.uint8)
    gray[20:40, 10:110] = rng.integers(0, 60, size=(20, 100))
    mask = ink_mask(gray)
    assert np.array_equal(preprocess_signature(mask, height=H, width=W), preprocess_signature(gray, height=H, width=W))
    thin = np.zeros((30, 60), bool)
    thin[15, 5:55] = True  # a one-pixel line: 50 ink pixels
    assert preprocess_signature(thin, height=H, width=W).sum() > 0
    with pytest.raises(EmptySignature, match="ink mask"):
        preprocess_signature(np.zeros((30, 60), bool), height=H, width=W)


def test_the_kept_ink_is_the_ink_mask_with_its_grey_levels() -> None:
    """kept_ink of a noisy scan: paper (and a speck) white, the ink's own grey levels, and its pixels below 255
    the very mask preprocessing finds; near the scan's edge the crop stops at the edge, as crop_to_ink does."""
    rng = np.random.default_rng(5)
    gray = rng.integers(200, 256, size=(80, 200)).astype(np.uint8)  # textured paper
    gray[3:30, 4:150] = rng.integers(0, 80, size=(27, 146))
    gray[70, 190] = 0  # a speck
    crop, exact = kept_ink(gray, margin=16)
    assert exact and crop.shape == (30 + 16, 150 + 16)  # cut at the top and left edges, 16 px right and below
    ink = gray[:46, :166] < 100
    ink[[3, 3, 29, 29], [4, 149, 4, 149]] = False  # the rectangle's corners: the 3x3 median takes them
    np.testing.assert_array_equal(crop < 255, ink)
    np.testing.assert_array_equal(crop[ink], gray[:46, :166][ink])
    np.testing.assert_array_equal(preprocess_signature(crop < 255, height=H, width=W),
                                  preprocess_signature(gray, height=H, width=W))
    small, exact = kept_ink(gray, margin=16, max_height=23, max_width=400)
    assert not exact and small.shape == (23, 83)
