"""Build the app's translation catalogues: ``python packaging/translations.py`` compiles each
biometrix/gui/translations/biometrix_<lang>.ts into the .qm shipped as package data (pyside6-lrelease);
``--update`` first refreshes the .ts files from the source (pyside6-lupdate: new strings come in unfinished,
strings gone from the code are dropped), for a translator to fill in with Qt Linguist (pyside6-linguist).

Both tools ship with PySide6-Essentials (console scripts beside the Python running this, or on PATH).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GUI = REPO / "biometrix" / "gui"
CATALOGUES = GUI / "translations"


def tool(name: str) -> str:
    """The PySide6 tool ``name`` beside this Python, else on PATH; SystemExit naming the package otherwise."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.is_file() else shutil.which(name)
    if found is None:
        raise SystemExit(f"translations: {name} not found: pip install PySide6-Essentials")
    return found


def sources() -> list[str]:
    return sorted(str(p.relative_to(REPO)) for p in GUI.rglob("*.py"))


def update(ts: Path) -> None:
    subprocess.run([tool("pyside6-lupdate"), *sources(), "-no-obsolete", "-locations", "none", "-ts", str(ts)],
                   cwd=REPO, check=True)


def release(ts: Path, qm: Path) -> None:
    subprocess.run([tool("pyside6-lrelease"), "-silent", str(ts), "-qm", str(qm)], cwd=REPO, check=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--update", action="store_true", help="refresh the .ts files from the source first")
    p.add_argument("--out", type=Path, default=CATALOGUES, help="where the .qm files go (default: beside the .ts)")
    args = p.parse_args(argv)
    for ts in sorted(CATALOGUES.glob("biometrix_*.ts")):
        if args.update:
            update(ts)
        args.out.mkdir(parents=True, exist_ok=True)
        release(ts, args.out / ts.with_suffix(".qm").name)
        print(f"{ts.relative_to(REPO)} -> {(args.out / ts.with_suffix('.qm').name)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
