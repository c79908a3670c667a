"""GUI test helpers: a synthetic stylus, SVC2004 pen files drawn as tablet events, an AT&T video camera."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6", reason="the GUI tests need PySide6 (pip install PySide6-Essentials)")

from biometrix.capture.pen import Stroke, read_svc2004  # noqa: E402
from biometrix.core.types import Modality  # noqa: E402
from biometrix.gui.qt import QPointingDevice  # noqa: E402
from biometrix.gui.replay import replay_strokes, synthetic_stylus  # noqa: E402
from biometrix.gui.settings import GuiSettings  # noqa: E402
from biometrix.runtime.model_card import PREFERRED_MODELS  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
SVC_ZIP = SHARED_DATA / "svc2004_task2" / "svc2004_task2.zip"
ATT_ZIP = SHARED_DATA / "att_faces" / "att_faces.zip"
#: Long waits: model loading and encoding share 2 busy CPU cores with other jobs.
WAIT_MS = 120_000
#: The shipped models the expected decisions were measured with.
FACE_MODEL, SIGNATURE_MODEL = PREFERRED_MODELS[Modality.FACE], PREFERRED_MODELS[Modality.SIGNATURE]


def _require(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared data sets live in ../shared/data beside the repository)")
    return path


@pytest.fixture(scope="session")
def svc_strokes():
    """svc_strokes(user, sample) -> the SVC2004 task-2 recording as strokes (y down)."""
    zf = zipfile.ZipFile(_require(SVC_ZIP))

    def read(user: int, sample: int) -> list[Stroke]:
        return read_svc2004(zf.read(f"Task2/U{user}S{sample}.TXT").decode("ascii"), name=f"U{user}S{sample}")

    yield read
    zf.close()


@pytest.fixture(scope="session")
def stylus() -> QPointingDevice:
    """A synthetic pen: offscreen Qt has no tablet, but QTabletEvents built on this device carry pressure."""
    return synthetic_stylus()


#: Replay pen strokes on a pad as tablet events (the app's own helper, shared with the screenshot script).
draw_on_pad = replay_strokes


def call_service(qtbot, ctx, fn):
    """Run ``fn(service)`` through the app's context (its worker thread, its session) and return the result, or
    raise the op's exception."""
    out: list = []
    errors: list = []
    ctx.run(None, fn, on_success=out.append, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(out or errors), timeout=WAIT_MS)
    if errors:
        raise errors[0]
    return out[0]


@pytest.fixture
def gui_settings(tmp_path: Path) -> GuiSettings:
    # the face model is named: the models folder may hold several face models (the service then needs a choice)
    return GuiSettings(db_path=str(tmp_path / "gui.db"), camera=str(tmp_path / "no-such-camera.avi"),
                       face_model=FACE_MODEL, signature_model=SIGNATURE_MODEL)


@pytest.fixture
def window(qtbot, gui_settings: GuiSettings, tmp_path: Path):
    """The teller window on a fresh database and no camera (the settings name a video file that is not there)."""
    from biometrix.gui.context import AppContext
    from biometrix.gui.main_window import MainWindow

    w = shown(qtbot, MainWindow(AppContext(gui_settings, settings_path=tmp_path / "gui.json")), (1366, 740))
    yield w
    w.close()
    w.ctx.shutdown()


def shown(qtbot, widget, size: tuple[int, int]):
    """``widget`` at ``size``, shown and exposed, closed by qtbot at the end of the test."""
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture(scope="session")
def att_video(tmp_path_factory: pytest.TempPathFactory):
    """att_video(subject, samples) -> an MJPG .avi of those AT&T photos (each held for a few frames)."""
    import cv2

    zf = zipfile.ZipFile(_require(ATT_ZIP))
    root = tmp_path_factory.mktemp("att")

    def make(subject: int, samples: Sequence[int], *, repeat: int = 3) -> Path:
        path = root / f"s{subject}-{'-'.join(map(str, samples))}.avi"
        if path.exists():
            return path
        frames = []
        for n in samples:
            buf = np.frombuffer(zf.read(f"att_faces/s{subject}/{n}.pgm"), dtype=np.uint8)
            gray = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
            frames.extend([cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)] * repeat)
        h, w = frames[0].shape[:2]
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w, h))
        for f in frames:
            writer.write(f)
        writer.release()
        return path

    def photo(subject: int, sample: int) -> Path:
        path = root / f"s{subject}_{sample}.pgm"
        path.write_bytes(zf.read(f"att_faces/s{subject}/{sample}.pgm"))
        return path

    make.photo = photo  # type: ignore[attr-defined]
    yield make
    zf.close()


def each_screen(qtbot, window):
    """Show every page of the teller window in turn, and every section of a page in sections (Settings); yields
    (page name, section index) once each is on screen."""
    from biometrix.gui.qt import QTabWidget

    for name, page in window.pages.items():
        window.show_page(name)
        qtbot.waitUntil(lambda p=page: not p.busy, timeout=WAIT_MS)
        tabs = page.findChild(QTabWidget)
        for section in range(tabs.count() if tabs is not None else 1):
            if tabs is not None:
                tabs.setCurrentIndex(section)
                qtbot.wait(20)
            yield name, section
