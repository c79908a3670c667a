"""``biometrix server`` refuses to start where it would be unsafe (one line, exit 2, nothing served), and its systemd
unit runs it under its own account with options the command has."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

from biometrix import Biometrix
from biometrix.cli import main
from tests.server.conftest import Certs

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("extra", "message"), [
    ((), "HTTPS only: give --certfile and --keyfile"),
    (("--insecure-http", "--host", "0.0.0.0"), "loopback address only"),
    (("--certfile", "missing.pem", "--keyfile", "missing.key"), "no such TLS file"),
])
def test_the_server_refuses_to_start_without_tls(tmp_path, capsys, extra, message) -> None:
    db = tmp_path / "bank.db"
    with Biometrix(db) as bx:
        bx.add_operator("root", "admin", "admin-password-1")
    assert main(["server", "--db", str(db), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_the_server_refuses_a_database_without_operators(tmp_path, capsys, certs: Certs) -> None:
    db = tmp_path / "open.db"
    with Biometrix(db) as bx:
        bx.open()
    code = main(["server", "--db", str(db), "--certfile", str(certs.cert), "--keyfile", str(certs.key)])
    assert code == 2 and "no operators" in capsys.readouterr().err
    assert main(["server", "--db", str(tmp_path / "none.db"), "--certfile", str(certs.cert), "--keyfile",
                 str(certs.key)]) == 2  # never creates a database
    assert not (tmp_path / "none.db").exists()


def test_the_systemd_unit_runs_the_server_as_its_own_account(capsys) -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(REPO / "packaging" / "systemd" / "biometrix-server.service")
    service = unit["Service"]
    assert service["User"] == "biometrix-server" and service["NoNewPrivileges"] == "yes"
    argv = shlex.split(service["ExecStart"].replace("\\\n", " "))
    assert Path(argv[0]).name == "biometrix" and argv[1] == "server" and "--db" not in argv  # $BIOMETRIX_DB
    assert main(["server", "--help"]) == 0
    usage = capsys.readouterr().out
    assert all(word in usage for word in argv[2:] if word.startswith("--"))
    assert "--certfile" in argv and "--insecure-http" not in argv
