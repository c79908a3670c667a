"""Finding 10, paths: `--db ""` silently used the default database, and `--db newdir/` created a file named
`newdir`. Both must be refused with one line, touching neither the default database nor the folder named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from biometrix import Biometrix
from biometrix.core.errors import InvalidInput
from tests.security.conftest import Run, error_line


@pytest.mark.parametrize("command", [["db", "migrate"], ["db", "info"], ["enroll", "--subject", "a", "--signature",
                                                                         "x.png"]])
def test_an_empty_db_path_is_refused_not_read_as_the_default(command: list[str], tmp_path: Path,
                                                             cli: Callable[..., Run]) -> None:
    run = cli(*command, "--db", "")
    assert run.rc == 2 and "--db: an empty path" in run.err
    assert not (tmp_path / "env-default.db").exists()  # the default database was not created


@pytest.mark.parametrize("db", ["newdir/", "newdir//", "a/b/"])
def test_a_db_path_ending_with_a_separator_is_refused(db: str, tmp_path: Path, cli: Callable[..., Run],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    line = error_line(cli("db", "migrate", "--db", db))
    assert "ends with a path separator" in line and "biometrix.db" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no file named like the folder, no folder


def test_the_same_from_the_environment_and_the_service(tmp_path: Path, cli: Callable[..., Run],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOMETRIX_DB", str(tmp_path / "newdir") + "/")
    assert "$BIOMETRIX_DB" in error_line(cli("db", "migrate"))
    with pytest.raises(InvalidInput, match="ends with a path separator"):
        Biometrix(str(tmp_path / "other") + "/")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
