"""The client (``RemoteBiometrix``, ``--server`` on the CLI, the app's settings) against a real server over HTTPS:
the same decisions as the in-process service on the same files, TLS verified against the bank CA, an unreachable
server one clear error and no decision, and no database, key or model touched on the client's side."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from biometrix import Biometrix
from biometrix.cli import main
from biometrix.client import RemoteBiometrix
from biometrix.core.errors import AccessDenied, NotOnServer, ServerUnavailable
from biometrix.core.types import Modality
from tests.server.conftest import PASSWORDS, free_socket, make_certs
from tests.test_access_control import drawn, redrawn

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Signature image files: references of "dora", a close probe and another writer's."""
    folder = tmp_path_factory.mktemp("files")
    out = {}
    for name, img in {"ref0": drawn(80), "ref1": drawn(81), "ref2": drawn(82), "close": redrawn(81),
                      "other": drawn(90)}.items():
        out[name] = folder / f"{name}.png"
        cv2.imwrite(str(out[name]), img)
    return out


def remote(running, certs, name: str = "tom") -> RemoteBiometrix:
    bx = RemoteBiometrix(running.url, ca_file=certs.ca)
    bx.login(name, PASSWORDS[name])
    return bx


def test_enroll_on_the_server_then_verify_and_identify_as_in_process(running, certs, bank, files):
    with remote(running, certs) as bx:
        templates = bx.enroll("dora", signatures=[files["ref0"], files["ref1"], files["ref2"]], display_name="Dora")
        assert [(t.subject_id, t.modality, t.n_references) for t in templates] == [("dora", Modality.SIGNATURE, 3)]
        got = {k: bx.verify("dora", signature=files[k]) for k in ("close", "other")}
        ranked = bx.identify(signature=files["close"], top_k=3)
        threshold = bx.threshold(Modality.SIGNATURE, capture="scan")
        assert [s.subject_id for s in bx.subjects("Dora")] == ["dora"]
        with pytest.raises(NotOnServer):
            bx.backup("/tmp/x.db")
    with Biometrix(bank) as local:
        local.login("tom", PASSWORDS["tom"])
        for k, decision in got.items():
            assert decision == local.verify("dora", signature=files[k])  # the same frozen Decision, field by field
        assert ranked == local.identify(signature=files["close"], top_k=3)
        assert threshold == local.threshold(Modality.SIGNATURE, capture="scan")
    assert got["close"].accepted and not got["other"].accepted


def test_a_client_with_another_ca_is_refused(running, certs, tmp_path):
    stranger = make_certs(tmp_path / "other-ca")
    bx = RemoteBiometrix(running.url, ca_file=stranger.ca)
    with pytest.raises(ServerUnavailable, match="TLS certificate.*--ca-file"):
        bx.login("tom", PASSWORDS["tom"])
    with pytest.raises(ServerUnavailable, match="TLS certificate"):
        RemoteBiometrix(running.url).open()  # the system's CAs do not know the bank's CA either
    with pytest.raises(Exception, match="https"):
        RemoteBiometrix(running.url.replace("https://127.0.0.1", "http://bank.example"))


def test_an_unreachable_server_is_one_clear_error_and_no_decision(files, tmp_path, monkeypatch, capsys, certs):
    sock = free_socket()
    url = f"https://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()  # nothing listens there now
    with pytest.raises(ServerUnavailable, match="cannot reach the biometrix server"):
        RemoteBiometrix(url, ca_file=certs.ca).login("tom", "x")
    monkeypatch.setenv("BIOMETRIX_PASSWORD", PASSWORDS["tom"])
    monkeypatch.setenv("BIOMETRIX_DB", str(tmp_path / "local.db"))
    code = main(["verify", "--server", url, "--ca-file", str(certs.ca), "--operator", "tom", "--subject", "alice",
                 "--signature", str(files["close"])])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "cannot reach the biometrix server" in err[0]
    assert not (tmp_path / "local.db").exists()  # no local fallback: no database was even created


def test_cli_commands_over_server_match_the_in_process_ones(running, certs, bank, files, monkeypatch, capsys):
    monkeypatch.setenv("BIOMETRIX_PASSWORD", PASSWORDS["tom"])
    remote_args = ["--server", running.url, "--ca-file", str(certs.ca), "--operator", "tom", "--json"]
    assert main(["enroll", "--subject", "erin", "--signature", str(files["ref0"]), str(files["ref1"]),
                 str(files["ref2"]), *remote_args]) == 0
    enrolled = json.loads(capsys.readouterr().out)
    assert enrolled["subject_id"] == "erin" and enrolled["db"] == running.url
    code = main(["verify", "--subject", "erin", "--signature", str(files["close"]), *remote_args])
    over_https = json.loads(capsys.readouterr().out)
    local_code = main(["verify", "--db", str(bank), "--operator", "tom", "--json", "--subject", "erin",
                       "--signature", str(files["close"])])
    in_process = json.loads(capsys.readouterr().out)
    assert (code, over_https) == (local_code, in_process)
    assert main(["identify", "--signature", str(files["close"]), "--top-k", "2", *remote_args]) == 0
    over_https = json.loads(capsys.readouterr().out)
    assert main(["identify", "--db", str(bank), "--operator", "tom", "--json", "--signature", str(files["close"]),
                 "--top-k", "2"]) == 0
    assert over_https == json.loads(capsys.readouterr().out)
    assert main(["audit", "list", "--limit", "1", *remote_args]) == 2  # a teller may not read the audit log
    assert "supervisor" in capsys.readouterr().err


def test_the_client_loads_no_store_key_or_model(running, certs, files):
    """A counter's process that verifies through the server never imports the store, the runtime or onnxruntime."""
    code = (
        "import sys\n"
        "from biometrix.client import RemoteBiometrix\n"
        f"bx = RemoteBiometrix({running.url!r}, ca_file={str(certs.ca)!r})\n"
        f"bx.login('tom', {PASSWORDS['tom']!r})\n"
        f"print(bx.verify('alice', signature={str(files['close'])!r}).label)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnxruntime', 'sqlite3', 'fastapi') or "
        "m.startswith(('biometrix.store', 'biometrix.runtime', 'biometrix.service', 'biometrix.index'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=True).stdout.splitlines()
    assert out[0] in ("Accept", "Reject", "Refer") and out[1] == "[]"


def test_the_app_settings_make_a_remote_service(running, certs):
    pytest.importorskip("PySide6", reason="the app's context needs PySide6")
    from biometrix.gui.context import make_service
    from biometrix.gui.settings import GuiSettings
    from biometrix.gui.tasks import error_message

    bx = make_service(GuiSettings(server_url=running.url, ca_file=str(certs.ca)))
    assert isinstance(bx, RemoteBiometrix)
    bx.login("tom", PASSWORDS["tom"])
    from biometrix.gui import ops

    outcome = ops.verify(bx, "alice", Modality.SIGNATURE, redrawn(0))  # what the verify page runs
    assert outcome.decision.accepted and len(outcome.references) == 3  # the references shown beside it
    assert ops.face_hint(bx, redrawn(0)).ok  # no detector on a client: the server checks the face
    token = bx.session_token()
    again = make_service(GuiSettings(server_url=running.url, ca_file=str(certs.ca)))
    assert again.resume(token).name == "tom"  # the app carries its session across a re-created service
    with pytest.raises(AccessDenied):
        again.operators()
    down = make_service(GuiSettings(server_url="https://127.0.0.1:9", ca_file=str(certs.ca)))
    with pytest.raises(ServerUnavailable) as err:
        down.login("tom", PASSWORDS["tom"])
    assert "\n" not in error_message(err.value) and "no decision was made" in error_message(err.value)
