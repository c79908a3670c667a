"""The installed app checks itself: every shipped model runs, a scratch database enrolls and verifies, the window opens.

``biometrix --selftest`` (and the bundle's ``biometrix --selftest``) call ``run_selftest``, which prints one line per
check (``ok`` or ``FAILED``, and what) and returns 0 only when every check passed. Nothing outside a temporary folder
is written: the database, the GUI settings and HOME / XDG folders all point into it while the checks run. The
signatures are drawn here with OpenCV (no data-set image is read), and torch is never imported.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np

from biometrix.core.distances import format_distance
from biometrix.core.errors import BiometrixError

if TYPE_CHECKING:
    from biometrix.preprocess.face_detect import Detection
    from biometrix.runtime.model_card import ModelCard
    from biometrix.service import Biometrix

EXIT_OK, EXIT_FAILED = 0, 1
SUBJECT = "selftest-subject"
#: The environment pointed into the scratch folder (the store may keep a key file in the user's config folder).
SCRATCH_DIRS = {"HOME": "home", "XDG_CONFIG_HOME": "config", "XDG_DATA_HOME": "data", "XDG_CACHE_HOME": "cache",
                "XDG_STATE_HOME": "state"}
#: Set by the user to a database, settings, key store or login of their own: never followed during the self-test
#: (with them unset the scratch database's key is a key file in the scratch config folder).
CLEARED_ENV = ("BIOMETRIX_DB", "BIOMETRIX_GUI_SETTINGS", "BIOMETRIX_KIOSK_PIN", "BIOMETRIX_KEY_STORE",
               "BIOMETRIX_KEY_DIR", "BIOMETRIX_PASSPHRASE", "BIOMETRIX_OPERATOR", "BIOMETRIX_PASSWORD")
#: MTCNN's stage input sides: P-Net is fully convolutional (>= 12), R-Net and O-Net take fixed crops.
MTCNN_SIDES = {"pnet": 12, "rnet": 24, "onet": 48}
#: How long the window may take to become visible (a busy 2-core machine, an X server starting).
SHOW_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, whether it passed, and what it saw (or why it failed)."""

    name: str
    ok: bool
    detail: str
    seconds: float

    def line(self) -> str:
        return f"{'ok' if self.ok else 'FAILED':6} {self.name}: {self.detail} ({self.seconds:.1f} s)"


class SelftestFailure(Exception):
    """A check saw something wrong (as opposed to crashing)."""


# --- synthetic samples ------------------------------------------------------------------------------------------


def draw_signature(shape_seed: int, *, variant: int = 0, size: tuple[int, int] = (150, 400)) -> np.ndarray:
    """A synthetic signature, uint8 (H, W), dark ink on white: a looping pen path defined by ``shape_seed``;
    ``variant`` > 0 adds the small changes of one signer signing again (amplitude, phase, slant, offset)."""
    import cv2

    h, w = size
    shape = np.random.default_rng(shape_seed)
    amps, freqs, phases = shape.uniform(8, 30, 3), shape.uniform(1.0, 4.0, 3), shape.uniform(0, 2 * np.pi, 3)
    loops, loop_r = int(shape.integers(2, 5)), shape.uniform(10, 22)
    again = np.random.default_rng(10_000 * shape_seed + variant)
    wobble = 0.0 if variant == 0 else 1.0
    amps = amps * (1 + wobble * again.uniform(-0.08, 0.08, 3))
    phases = phases + wobble * again.uniform(-0.15, 0.15, 3)
    slant, dx, dy = wobble * again.uniform(-0.06, 0.06), wobble * again.uniform(-6, 6), wobble * again.uniform(-4, 4)
    t = np.linspace(0.0, 1.0, 600)
    x = 30 + t * (w - 60)
    y = h / 2 + sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in zip(amps, freqs, phases, strict=True))
    x = x + loop_r * np.cos(2 * np.pi * loops * t) * 0.8
    y = y + loop_r * np.sin(2 * np.pi * loops * t)
    x = x + slant * (y - h / 2) + dx
    y = y + dy
    img = np.full((h, w), 255, np.uint8)
    pts = np.round(np.stack([x, y], axis=1)).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(img, [pts], isClosed=False, color=0, thickness=3, lineType=cv2.LINE_AA)
    return img


def draw_face(size: int = 200) -> tuple[np.ndarray, Detection]:
    """A drawn face, uint8 (size, size, 3) RGB, and its Detection (box and 5 landmarks where they were drawn)."""
    import cv2

    from biometrix.preprocess.face_detect import Detection

    img = np.full((size, size, 3), 200, np.uint8)
    c, s = size / 2, size / 200
    cv2.ellipse(img, (int(c), int(c)), (int(60 * s), int(80 * s)), 0, 0, 360, (224, 172, 140), -1)
    marks = np.array([[c - 25 * s, c - 20 * s], [c + 25 * s, c - 20 * s], [c, c + 8 * s],
                      [c - 20 * s, c + 35 * s], [c + 20 * s, c + 35 * s]])
    for ex, ey in marks[:2]:
        cv2.circle(img, (int(ex), int(ey)), int(7 * s), (40, 30, 30), -1)
    cv2.line(img, tuple(map(int, marks[3])), tuple(map(int, marks[4])), (120, 40, 40), max(1, int(4 * s)))
    box = (c - 60 * s, c - 80 * s, c + 60 * s, c + 80 * s)
    return img, Detection(bbox=box, landmarks5=marks, score=1.0)


class GivenFace:
    """A FaceDetector that 'finds' the face it was given (the drawn face's own landmarks)."""

    def __init__(self, detection: Detection) -> None:
        self.detection = detection

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        return [self.detection]


# --- the checks -------------------------------------------------------------------------------------------------


Check = tuple[str, Callable[[], str]]


def model_checks(folder: Path, *, prefer_gpu: bool) -> Iterator[Check]:
    """One check per model card in ``folder`` and per face detector folder in it, plus OpenCV's Haar cascades."""
    from biometrix.runtime.model_card import find_models

    try:
        cards = find_models(folder)
    except (BiometrixError, OSError) as err:  # an unreadable card: reported as this check's failure
        yield "model cards", partial(_fail, f"{type(err).__name__}: {err}")
        return
    if not cards:
        yield "model cards", partial(_fail, f"no model card (*.json) in {folder}")
    for card in cards:
        yield f"model {card.model_id}", partial(_run_encoder, card, folder, prefer_gpu=prefer_gpu)
    detectors = sorted(p.parent for p in folder.glob("*/detector.json"))
    if not detectors:
        yield "face detector", partial(_fail, f"no face detector folder (*/detector.json) in {folder}")
    for where in detectors:
        yield f"face detector {where.name}", partial(_run_mtcnn, where, prefer_gpu=prefer_gpu)
    yield "haar cascades", _run_haar
    yield "pen comparator", partial(_run_pen, folder)


def drawn_pen(seed: int, *, variant: int = 0) -> list[np.ndarray]:
    """A two-stroke pen signature as stroke arrays (x, y, pressure, t ms every 10 ms): ``seed`` fixes its shape
    (the writer), ``variant`` a small change of speed and wobble (another signature of the same writer)."""
    rng = np.random.default_rng([seed, 0])
    freq, phase = rng.uniform(2, 6, 2), rng.uniform(0, np.pi, 2)
    wobble = np.random.default_rng([seed, variant + 1])
    strokes, start = [], 0.0
    for k, n in enumerate((60, 40)):
        u = np.linspace(0, 1, n) ** (1 + 0.05 * variant)
        x = 100 * u + 300 * k + wobble.normal(0, 0.5, n)
        y = 30 * np.sin(freq[k] * 2 * np.pi * u + phase[k]) + wobble.normal(0, 0.5, n)
        p = 0.5 + 0.3 * np.sin(np.pi * u)
        strokes.append(np.stack([x, y, p, start + 10.0 * np.arange(n)], axis=1))
        start += 10.0 * n + 200
    return strokes


def _run_pen(folder: Path) -> str:
    """The pen comparator's card, if installed, and one genuine and one other-writer comparison of drawn pen
    signatures: the other writer must be the farther."""
    from biometrix.core.types import SubjectId
    from biometrix.runtime.pen_comparator import load_pen_card, pen_verify

    card = load_pen_card(folder)
    if card is None:
        return "not installed: pen signatures are verified by the image model"
    refs = [drawn_pen(1, variant=v) for v in range(5)]
    same = pen_verify(drawn_pen(1, variant=6), refs, subject_id=SubjectId("selftest"), threshold=card.threshold,
                      model=card.model)
    other = pen_verify(drawn_pen(2), refs, subject_id=SubjectId("selftest"), threshold=card.threshold,
                       model=card.model)
    if not same.distance < other.distance:
        raise SelftestFailure(f"the same drawn writer scored {same.distance:.3f}, another {other.distance:.3f}")
    return (f"{card.model_id} card read (threshold {card.threshold.value:.4f}); drawn pen signatures: same writer "
            f"{same.distance:.3f}, another {other.distance:.3f}")


def _run_encoder(card: ModelCard, folder: Path, *, prefer_gpu: bool) -> str:
    """Load the card's model and embed one sample through its pipeline (signature: preprocessing; face:
    alignment on the card's template); the embedding must be (D,), finite and unit-length."""
    from biometrix.core.types import Modality
    from biometrix.runtime.encoder import OnnxEncoder
    from biometrix.runtime.pipelines import FacePipeline, SignaturePipeline

    encoder = OnnxEncoder(card, card.onnx_path(folder), prefer_gpu=prefer_gpu)
    if card.modality is Modality.SIGNATURE:
        emb = SignaturePipeline(encoder).embed(draw_signature(1))
        what = "a drawn signature"
    else:
        face, det = draw_face()
        pipe = FacePipeline(encoder, GivenFace(det))
        emb = pipe.embed_chips([pipe.chip(face, det)])[0]
        what = f"an aligned {pipe.template.name} chip"
    _expect_unit(emb, card.embedding_dim)
    shape = "x".join(map(str, card.input_shape))
    return (f"{card.modality.value} encoder, input {shape}, {what} -> {card.embedding_dim}-d unit vector "
            f"on {', '.join(encoder.providers)}")


def _run_mtcnn(where: Path, *, prefer_gpu: bool) -> str:
    from biometrix.runtime.face_detector import NETWORKS, MtcnnDetector

    detector = MtcnnDetector(where, prefer_gpu=prefer_gpu)
    ran = []
    for name, side in MTCNN_SIDES.items():
        batch = np.random.default_rng(0).uniform(-1, 1, (1, 3, side, side)).astype(np.float32)
        outputs = detector.run_network(name, batch)
        if len(outputs) != NETWORKS[name] or not all(np.isfinite(o).all() for o in outputs):
            raise SelftestFailure(f"{name} gave {len(outputs)} outputs (expected {NETWORKS[name]} finite arrays)")
        ran.append(f"{name} {side}x{side}")
    face, _ = draw_face()
    found = detector.detect(face)
    return f"{', '.join(ran)} ran; detect() on a drawn face: {len(found)} found"


def _run_haar() -> str:
    from biometrix.preprocess.face_detect import HaarDetector

    face, _ = draw_face()
    found = HaarDetector().detect(face)  # HaarDetector raises when cv2's data files are not there
    return f"OpenCV's frontal-face and eye cascades loaded; detect() ran ({len(found)} found)"


def service_checks(scratch: Path, *, models_dir: Path, prefer_gpu: bool) -> Iterator[Check]:
    """Enroll a subject with five drawn signatures in a new database, verify one of the same signer and one of
    another, and re-check the audit chain, through the public API (``biometrix.Biometrix``)."""
    from biometrix import Biometrix

    db = scratch / "selftest.db"
    session = _Session()

    def enroll() -> str:
        session.bx = bx = Biometrix(db, models_dir=models_dir, prefer_gpu=prefer_gpu)
        templates = bx.enroll(SUBJECT, signatures=[draw_signature(7, variant=v) for v in range(1, 6)])
        if not db.is_file():
            raise SelftestFailure(f"enroll returned but {db} does not exist")
        session.enrolled = True
        return f"{len(templates)} template(s) from 5 drawn signatures in a new database {db}"

    def verify() -> str:
        bx = session.need_enrolled()
        genuine = bx.verify(SUBJECT, signature=draw_signature(7, variant=9))
        other = bx.verify(SUBJECT, signature=draw_signature(8))
        model_id = bx.card().model_id
        for d in (genuine, other):
            if not (math.isfinite(d.distance) and math.isfinite(d.threshold.value)):
                raise SelftestFailure(f"decision without a finite distance/threshold: {d}")
            if d.threshold.model_id != model_id or len(d.reference_distances) != 5:
                raise SelftestFailure(f"decision does not carry the model's threshold and 5 reference distances: {d}")
        fmt = partial(format_distance, scale=genuine.threshold.value)
        if not (genuine.accepted and not other.accepted and genuine.distance < other.distance):
            raise SelftestFailure(f"expected the same signer accepted and another rejected: got {genuine.label} at "
                                  f"{fmt(genuine.distance)} and {other.label} at {fmt(other.distance)} "
                                  f"(threshold {fmt(genuine.threshold.value)})")
        return (f"same signer {genuine.label} (distance {fmt(genuine.distance)}), other signer {other.label} "
                f"(distance {fmt(other.distance)}); threshold {fmt(genuine.threshold.value)} of {model_id}")

    def lookalike() -> str:
        bx = session.need_enrolled()
        from biometrix.core.errors import InvalidInput

        cyrillic = "\u0421-3001"  # Cyrillic Es, which looks like Latin C: needs the bundled confusables data
        try:
            bx.verify(cyrillic, signature=draw_signature(7, variant=9))
        except InvalidInput as err:
            return f"a look-alike subject id is refused: {err}"
        raise SelftestFailure("a Cyrillic look-alike of a Latin subject id was accepted")

    def audit() -> str:
        bx = session.need_enrolled()
        check = getattr(bx, "verify_audit", None)
        if check is None:
            return "skipped: this service has no verify_audit"
        result = check()
        if not result.ok:
            raise SelftestFailure(f"audit chain broken: {result.problems}")
        return f"audit chain intact ({result.n_rows} rows)"

    yield "enroll", enroll
    yield "verify", verify
    yield "look-alike id", lookalike
    yield "audit", audit
    yield "close database", session.close


class _Session:
    """The service the enroll check opened, shared by the checks after it."""

    def __init__(self) -> None:
        self.bx: Biometrix | None = None
        self.enrolled = False

    def need_enrolled(self) -> Biometrix:
        if self.bx is None or not self.enrolled:
            raise SelftestFailure("not run: the enroll check failed")
        return self.bx

    def close(self) -> str:
        if self.bx is None:
            return "nothing was opened"
        self.bx.close()
        self.bx = None
        return "closed"


def gui_checks(scratch: Path) -> Iterator[Check]:
    """Build the desktop app's main window and the kiosk window on the Qt platform in force, show, close."""
    yield "main window", lambda: _show_window(scratch, kiosk=False)
    yield "kiosk window", lambda: _show_window(scratch, kiosk=True)


def _show_window(scratch: Path, *, kiosk: bool) -> str:
    from biometrix.gui.app import LaunchOptions, make_context, make_window
    from biometrix.gui.qt import QApplication, QGuiApplication

    app = QApplication.instance() or QApplication(["biometrix-selftest"])
    options = LaunchOptions(kiosk=kiosk, db=str(scratch / "gui.db"), settings_path=str(scratch / "gui.json"),
                            camera=str(scratch / "no-camera.avi"), pin="2468" if kiosk else None, windowed=True)
    ctx = make_context(options)
    window = make_window(ctx, kiosk=kiosk)
    try:
        window.show()
        deadline = time.monotonic() + SHOW_TIMEOUT_S
        while not window.isVisible() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        app.processEvents()
        if not window.isVisible():
            raise SelftestFailure(f"the window did not become visible in {SHOW_TIMEOUT_S:g} s")
        size, platform = window.size(), QGuiApplication.platformName()
        return f"{type(window).__name__} shown on Qt platform {platform!r} ({size.width()}x{size.height()})"
    finally:
        window.close()
        app.processEvents()
        ctx.shutdown()
        window.deleteLater()
        app.processEvents()


def _fail(message: str) -> str:
    raise SelftestFailure(message)


def _expect_unit(emb: np.ndarray, dim: int) -> None:
    if emb.shape != (dim,) or not np.isfinite(emb).all() or abs(float(np.linalg.norm(emb)) - 1.0) > 1e-3:
        raise SelftestFailure(f"embedding is {emb.shape}, norm {float(np.linalg.norm(emb)):.4f} (expected ({dim},), 1)")


# --- running ----------------------------------------------------------------------------------------------------


@contextmanager
def scratch_environment(root: Path, *, gui: bool) -> Iterator[None]:
    """HOME and the XDG folders point into ``root``, the user's database/settings/PIN variables are unset, and
    (for the GUI) Qt renders offscreen when nothing says otherwise and no display exists; all restored after."""
    changes: dict[str, str | None] = {name: None for name in CLEARED_ENV}
    for name, sub in SCRATCH_DIRS.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        changes[name] = str(root / sub)
    if gui and not os.environ.get("QT_QPA_PLATFORM") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        changes["QT_QPA_PLATFORM"] = "offscreen"
    saved = {name: os.environ.get(name) for name in changes}
    try:
        for name, value in changes.items():
            _setenv(name, value)
        yield
    finally:
        for name, value in saved.items():
            _setenv(name, value)


def _setenv(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def run_checks(checks: Sequence[Check] | Iterator[Check], out: TextIO) -> list[CheckResult]:
    """Run each check, print its line as soon as it is done; a check that raises is FAILED with the error."""
    results = []
    for name, fn in checks:
        start = time.perf_counter()
        try:
            detail, ok = fn(), True
        except SelftestFailure as err:
            detail, ok = str(err), False
        except Exception as err:  # the self-test reports every failure and goes on to the next check
            first = " ".join(str(err).split())[:300]
            detail, ok = f"{type(err).__name__}: {first}", False
        result = CheckResult(name, ok, detail, time.perf_counter() - start)
        print(result.line(), file=out, flush=True)
        results.append(result)
    return results


def run_selftest(*, gui: bool = True, prefer_gpu: bool = True, models_dir: str | os.PathLike[str] | None = None,
                 out: TextIO | None = None) -> int:
    """Check the installation: every shipped model loads and runs, a scratch database enrolls and verifies
    drawn signatures, and (``gui``) the main and kiosk windows open. Prints one line per check and a summary;
    returns 0 when every check passed, 1 otherwise."""
    from biometrix import __version__
    from biometrix.runtime.paths import models_dir as default_models_dir

    stream = sys.stdout if out is None else out
    folder = Path(models_dir) if models_dir is not None else default_models_dir()
    frozen = "bundle" if getattr(sys, "frozen", False) else "python"
    print(f"biometrix {__version__} self-test ({frozen}, {sys.executable}); models: {folder}", file=stream, flush=True)
    with tempfile.TemporaryDirectory(prefix="biometrix-selftest-") as tmp:
        scratch = Path(tmp)
        with scratch_environment(scratch, gui=gui):
            results = run_checks(model_checks(folder, prefer_gpu=prefer_gpu), stream)
            results += run_checks(service_checks(scratch, models_dir=folder, prefer_gpu=prefer_gpu), stream)
            if gui:
                results += run_checks(gui_checks(scratch), stream)
    failed = [r for r in results if not r.ok]
    if failed:
        print(f"selftest: {len(failed)} of {len(results)} checks FAILED: {', '.join(r.name for r in failed)}",
              file=stream, flush=True)
        return EXIT_FAILED
    print(f"selftest: all {len(results)} checks passed", file=stream, flush=True)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="biometrix --selftest", description="Check this biometrix installation.")
    p.add_argument("--selftest", action="store_true", help="(the flag that selects this mode)")
    p.add_argument("--no-gui", action="store_true", help="skip the window checks (no Qt platform needed)")
    p.add_argument("--cpu", action="store_true", help="do not request CUDA (the GPU build otherwise tries it)")
    p.add_argument("-v", "--verbose", action="store_true", help="log what loads (providers, paths)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``biometrix --selftest [--no-gui] [--cpu] [-v]``: the bundle's entry point for the self-test."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    return run_selftest(gui=not args.no_gui, prefer_gpu=not args.cpu)


if __name__ == "__main__":
    raise SystemExit(main())
