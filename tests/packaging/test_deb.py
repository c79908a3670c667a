"""The .deb, built by packaging/deb/build-deb.sh from a tiny fake bundle: its files, no maintainer scripts, no database.

The real bundle's package is built and installed by packaging/check.sh (too slow for the suite).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import PACKAGING, REPO, load_script

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed (not Debian)")

BUILD_DEB = PACKAGING / "deb" / "build-deb.sh"


@pytest.fixture(scope="module")
def deb_check():
    return load_script(PACKAGING / "deb" / "deb_check.py")


@pytest.fixture(scope="module")
def version() -> str:
    match = re.search(r'^version = "([^"]+)"$', (REPO / "pyproject.toml").read_text(), re.MULTILINE)
    assert match
    return match.group(1)


def fake_bundle(root: Path) -> Path:
    """A folder shaped like dist/biometrix: an executable and _internal/assets/models."""
    bundle = root / "biometrix"
    (bundle / "_internal" / "assets" / "models").mkdir(parents=True)
    exe = bundle / "biometrix"
    exe.write_text("#!/bin/sh\necho fake biometrix \"$@\"\n")
    exe.chmod(0o755)
    (bundle / "_internal" / "assets" / "models" / "signature-x.json").write_text("{}")
    return bundle


def build_deb(bundle: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(BUILD_DEB), str(bundle), str(out), *extra], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory, version: str) -> Path:
    root = tmp_path_factory.mktemp("deb")
    proc = build_deb(fake_bundle(root), root / "out")
    assert proc.returncode == 0, proc.stderr
    debs = list((root / "out").glob("*.deb"))
    arch = subprocess.check_output(["dpkg", "--print-architecture"], text=True).strip()
    assert [d.name for d in debs] == [f"biometrix_{version}_{arch}.deb"]
    assert proc.stdout.startswith(f"deb: {debs[0]}, ")
    return debs[0]


def test_package_passes_every_check(deb: Path, deb_check, version: str) -> None:
    results = deb_check.check_package(deb, version=version)
    assert all(ok for ok, _ in results), [what for ok, what in results if not ok]
    assert len(results) == 8


def test_package_layout_and_removal_keeps_user_data(deb: Path, deb_check, tmp_path: Path) -> None:
    entries, texts, control = deb_check.read_package(deb)
    files = {e.path: e for e in entries}
    assert files["/usr/bin/biometrix"].target == "/opt/biometrix/biometrix"
    assert files["/opt/biometrix/biometrix"].kind == "file"
    assert set(control) == {"control"}  # no preinst/postinst/prerm/postrm: nothing runs on remove or purge
    assert not [p for p in files if p.endswith(".db") or "enrollment_db" in p or p.startswith("/home")]
    assert "~/.local/share/biometrix/biometrix.db" in texts["/usr/share/doc/biometrix/README.Debian"]
    # install with dpkg -x, put a database where the app keeps it, delete the package's files as dpkg -r would
    root, home = tmp_path / "root", tmp_path / "home"
    subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    assert (root / "opt/biometrix/biometrix").stat().st_mode & 0o111
    db = home / ".local/share/biometrix/biometrix.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"SQLite format 3\x00")
    for entry in entries:
        if entry.kind != "dir":
            (root / entry.path.lstrip("/")).unlink()
    assert not (root / "opt/biometrix/biometrix").exists() and db.is_file()


def test_control_fields(deb: Path, deb_check, version: str) -> None:
    _, _, control = deb_check.read_package(deb)
    fields = deb_check.control_fields(control["control"])
    assert fields["Package"] == "biometrix" and fields["Version"] == version
    assert "libgl1" in fields["Depends"] and fields["Conflicts"] == "biometrix-gpu"
    assert int(fields["Installed-Size"]) > 0


def test_a_bundle_with_a_database_folder_is_refused(tmp_path: Path) -> None:
    bundle = fake_bundle(tmp_path)
    (bundle / "enrollment_db").mkdir()
    proc = build_deb(bundle, tmp_path / "out")
    assert proc.returncode == 1 and "must not ship a database folder" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_deb_check_flags_a_maintainer_script_that_deletes_data(tmp_path: Path, deb_check) -> None:
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text("Package: biometrix\nVersion: 9.9\nArchitecture: all\n"
                                             "Maintainer: x <x@y>\nDescription: x\n")
    postrm = root / "DEBIAN" / "postrm"
    postrm.write_text("#!/bin/sh\nrm -rf /home/*/.local/share/biometrix\n")
    postrm.chmod(0o755)
    (root / "var/lib/biometrix").mkdir(parents=True)
    (root / "var/lib/biometrix/biometrix.db").write_bytes(b"")
    bad = tmp_path / "bad.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(bad)], check=True,
                   capture_output=True)
    failed = [what for ok, what in deb_check.check_package(bad, version="9.9") if not ok]
    assert any("maintainer scripts present: postrm" in w for w in failed)
    assert any("/var/lib/biometrix/biometrix.db" in w for w in failed)
    assert any("/opt/biometrix/biometrix" in w for w in failed)
