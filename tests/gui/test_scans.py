"""Scanned signatures in the teller app (issue 28, defect 8): import and drop real CEDAR scans, turn and crop them,
enroll and verify; the decisions are the CLI's on the same cropped image; bad files change nothing."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from biometrix.core.types import Modality
from biometrix.gui.qt import QDialog, QMimeData, QPointF, Qt, QUrl
from tests.gui.conftest import SHARED_DATA, WAIT_MS, call_service

CEDAR_ZIP = SHARED_DATA / "cedar" / "cedar_signatures_half.zip"
MARGIN = 40
SUBJECT = "s47"
ACCEPTED = QDialog.DialogCode.Accepted


@pytest.fixture(scope="module")
def cedar_scan():
    """cedar_scan(kind, signer, n) -> the CEDAR scan as uint8 grey (held-out signers; genuine or forgery)."""
    if not CEDAR_ZIP.is_file():
        pytest.skip(f"{CEDAR_ZIP} is absent (the shared data sets live in ../shared/data beside the repository)")
    from biometrix.capture.files import decode_gray

    zf = zipfile.ZipFile(CEDAR_ZIP)

    def read(kind: str, signer: int, n: int) -> np.ndarray:
        name = (f"CEDAR_half/full_org/original_{signer}_{n}.png" if kind == "genuine"
                else f"CEDAR_half/full_forg/forgeries_{signer}_{n}.png")
        return decode_gray(zf.read(name), name=name)

    yield read
    zf.close()


def sideways_file(tmp_path: Path, gray: np.ndarray, name: str) -> Path:
    """The scan put on the glass sideways: a white margin around it, turned 90° clockwise, saved as ``name``
    (TIFF or JPEG-free formats keep the pixels exact)."""
    from PIL import Image

    padded = np.pad(gray, MARGIN, constant_values=255)
    path = tmp_path / name
    Image.fromarray(np.ascontiguousarray(np.rot90(padded, -1))).save(path)
    return path


def upright_and_cropped(gray: np.ndarray):
    """The dialog steps a teller takes for a ``sideways_file``: rotate left once, drag the crop to the signature."""
    h, w = gray.shape

    def hook(dialog) -> int:
        dialog.left_button.click()
        dialog.set_crop((MARGIN, MARGIN, w, h))
        return ACCEPTED

    return hook


def drop_file(qtbot, widget, path: Path) -> bool:
    """A real drag and drop of ``path`` (a file URL) on ``widget``: enter, then drop. Returns whether the enter
    was accepted."""
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return enter.isAccepted()


def enroll_by_scan(qtbot, window, tmp_path: Path, cedar_scan) -> None:
    page = window.show_page("enroll")
    qtbot.keyClicks(page.subject_edit, SUBJECT)
    for n in range(1, 6):
        original = cedar_scan("genuine", 47, n)
        path = sideways_file(tmp_path, original, f"ref{n}.tif")
        page.scans.dialog_hook = upright_and_cropped(original)
        page.scans.file_hook = lambda p=path: str(p)
        page.scans.button.click()
        # the oracle: turning the sideways scan back and cropping the margin gives the scan's exact pixels
        assert page.pad.scan is not None and np.array_equal(page.pad.scan, original)
        page.add_button.click()
        assert page.strip.item(n - 1).text().startswith(f"#{n} scan")
    qtbot.waitUntil(lambda: page.checks is not None, timeout=WAIT_MS)
    page.save_anyway.setChecked(True)
    page.save_button.click()
    qtbot.waitUntil(lambda: "Enrolled s47" in page.messages.text(), timeout=WAIT_MS)


def cli_decision(db: str, image: np.ndarray, path: Path, capsys) -> dict:
    """``biometrix verify --json`` on the cropped image saved as a PNG: the CLI's decision of the same probe."""
    from biometrix.capture.files import encode_png
    from biometrix.cli import main

    path.write_bytes(encode_png(image))
    capsys.readouterr()
    rc = main(["verify", "--db", db, "--subject", SUBJECT, "--json", "--signature", str(path)])
    doc = json.loads(capsys.readouterr().out)
    assert rc in (0, 1)
    return doc


@pytest.mark.parametrize("kind", ["genuine", "forgery"])
def test_enroll_by_scan_and_verify_a_dropped_scan_as_the_cli_does(qtbot, window, tmp_path, cedar_scan, capsys,
                                                                   svc_strokes, stylus, kind):
    enroll_by_scan(qtbot, window, tmp_path, cedar_scan)
    templates = call_service(qtbot, window.ctx, lambda bx: bx.samples(SUBJECT, modality=Modality.SIGNATURE))
    assert len(templates) == 5 and all(s.meta.get("source") == "array" for s in templates)

    page = window.show_page("verify")
    qtbot.keyClicks(page.finder.query, SUBJECT)
    page.finder.find_button.click()
    qtbot.waitUntil(lambda: page.finder.selected_id == SUBJECT, timeout=WAIT_MS)
    probe = cedar_scan(kind, 47, 12 if kind == "genuine" else 1)
    path = sideways_file(tmp_path, probe, f"probe-{kind}.png")
    page.input.scans.dialog_hook = upright_and_cropped(probe)
    assert drop_file(qtbot, page.input.pad, path)
    assert np.array_equal(page.input.pad.scan, probe)
    page.verify_button.click()
    qtbot.waitUntil(lambda: page.last is not None, timeout=WAIT_MS)
    label = page.last.decision.label
    assert page.result.probe_caption.text() == "Probe: SCAN"

    cli = cli_decision(window.ctx.settings.db_path, probe, tmp_path / "cropped.png", capsys)
    assert cli["decision"] == label.lower()
    assert cli["distance"] == pytest.approx(page.last.decision.distance, rel=1e-6)
    if kind == "genuine":
        assert label == "Accept"
    else:
        assert label in ("Reject", "Refer")
    rows = call_service(qtbot, window.ctx, lambda bx: bx.audit(event="verify"))
    assert [r.details["capture"] for r in rows] == ["scan", "scan"]  # the GUI's row, then the CLI's

    if kind == "genuine":  # a probe drawn on the pad is labelled as drawn, beside the scanned references
        from tests.gui.conftest import draw_on_pad

        draw_on_pad(page.input.pad, svc_strokes(1, 1), stylus)
        assert page.result.probe_caption.text() == "Probe"  # the scan's verdict went with its probe
        page.verify_button.click()
        qtbot.waitUntil(lambda: page.last is not None, timeout=WAIT_MS)
        assert page.result.probe_caption.text() == "Probe: drawn on pad"


def test_drawing_replaces_a_scan_and_a_scan_replaces_a_drawing(qtbot, window, tmp_path, cedar_scan, svc_strokes,
                                                               stylus):
    from tests.gui.conftest import draw_on_pad

    page = window.show_page("verify")
    gray = cedar_scan("genuine", 47, 1)
    path = sideways_file(tmp_path, gray, "a.tif")
    page.input.scans.dialog_hook = upright_and_cropped(gray)
    draw_on_pad(page.input.pad, svc_strokes(1, 1), stylus)
    assert page.input.scans.take(str(path))
    assert page.input.pad.is_empty and isinstance(page.input.probe(), np.ndarray)
    draw_on_pad(page.input.pad, svc_strokes(1, 2), stylus)
    assert page.input.pad.scan is None and isinstance(page.input.probe(), list)


@pytest.mark.parametrize("content, name, says", [
    (b"not an image at all\n", "notes.txt", "is not a scan"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "broken.png", "cannot be read as an image"),
    (b"%PDF-1.4\n", "cheque.pdf", "export the page"),
])
def test_a_bad_file_is_one_clear_message_and_nothing_is_enrolled(qtbot, window, tmp_path, content, name, says):
    page = window.show_page("enroll")
    qtbot.keyClicks(page.subject_edit, "s1")
    path = tmp_path / name
    path.write_bytes(content)
    opened = []
    page.scans.dialog_hook = lambda d: opened.append(d) or ACCEPTED
    assert drop_file(qtbot, page.pad, path)
    text = page.messages.text()
    assert says in text and name in text and "\n" not in text
    assert not opened and page.pad.scan is None and page.references == []
    page.add_button.click()
    assert page.references == []
    assert call_service(qtbot, window.ctx, lambda bx: bx.subjects()) == []


def test_the_dialog_by_keyboard_fine_rotation_and_cancel(qtbot):
    """Arrow keys turn the fine slider 1° a step, Enter is OK; a -4° tilted bar comes back level with +4°."""
    import cv2

    from biometrix.gui.scan import ScanDialog

    img = np.full((200, 400), 255, np.uint8)
    img[95:105, 40:360] = 0
    m = cv2.getRotationMatrix2D((200, 100), -4.0, 1.0)
    tilted = cv2.warpAffine(img, m, (400, 200), borderValue=255)
    dialog = ScanDialog(tilted, name="tilted.png")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.width() <= 1024 and dialog.height() <= 600
    assert dialog.focusWidget() is dialog.fine
    for _ in range(4):
        qtbot.keyClick(dialog.fine, Qt.Key.Key_Right)
    assert dialog.fine.value() == 4 and dialog.fine_label.text() == "+4°"
    qtbot.keyClick(dialog.fine, Qt.Key.Key_Return)
    assert dialog.result() == ACCEPTED
    ys, xs = np.nonzero(dialog.result_image() < 128)
    slope = np.polyfit(xs, ys, 1)[0]
    assert abs(np.degrees(np.arctan(slope))) < 0.5

    again = ScanDialog(tilted)
    qtbot.addWidget(again)
    again.show()
    qtbot.keyClick(again, Qt.Key.Key_Escape)
    assert again.result() == QDialog.DialogCode.Rejected


def test_crop_by_keyboard_fits_the_ink_and_leaves_the_printed_line_out(qtbot, cedar_scan) -> None:
    """Ctrl+F crops to the writing: every ink pixel of a real CEDAR scan is kept, the form's printed line and most
    of the paper around are left out (a crop without the mouse)."""
    from biometrix.gui.scan import ScanDialog

    original = cedar_scan("genuine", 47, 3)
    form = np.pad(original, 60, constant_values=255)
    form[20:22, :] = 40  # a printed line across the form, above the signature
    dialog = ScanDialog(form, name="form.png")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClick(dialog.fine, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # turned left and back
    assert dialog.quarter == 1 and dialog.view.image.shape == form.shape[::-1]
    qtbot.keyClick(dialog.fine, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert dialog.quarter == 0
    qtbot.keyClick(dialog.fine, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert dialog.view.crop is not None
    qtbot.keyClick(dialog.fine, Qt.Key.Key_Return)
    cropped = dialog.result_image()
    ink = int((original < 128).sum())
    assert (cropped < 128).sum() >= 0.99 * ink  # the signature is in
    assert not (cropped[:, :] == 40).all(axis=1).any()  # the printed line is not
    assert cropped.size < 0.8 * form.size
