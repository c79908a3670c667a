"""``biometrix --selftest`` through the installed command's entry point (the bundle's is packaging/entry.py)."""

from __future__ import annotations

import pytest

from biometrix.cli import main


def test_selftest_flag_runs_the_installation_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--selftest", "--no-gui"]) == 0
    out = capsys.readouterr().out
    assert "selftest: all" in out and "checks passed" in out
    assert "ok     verify:" in out and "FAILED" not in out


def test_selftest_is_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--selftest" in capsys.readouterr().out
