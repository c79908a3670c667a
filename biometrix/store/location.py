"""Where the enrollment database lives: --db > $BIOMETRIX_DB > portable enrollment_db/ > user data dir."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from biometrix.core.errors import InvalidInput

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


def _file_path(text: str, source: str) -> Path:
    """``text`` as the path of a database file; InvalidInput when it ends with a separator (it names a folder,
    and SQLite would create a file named like that folder)."""
    if text.endswith(tuple(sep for sep in (os.sep, os.altsep, "/") if sep)):
        raise InvalidInput(f"{source} {text!r} ends with a path separator: it names a folder, not the database "
                           f"file; give the file, e.g. {text}{DB_FILENAME}")
    return Path(text).expanduser()


def resolve_db_path(explicit: str | os.PathLike[str] | None = None) -> DbLocation:
    """Pick the enrollment database, in this order: the explicit path (``--db``), ``$BIOMETRIX_DB``,
    ``enrollment_db/`` beside the executable when that folder exists and is writable, else the platform's
    user data folder."""
    if explicit is not None and str(explicit).strip():
        return DbLocation(_file_path(os.fspath(explicit), "--db"), "--db")
    env = os.environ.get(DB_ENV, "").strip()
    if env:
        return DbLocation(_file_path(env, f"${DB_ENV}"), f"${DB_ENV}")
    portable = _portable_dir()
    if portable.is_dir() and os.access(portable, os.W_OK):
        return DbLocation(portable / DB_FILENAME, f"portable folder {portable}")
    from platformdirs import user_data_dir

    return DbLocation(Path(user_data_dir("biometrix", appauthor=False)) / DB_FILENAME, "user data folder")
