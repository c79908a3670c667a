"""Render a screenshot of every page (and the kiosk) into docs/screenshots/*.png, with real decisions on screen.

Run under a virtual X server so the real xcb platform (fonts, styles) draws the windows:

    apt-get install -y --no-install-recommends xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0
    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1366x768x24" python docs/screenshots/render.py

Nothing from ../shared/data is shown (the data sets may not be copied into the repository, nor shipped):
every signature is SYNTHETIC, drawn here from smooth parametric curves with pressure and time, replayed
on the pads as tablet events and enrolled / verified through the real app and service, so the decisions
on screen are the shipped model's. No face is shown: the camera is in its "no camera" state. A temporary
database and settings file are used; nothing outside this folder is written.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

OUT = Path(__file__).resolve().parent
REPO = OUT.parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")

import numpy as np  # noqa: E402

from biometrix.capture.pen import PenPoint, Stroke  # noqa: E402
from biometrix.core.distances import format_distance  # noqa: E402
from biometrix.core.types import Modality  # noqa: E402
from biometrix.gui.context import AppContext  # noqa: E402
from biometrix.gui.qt import (  # noqa: E402
    QApplication,
)
from biometrix.gui.replay import replay_strokes, synthetic_stylus  # noqa: E402
from biometrix.gui.settings import GuiSettings  # noqa: E402

# --- synthetic signatures -------------------------------------------------------------------------
#: Letter shapes of a made-up name, as (height, width, loop radius): tall loops are ascenders (l, h, k),
#: short humps are x-height letters (e, n, a). Units are arbitrary pen units, y grows downwards.
GENUINE_WORD = ((1.0, 0.55, 0.22), (0.45, 0.5, 0.12), (0.45, 0.45, 0.05), (1.1, 0.5, 0.24),
                (0.45, 0.5, 0.14), (0.45, 0.55, 0.05), (0.8, 0.45, 0.2))
FORGERY_WORD = ((0.5, 0.5, 0.15), (1.3, 0.4, 0.25), (0.5, 0.55, 0.15), (0.55, 0.6, 0.02), (1.0, 0.45, 0.2),
                (0.5, 0.5, 0.15), (0.5, 0.6, 0.02))


def _smooth_steps(values: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Piecewise-constant ``values`` (one per letter) blended with a cosine ramp across letter boundaries."""
    i = np.clip(np.floor(u).astype(int), 0, len(values) - 1)
    j = np.clip(i + 1, 0, len(values) - 1)
    f = u - np.floor(u)
    w = np.where(f > 0.8, (1 - np.cos(np.pi * (f - 0.8) / 0.2)) / 2, 0.0)
    return values[i] * (1 - w) + values[j] * w


def _word(letters: np.ndarray, n_per_letter: int, start: float, phase: float = 0.0) -> np.ndarray:
    """A prolate-cycloid cursive trace through ``letters`` (height, width, loop) -> (N, 2) points."""
    u = np.linspace(0.0, len(letters) - 1e-6, len(letters) * n_per_letter)
    h = _smooth_steps(letters[:, 0], u)
    w = _smooth_steps(letters[:, 1], u)
    r = _smooth_steps(letters[:, 2], u)
    x = start + np.concatenate([[0.0], np.cumsum(w[1:] * np.diff(u))]) - r * np.sin(2 * np.pi * u + phase)
    y = -h * (1 - np.cos(2 * np.pi * u)) / 2
    return np.stack([x, y], axis=1)


def _stroke(xy: np.ndarray, t0: float, rng: np.random.Generator, *, dt: float = 10.0,
            base_pressure: float = 0.6) -> tuple[Stroke, float]:
    """Points sampled every ``dt`` ms; pressure rises with slowness and tapers at pen-down and pen-up."""
    n = len(xy)
    speed = np.linalg.norm(np.gradient(xy, axis=0), axis=1)
    slow = 1.0 - speed / (speed.max() + 1e-9)
    ramp = np.minimum(1.0, np.minimum(np.arange(n) + 1, n - np.arange(n)) / 6.0)
    p = np.clip((base_pressure + 0.3 * slow + rng.normal(0, 0.02, n)) * (0.35 + 0.65 * ramp), 0.05, 1.0)
    t = t0 + dt * np.arange(n) * (1 + rng.normal(0, 0.02))
    points = tuple(PenPoint(float(a), float(b), float(c), float(d)) for (a, b), c, d in zip(xy, p, t, strict=True))
    return Stroke(points), float(t[-1])


def random_word(signer: int) -> tuple[tuple[float, float, float], ...]:
    """The letter shapes of another made-up signer's name (5 to 8 letters), fixed by ``signer``."""
    rng = np.random.default_rng(1000 + signer)
    n = int(rng.integers(5, 9))
    tall = rng.random(n) < 0.35
    return tuple((float(rng.uniform(0.9, 1.3) if t else rng.uniform(0.35, 0.55)), float(rng.uniform(0.4, 0.65)),
                  float(rng.uniform(0.12, 0.26) if t else rng.choice([0.02, 0.12, 0.16]))) for t in tall)


def synthetic_signature(seed: int, *, forgery: bool = False, jitter: float = 1.0,
                        word: tuple[tuple[float, float, float], ...] | None = None) -> list[Stroke]:
    """A made-up cursive signature: a looped capital, a word, an i-dot and an underline flourish.

    Every ``seed`` perturbs size, slant, letter shapes, speed and pressure a little (``jitter`` scales it),
    so several seeds look like several signatures of one person. ``forgery=True`` draws a different,
    upright and angular name instead.
    """
    rng = np.random.default_rng(seed)
    j = jitter
    letters = np.array(word or (FORGERY_WORD if forgery else GENUINE_WORD), dtype=np.float64)
    letters *= 1 + rng.normal(0, 0.04 * j, letters.shape)
    slant = (0.05 if forgery else 0.35) + rng.normal(0, 0.03 * j)
    scale = 100 * (1 + rng.normal(0, 0.03 * j))
    strokes: list[Stroke] = []
    t = 0.0
    if not forgery:  # a capital: one big loop-the-loop with a tail into the word
        s = np.linspace(0, 1, 70)
        cap = np.stack([0.55 * np.sin(2 * np.pi * s * 1.1) * (1 - 0.3 * s) + 0.6 * s,
                        -1.4 * (1 - np.cos(np.pi * s * 1.05)) / 2 + 0.25 * np.sin(4 * np.pi * s)], axis=1)
        cap += rng.normal(0, 0.01 * j, cap.shape).cumsum(axis=0) * 0.2
        word = _word(letters, 24, start=1.1, phase=rng.normal(0, 0.05 * j))
        parts = [cap, word]
    else:
        word = _word(letters, 24, start=0.0)
        cross = np.stack([np.linspace(1.3, 2.6, 20), np.full(20, -0.75)], axis=1)  # a crossed t
        parts = [word, cross]
    end_x = parts[-1][:, 0].max() if not forgery else word[:, 0].max()
    if not forgery:
        dot = np.array([[end_x - 1.2, -0.85], [end_x - 1.18, -0.86], [end_x - 1.16, -0.85]])
        s = np.linspace(0, 1, 50)
        flourish = np.stack([end_x + 0.2 - (end_x + 0.4) * s, 0.35 + 0.12 * np.sin(np.pi * s) - 0.1 * s], axis=1)
        parts += [dot, flourish]
    for k, xy in enumerate(parts):
        xy = xy.copy()
        xy[:, 0] -= slant * xy[:, 1]  # y is negative upwards: lean to the right
        stroke, t = _stroke(xy * scale, t, rng, base_pressure=0.55 + 0.1 * (k == 1))
        strokes.append(stroke)
        t += 120 + abs(rng.normal(0, 20))  # pen in the air
    return strokes


def synthetic_scan(strokes: list[Stroke], path: Path, seed: int) -> tuple[Path, tuple[int, int]]:
    """A made-up scanned form: the signature (drawn by ``capture.pen.rasterize``) in the signature box of a form
    with printed lines and a grey paper, put on the scanner sideways and 2 degrees crooked; saved as PNG. Returns
    the file and the size of the form, to crop the box in the dialog."""
    import cv2

    from biometrix.capture.pen import rasterize

    rng = np.random.default_rng(seed)
    ink = rasterize(strokes, long_side=420)
    fit = min(440 / ink.shape[1], 176 / ink.shape[0], 1.0)  # inside the signature box
    ink = cv2.resize(ink, (int(ink.shape[1] * fit), int(ink.shape[0] * fit)), interpolation=cv2.INTER_AREA)
    form = np.full((380, 760), 236, np.uint8)
    form += rng.integers(0, 12, form.shape, dtype=np.uint8)  # paper grain
    for y in (40, 80, 120):
        form[y, 30:730] = 150  # printed lines of the form
    form[170:360, 150:610] = np.minimum(form[170:360, 150:610], 250)
    cv2.rectangle(form, (150, 170), (610, 360), 120, 1)  # the signature box
    h, w = ink.shape
    y0, x0 = 170 + (190 - h) // 2, 150 + (460 - w) // 2
    form[y0:y0 + h, x0:x0 + w] = np.minimum(form[y0:y0 + h, x0:x0 + w], ink)
    form = cv2.GaussianBlur(form, (3, 3), 0)  # the scanner's optics
    sideways = np.ascontiguousarray(np.rot90(form, -1))
    m = cv2.getRotationMatrix2D((sideways.shape[1] / 2, sideways.shape[0] / 2), -2.0, 1.0)
    scanned = cv2.warpAffine(sideways, m, (sideways.shape[1], sideways.shape[0]), borderValue=245)
    cv2.imwrite(str(path), scanned)
    return path, form.shape


#: The subject the screenshots follow; other made-up signers fill the gallery for identification.
SUBJECT, NAME = "c-1042", "Sam Morrow"
OTHERS = ((1, "c-2001", "Lee Park"), (2, "c-2002", "Ana Ruiz"), (3, "c-2003", "Ola Berg"))
#: The subject enrolled from scanned forms (a made-up signer's name, scans made here).
SCANNED, SCANNED_NAME, SCANNED_WORD = "c-3007", "Kim Ode", 7
#: Probes: a genuine variant; a sloppier one that the service refers (drawn on the pad against references drawn on
#: the pad, so decided by the pen comparator's three zones: between its accept and reject thresholds; the first of
#: REFER_SEEDS that is, found by ``refer_probe``); a different name as the forgery.
GENUINE_SEED, REFER_SEEDS, REFER_JITTER, FORGERY_SEED = 6, range(30, 60), 2.0, 99


# --- driving the app ------------------------------------------------------------------------------


def wait_until(app: QApplication, cond: Callable[[], bool], what: str, timeout: float = 180.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}; messages: {[p.messages.text() for p in _pages]}")
        app.processEvents()
        time.sleep(0.02)


_pages: list = []


def settle(app: QApplication, seconds: float = 0.6) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def refer_probe(page, references: list, tmp: Path) -> list[Stroke]:
    """A sloppier genuine signature that the service refers (between the three zones' accept and reject
    thresholds): the first of REFER_SEEDS whose strokes, as the verify pad records them, a scratch database
    holding the same references refers. The screenshot database's audit gets only the one shown."""
    from biometrix.service import Biometrix

    with Biometrix(tmp / "scratch.db", face_model="face-dlib-resnet-v1", signature_model="signature-v6-int8") as bx:
        bx.enroll(SUBJECT, signatures=references)
        for seed in REFER_SEEDS:
            strokes = synthetic_signature(seed, jitter=REFER_JITTER)
            replay_strokes(page.input.pad, strokes, synthetic_stylus())
            recorded = page.input.pad.strokes()
            page.input.pad.clear()
            if bx.verify(SUBJECT, signature=recorded).label == "Refer":
                print(f"  refer probe: seed {seed}, jitter {REFER_JITTER}")
                return strokes
    raise SystemExit(f"none of the seeds {REFER_SEEDS} is referred: widen REFER_SEEDS")


def main() -> None:
    from biometrix.gui.kiosk import KioskWindow
    from biometrix.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp(prefix="bx-shots-"))
    settings = GuiSettings(db_path=str(tmp / "shots.db"), camera=str(tmp / "no-camera.avi"),
                           face_model="face-dlib-resnet-v1", signature_model="signature-v6-int8",
                           kiosk_modality="signature").with_pin("2468")
    ctx = AppContext(settings, settings_path=tmp / "gui.json")
    device = synthetic_stylus()
    for png in OUT.glob("*.png"):
        png.unlink()

    # first start: the database has no operators, so the login dialog creates its administrator
    from biometrix.gui.login import LoginDialog
    from biometrix.gui.qt import QDialog

    login = LoginDialog(ctx)
    login.show()
    wait_until(app, lambda: login.create_admin is not None, "the database's answer")
    login.name.setText("a.morgan")
    for field in (login.password, login.again):
        field.setText("a-long-admin-password")
    settle(app)
    login.grab().save(str(OUT / "login-first-run.png"))
    print("wrote", OUT / "login-first-run.png")
    login.submit()
    wait_until(app, lambda: login.result() == QDialog.DialogCode.Accepted, "the first admin")
    w = MainWindow(ctx)
    w.setWindowTitle(f"{w.windowTitle()} — a.morgan (admin)")
    w.resize(1366, 740)
    w.show()
    settle(app, 1.0)

    def shot(name: str, widget=None) -> None:
        settle(app)
        (widget or w).grab().save(str(OUT / f"{name}.png"))
        print("wrote", OUT / f"{name}.png")

    def verify_with(page, strokes: list[Stroke]) -> str:
        replay_strokes(page.input.pad, strokes, device)
        page.verify()
        wait_until(app, lambda: page.result.shown_label != "" and not page.busy, "a decision")
        d = page.last.decision
        fmt = partial(format_distance, scale=d.threshold.value)
        print(f"  verify: {d.label} distance {fmt(d.distance)} threshold {fmt(d.threshold.value)} band {fmt(d.band)}")
        return page.result.shown_label

    done: list = []
    # the Refer band is the database's decision policy: the admin sets it (audited), as on the Settings page
    ctx.run(None, lambda bx: bx.set_policy(refer_band=0.10), on_success=done.append)
    wait_until(app, lambda: bool(done), "the decision policy")
    done.clear()
    ctx.run(None, lambda bx: [bx.enroll(sid, signatures=[synthetic_signature(s, word=random_word(k))
                                                         for s in range(1, 6)], display_name=name)
                              for k, sid, name in OTHERS], on_success=done.append)
    wait_until(app, lambda: bool(done), "the other signers' enrollment")

    enroll = w.show_page("enroll")  # the camera has no device: its "no camera" state offers a photo file
    _pages.append(enroll)
    enroll.subject_edit.setText(SUBJECT)
    enroll.name_edit.setText(NAME)
    for seed in range(1, 6):
        replay_strokes(enroll.pad, synthetic_signature(seed), device)
        enroll.add_reference()
    wait_until(app, lambda: enroll.checks is not None, "the consistency check")
    replay_strokes(enroll.pad, synthetic_signature(GENUINE_SEED + 1), device)
    shot("enroll")
    enroll.pad.clear()
    references = list(enroll.references)  # as drawn on the pad: a scratch database gets the same, to find a Refer
    enroll.save()
    wait_until(app, lambda: enroll.messages.text().startswith("Enrolled"), "the enrollment")
    shot("enroll-saved")

    # enroll by scan: five scanned forms, each turned upright, straightened and cropped to the signature box
    from biometrix.gui.qt import QDialog as Dialog

    enroll.subject_edit.setText(SCANNED)
    enroll.name_edit.setText(SCANNED_NAME)
    for seed in range(1, 6):
        strokes = synthetic_signature(seed, word=random_word(SCANNED_WORD))
        path, (fh, fw) = synthetic_scan(strokes, tmp / f"form-{seed}.png", seed)

        def crop(dialog, first=seed == 1, fh=fh, fw=fw) -> int:
            dialog.turn(1)  # it was put on the glass sideways
            dialog.fine.setValue(2)  # and 2 degrees crooked
            img = dialog.view.image
            dy, dx = (img.shape[0] - fh) // 2, (img.shape[1] - fw) // 2
            dialog.set_crop((dx + 145, dy + 165, 470, 200))  # the signature box
            if first:
                dialog.resize(900, 560)
                dialog.show()
                shot("enroll-scan-crop", dialog)
            return Dialog.DialogCode.Accepted

        enroll.scans.dialog_hook = crop
        enroll.scans.take(str(path))
        if seed < 5:
            enroll.add_reference()
    shot("enroll-scan")
    enroll.add_reference()
    wait_until(app, lambda: enroll.checks is not None, "the consistency check of the scans")
    enroll.save_anyway.setChecked(True)
    enroll.save()
    wait_until(app, lambda: enroll.messages.text().startswith(f"Enrolled {SCANNED}"), "the enrollment by scan")

    verify = w.show_page("verify")
    _pages.append(verify)
    verify.finder.query.setText("morrow")
    verify.finder.search()
    wait_until(app, lambda: verify.finder.selected_id is not None, "the subject search")
    assert verify_with(verify, synthetic_signature(FORGERY_SEED, forgery=True)) == "Reject"
    shot("verify-forgery")
    assert verify_with(verify, refer_probe(verify, references, tmp)) == "Refer"
    shot("verify-refer")
    assert verify_with(verify, synthetic_signature(GENUINE_SEED)) == "Accept"
    shot("verify")
    verify.input.set_modality(Modality.FACE)
    wait_until(app, lambda: "photo file" in verify.input.camera.no_camera_label.text(), "the no-camera state")
    shot("verify-no-camera")
    verify.input.set_modality(Modality.SIGNATURE)

    identify = w.show_page("identify")
    _pages.append(identify)
    replay_strokes(identify.input.pad, synthetic_signature(GENUINE_SEED + 2), device)
    identify.identify()
    wait_until(app, lambda: bool(identify.rows) and not identify.busy, "the identification")
    shot("identify")

    audit = w.show_page("audit")
    wait_until(app, lambda: not audit.busy, "the audit log")
    shot("audit")
    settings_page = w.show_page("settings")
    wait_until(app, lambda: settings_page.info is not None, "the settings")
    shot("settings")
    w.close()

    kiosk = KioskWindow(ctx)
    kiosk.resize(1366, 768)
    kiosk.show()
    settle(app, 1.0)
    shot("kiosk", kiosk)
    kiosk.id_edit.setText(SUBJECT)
    kiosk.to_capture()
    settle(app)
    replay_strokes(kiosk.pad, synthetic_signature(GENUINE_SEED + 3), device)
    shot("kiosk-signature", kiosk)
    kiosk.verify()
    wait_until(app, lambda: kiosk.screen_name == "result", "the kiosk decision")
    print("  kiosk:", kiosk.last_label)
    shot("kiosk-result", kiosk)
    kiosk.unlock_and_close()
    ctx.shutdown()


if __name__ == "__main__":
    main()
