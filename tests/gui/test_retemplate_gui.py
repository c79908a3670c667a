"""Settings: a model change is the database's (the admin confirms that it trusts the other model, audited), then
"Re-make templates" re-makes the templates from the kept samples in the background, with a progress bar, and the
outcome is one line in the message bar."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from biometrix import Biometrix
from biometrix.core.types import Modality
from biometrix.gui.context import AppContext
from biometrix.gui.main_window import MainWindow
from biometrix.gui.qt import Qt
from biometrix.gui.settings import GuiSettings, load_settings
from biometrix.store import open_store
from tests.cli.conftest import copy_model_as
from tests.gui.conftest import FACE_MODEL, REPO, SIGNATURE_MODEL, WAIT_MS

MODELS = REPO / "assets" / "models"


def models_folder(tmp_path: Path) -> Path:
    """The shipped signature model as "sig-old" and as "sig-new" (the same weights), beside the face model."""
    folder = tmp_path / "models"
    folder.mkdir()
    card = json.loads((MODELS / f"{SIGNATURE_MODEL}.json").read_text(encoding="utf-8"))
    for model_id in ("sig-old", "sig-new"):
        copy_model_as(card, folder, model_id)
    for suffix in (".json", ".onnx"):
        (folder / f"{FACE_MODEL}{suffix}").symlink_to(MODELS / f"{FACE_MODEL}{suffix}")
    return folder


def template(db: str, subject: str, model_id: str) -> np.ndarray:
    """The subject's signature template of ``model_id``, read from the store."""
    with open_store(db, create=False) as store:
        return store.template(subject, modality=Modality.SIGNATURE, model_id=model_id).references


def test_settings_remakes_templates_with_progress(qtbot, gui_settings: GuiSettings, tmp_path: Path,
                                                  svc_strokes) -> None:
    models = models_folder(tmp_path)
    with Biometrix(gui_settings.db_path, models_dir=models, signature_model="sig-old") as bx:
        for user in (3, 4):
            bx.enroll(f"u{user}", signatures=[svc_strokes(user, n) for n in range(1, 6)])
    old = {s: template(gui_settings.db_path, s, "sig-old") for s in ("u3", "u4")}
    settings = gui_settings.replace(models_dir=str(models), signature_model="sig-old")
    w = MainWindow(AppContext(settings, settings_path=tmp_path / "gui.json"))
    qtbot.addWidget(w)
    try:
        w.show()
        qtbot.waitExposed(w)
        page = w.show_page("settings")
        qtbot.waitUntil(lambda: page.info is not None and page.retemplate_button.isEnabled(), timeout=WAIT_MS)
        box = page.boxes[Modality.SIGNATURE]
        assert box.trusted == "sig-old" and box.model_combo.isEnabled()  # no operators yet: set-up mode
        asked: list = []
        page.confirm_trust = lambda models: asked.append(dict(models)) or False  # the admin says no first
        box.model_combo.setCurrentIndex(box.model_combo.findData("sig-new"))
        qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
        assert asked == [{"signature": "sig-new", "face": FACE_MODEL}] and box.trusted == "sig-old"
        page.confirm_trust = lambda models: True
        qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "now trusts signature model sig-new" in page.messages.text(), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: box.trusted == "sig-new" and not page.busy, timeout=WAIT_MS)
        assert load_settings(tmp_path / "gui.json").signature_model is None  # the database says which
        seen: list[tuple[int, int]] = []
        page._progress.changed.connect(lambda done, total: seen.append((done, total)))
        page.show_section("Models")  # the button is in the Models section
        qtbot.mouseClick(page.retemplate_button, Qt.MouseButton.LeftButton)
        assert page.retemplate_bar.isVisible()
        qtbot.waitUntil(lambda: page.messages.kind in ("ok", "warn", "error"), timeout=WAIT_MS)
        assert page.messages.kind == "ok", page.messages.text()
        assert "signature (sig-new): 2 made, 0 already up to date" in page.messages.text()
        assert seen == [(1, 2), (2, 2)] and page.retemplate_bar.value() == 2
        assert not page.retemplate_bar.isVisible() and page.retemplate_button.isEnabled()
    finally:
        w.close()
        w.ctx.shutdown()
    with Biometrix(gui_settings.db_path, models_dir=models) as bx:
        assert [(p.slot, p.model_id) for p in bx.trusted_models()][:2] == [("signature", "sig-new"),
                                                                           ("face", FACE_MODEL)]
        (row,) = [r for r in bx.audit(event="settings") if r.details["setting"] == "model.signature"
                  and r.details["new"]["model_id"] == "sig-new"]
        assert row.details["old"]["model_id"] == "sig-old"
    for subject, refs in old.items():
        np.testing.assert_allclose(template(gui_settings.db_path, subject, "sig-new"), refs, atol=1e-6)
