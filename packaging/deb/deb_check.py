"""Check a biometrix .deb without installing it: its files, its control fields, and that removing it keeps the database.

    python packaging/deb/deb_check.py dist/biometrix_0.1.0_amd64.deb [--version 0.1.0]

Reads the package with ``dpkg-deb --fsys-tarfile`` / ``--ctrl-tarfile``. The database survives removal because
(1) it is not in the package (no ``*.db``, no ``enrollment_db/``: it is created in each user's data folder), and
(2) the package has no maintainer script that could delete it. Prints one line per check; exits 1 on a failure.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

EXECUTABLE = "/opt/biometrix/biometrix"
LINK = "/usr/bin/biometrix"
DESKTOP = "/usr/share/applications/biometrix.desktop"
KIOSK_UNIT = "/usr/lib/systemd/user/biometrix-kiosk.service"
MAINTAINER_SCRIPTS = ("preinst", "postinst", "prerm", "postrm", "config")
#: Nothing the package ships may look like a database, or sit where user data lives.
DATA_LIKE = re.compile(r"(\.db|\.db-wal|\.db-shm|\.sqlite3?)$|(^|/)enrollment_db(/|$)")
USER_PLACES = ("/home/", "/root/", "/var/lib/biometrix", "/etc/skel/")


@dataclass(frozen=True)
class Entry:
    """One member of the package's file system: absolute path, 'file' / 'dir' / 'link', link target."""

    path: str
    kind: str
    target: str = ""


def _dpkg_tar(deb: Path, what: str) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """Members of ``dpkg-deb --fsys-tarfile`` (``what="fsys"``) or ``--ctrl-tarfile``; small files' bytes kept."""
    proc = subprocess.Popen(["dpkg-deb", f"--{what}-tarfile", str(deb)], stdout=subprocess.PIPE)
    members = []
    if proc.stdout is None:
        raise RuntimeError("dpkg-deb gave no output pipe")
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for info in tar:
            data = None
            if info.isfile() and info.size <= 1 << 16:
                fh = tar.extractfile(info)
                data = fh.read() if fh is not None else None
            members.append((info, data))
    if proc.wait() != 0:
        raise SystemExit(f"deb_check: dpkg-deb --{what}-tarfile {deb} failed")
    return members


def read_package(deb: Path) -> tuple[list[Entry], dict[str, str], dict[str, str]]:
    """(file-system entries, texts of small files by path, control-archive files by name)."""
    entries, texts = [], {}
    for info, data in _dpkg_tar(deb, "fsys"):
        path = "/" + ("" if info.name == "." else info.name.removeprefix("./"))
        kind = "link" if info.issym() else "dir" if info.isdir() else "file"
        entries.append(Entry(path.rstrip("/") or "/", kind, info.linkname if info.issym() else ""))
        if data is not None:
            texts[path] = data.decode("utf-8", "replace")
    control = {Path(info.name).name: (data or b"").decode("utf-8", "replace")
               for info, data in _dpkg_tar(deb, "ctrl") if info.isfile()}
    return entries, texts, control


def control_fields(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        if line and not line[0].isspace() and ":" in line:
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
    return fields


def check_package(deb: Path, *, version: str | None = None) -> list[tuple[bool, str]]:
    """Every check as (passed, what), in the order printed."""
    entries, texts, control = read_package(deb)
    by_path = {e.path: e for e in entries}
    results: list[tuple[bool, str]] = []

    def check(ok: bool, what: str) -> None:
        results.append((ok, what))

    exe = by_path.get(EXECUTABLE)
    check(exe is not None and exe.kind == "file", f"{EXECUTABLE} is the bundle's executable")
    link = by_path.get(LINK)
    check(link is not None and link.kind == "link" and link.target == EXECUTABLE, f"{LINK} -> {EXECUTABLE}")
    models = [e.path for e in entries if e.path.startswith("/opt/biometrix/_internal/assets/models/")
              and e.path.endswith(".json")]
    check(bool(models), f"models in /opt/biometrix/_internal/assets/models ({len(models)} cards/manifests)")
    desktop = texts.get(DESKTOP, "")
    check("\nExec=biometrix gui\n" in desktop and "Exec=biometrix kiosk" in desktop,
          f"desktop entry {DESKTOP} (biometrix gui, action: biometrix kiosk)")
    unit = texts.get(KIOSK_UNIT, "")
    check("\nExecStart=/usr/bin/biometrix kiosk\n" in unit and "WantedBy=graphical-session.target" in unit,
          f"kiosk autostart {KIOSK_UNIT} (systemd user unit: biometrix kiosk)")
    scripts = sorted(name for name in control if name in MAINTAINER_SCRIPTS)
    check(not scripts, "no maintainer scripts (nothing runs on install, remove or purge)" if not scripts
          else f"maintainer scripts present: {', '.join(scripts)}")
    data = sorted(e.path for e in entries if DATA_LIKE.search(e.path) or e.path.startswith(USER_PLACES))
    check(not data, "no database file, enrollment_db/ or user folder in the package (the database is the user's)"
          if not data else f"data-like paths in the package: {', '.join(data[:10])}")
    fields = control_fields(control.get("control", ""))
    want = f", version {version}" if version else ""
    check(fields.get("Package", "").startswith("biometrix") and (version is None or fields.get("Version") == version),
          f"control: Package {fields.get('Package')!r}, Version {fields.get('Version')!r}{want}")
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("deb", type=Path)
    p.add_argument("--version", default=None, help="the Version the control file must carry")
    args = p.parse_args(argv)
    results = check_package(args.deb, version=args.version)
    for ok, what in results:
        print(f"{'ok' if ok else 'FAILED':6} deb: {what}")
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
