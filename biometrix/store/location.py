"""Where the enrollment database lives: --db > $BIOMETRIX_DB > portable enrollment_db/ > user data dir."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

DB_ENV = "BIOMETRIX_DB"
DB_FILENAME = "biometrix.db"
PORTABLE_DIRNAME = "enrollment_db"


@dataclass(frozen=True)
class DbLocation:
    """The database path and why it was chosen (shown to the user)."""

    path: Path
    reason: str


def _portable_dir() -> Path:
    """``enrollment_db/`` next to the executable (frozen bundle) or at the top of the source tree."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent / PORTABLE_DIRNAME
    return Path(__file__).resolve().parents[2] / PORTABLE_DIRNAME


def resolve_db_path(explicit: str | os.PathLike[str] | None = None) -> DbLocation:
    """Pick the enrollment database, in this order: the explicit path (``--db``), ``$BIOMETRIX_DB``,
    ``enrollment_db/`` beside the executable when that folder exists and is writable, else the platform's
    user data folder."""
    if explicit is not None and str(explicit).strip():
        return DbLocation(Path(explicit).expanduser(), "--db")
    env = os.environ.get(DB_ENV, "").strip()
    if env:
        return DbLocation(Path(env).expanduser(), f"${DB_ENV}")
    portable = _portable_dir()
    if portable.is_dir() and os.access(portable, os.W_OK):
        return DbLocation(portable / DB_FILENAME, f"portable folder {portable}")
    from platformdirs import user_data_dir

    return DbLocation(Path(user_data_dir("biometrix", appauthor=False)) / DB_FILENAME, "user data folder")
