"""Fixtures for CLI tests: real CEDAR / SVC2004 files from ../shared/data, hostile files, enrolled databases."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from biometrix.cli import main

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
CEDAR_ZIP = SHARED_DATA / "cedar" / "cedar_signatures_half.zip"
SVC_ZIP = SHARED_DATA / "svc2004_task2" / "svc2004_task2.zip"
MODELS_DIR = REPO / "assets" / "models"

#: Held-out CEDAR signers (never used for training or calibration).
CEDAR_SIGNERS = tuple(range(46, 56))
GALLERY = (46, 47, 48)
N_REFERENCES = 5
SVC_USERS = (1, 2)


@dataclass(frozen=True)
class Cedar:
    root: Path

    def genuine(self, signer: int, n: int) -> Path:
        return self.root / "CEDAR_half" / "full_org" / f"original_{signer}_{n}.png"

    def forgery(self, signer: int, n: int) -> Path:
        return self.root / "CEDAR_half" / "full_forg" / f"forgeries_{signer}_{n}.png"

    def references(self, signer: int) -> list[Path]:
        return [self.genuine(signer, n) for n in range(1, N_REFERENCES + 1)]


@dataclass(frozen=True)
class Svc:
    root: Path

    def sample(self, user: int, n: int) -> Path:
        """n 1-20 genuine, 21-40 skilled forgeries."""
        return self.root / "Task2" / f"U{user}S{n}.TXT"


@dataclass(frozen=True)
class Run:
    rc: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


def _require(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"real signature data not found: {path} (expected ../shared/data beside the repository)")
    return path


@pytest.fixture(scope="session")
def model_card() -> dict[str, object]:
    """The card of the app's signature model in assets/models (the default models folder), read as plain JSON."""
    from biometrix.core.types import Modality
    from biometrix.runtime.model_card import PREFERRED_MODELS

    path = MODELS_DIR / f"{PREFERRED_MODELS[Modality.SIGNATURE]}.json"
    if not path.is_file():
        pytest.fail(f"the app's signature model {path.name} is not in {MODELS_DIR}")
    card = json.loads(path.read_text(encoding="utf-8"))
    assert card["modality"] == "signature"
    return card


@pytest.fixture(scope="session")
def cedar(tmp_path_factory: pytest.TempPathFactory) -> Cedar:
    """Held-out CEDAR signers 46-55 (genuine 1-24, forgeries 1-3) extracted into a temporary folder."""
    zpath = _require(CEDAR_ZIP)
    root = tmp_path_factory.mktemp("cedar")
    wanted = {f"CEDAR_half/full_org/original_{s}_{n}.png" for s in CEDAR_SIGNERS for n in range(1, 25)}
    wanted |= {f"CEDAR_half/full_forg/forgeries_{s}_{n}.png" for s in CEDAR_SIGNERS for n in range(1, 4)}
    with zipfile.ZipFile(zpath) as zf:
        names = set(zf.namelist())
        missing = sorted(wanted - names)
        if missing:
            pytest.fail(f"{zpath} lacks {len(missing)} expected entries, e.g. {missing[0]}")
        for name in sorted(wanted):
            zf.extract(name, root)
    return Cedar(root)


@pytest.fixture(scope="session")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Svc:
    """SVC2004 task-2 pen files of users 1-2 extracted into a temporary folder."""
    zpath = _require(SVC_ZIP)
    root = tmp_path_factory.mktemp("svc2004")
    with zipfile.ZipFile(zpath) as zf:
        for u in SVC_USERS:
            for n in range(1, 41):
                zf.extract(f"Task2/U{u}S{n}.TXT", root)
    return Svc(root)


def crafted_png(path: Path, *, width: int, height: int) -> Path:
    """A valid greyscale PNG of width x height zeros, built by hand (cheap even at 30000 x 30000)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey, deflate, no filter/interlace
    comp = zlib.compressobj(1)
    row = bytes(width + 1)  # filter byte 0 + a row of zeros
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory: pytest.TempPathFactory, cedar: Cedar) -> dict[str, Path]:
    """Hostile inputs by name: missing, empty, random bytes, truncated PNG, 30000x30000 PNG, blank page."""
    root = tmp_path_factory.mktemp("bad")
    files = {"missing": root / "missing.png"}
    files["empty"] = root / "empty.png"
    files["empty"].write_bytes(b"")
    files["random"] = root / "random.png"
    files["random"].write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    good = cedar.genuine(46, 20).read_bytes()
    files["truncated"] = root / "truncated.png"
    files["truncated"].write_bytes(good[: len(good) // 2])
    files["huge"] = crafted_png(root / "huge.png", width=30000, height=30000)
    files["blank"] = root / "blank.png"
    Image.fromarray(np.full((150, 300), 255, dtype=np.uint8)).save(files["blank"])
    return files


def copy_model_as(card: dict[str, object], folder: Path, model_id: str, **changes: object) -> None:
    """The shipped model of ``card`` (its ONNX file unchanged) under another model_id in ``folder``: a model
    "change" whose templates must come out exactly as before."""
    shutil.copyfile(MODELS_DIR / str(card["onnx_file"]), folder / f"{model_id}.onnx")
    new = dict(card, model_id=model_id, onnx_file=f"{model_id}.onnx", **changes)
    (folder / f"{model_id}.json").write_text(json.dumps(new), encoding="utf-8")


# --- running the CLI -------------------------------------------------------------------------------


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run ``main([...])`` in-process; returns exit code, stdout and stderr."""

    def run(*argv: object) -> Run:
        capsys.readouterr()
        rc = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Run(rc, captured.out, captured.err)

    return run


def subprocess_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["BIOMETRIX_DB"] = str(tmp_path / "env-default.db")  # never the repository's enrollment_db/
    env.pop("BIOMETRIX_MODELS_DIR", None)
    return env


def run_subprocess(tmp_path: Path, *argv: object, code: str | None = None) -> Run:
    """``python -m biometrix ARGV`` (or ``python -c CODE ARGV``) in a fresh interpreter, cwd = tmp_path."""
    cmd = [sys.executable, "-c", code] if code is not None else [sys.executable, "-m", "biometrix"]
    proc = subprocess.run([*cmd, *(str(a) for a in argv)], cwd=tmp_path, env=subprocess_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(autouse=True)
def _no_default_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A command run without --db must never touch the repository's enrollment_db/ or the user's data."""
    monkeypatch.setenv("BIOMETRIX_DB", str(tmp_path / "env-default.db"))
    monkeypatch.delenv("BIOMETRIX_MODELS_DIR", raising=False)


# --- databases -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def gallery_db(tmp_path_factory: pytest.TempPathFactory, cedar: Cedar, model_card: dict[str, object]) -> Path:
    """A database with CEDAR signers 46, 47, 48 enrolled as s46, s47, s48 (5 genuine references each)."""
    db = tmp_path_factory.mktemp("gallery") / "gallery.db"
    for signer in GALLERY:
        rc = main(["enroll", "--db", str(db), "--subject", f"s{signer}", "--signature",
                   *(str(p) for p in cedar.references(signer))])
        if rc != 0:
            pytest.fail(f"enrolling CEDAR signer {signer} into the gallery failed with exit code {rc}")
    return db


def copy_db(src: Path, dst: Path) -> Path:
    """A consistent copy of a SQLite database (backup API: includes anything still in the WAL)."""
    with sqlite3.connect(src) as s, sqlite3.connect(dst) as d:
        s.backup(d)
    s.close()
    d.close()
    return dst


@pytest.fixture
def bank_db(gallery_db: Path, tmp_path: Path) -> Path:
    """A private copy of the gallery database for one test."""
    return copy_db(gallery_db, tmp_path / "bank.db")


def canonical_dump(db: Path) -> list[str]:
    """Every table (audit_log and schema_migrations included), the schema and user_version, as SQL text."""
    conn = sqlite3.connect(db)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        return [f"-- user_version {version}", *conn.iterdump()]
    finally:
        conn.close()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_one_error_line(run: Run, *fragments: str) -> None:
    """Exit 2, nothing on stdout, exactly one stderr line 'biometrix: error: ...' naming the cause."""
    assert run.rc == 2, (run.rc, run.out, run.err)
    assert "Traceback" not in run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("biometrix: error: "), lines[0]
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), (fragment, lines[0])
    assert run.out == ""
