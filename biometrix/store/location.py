"""Where the enrollment database lives: --db > $BIOMETRIX_DB > portable enrollment_db/ > user data dir; a file path,
or a ``postgresql://`` URL (the bank-wide server's database), which is never taken for a file."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from biometrix.core.errors import InvalidInput, StoreError

DB_ENV = "BIOMETRIX_DB"
DB_FILENAME = "biometrix.db"
PORTABLE_DIRNAME = "enrollment_db"


@dataclass(frozen=True)
class DbLocation:
    """The database (a SQLite file, or a PostgreSQL URL) and why it was chosen (shown to the user)."""

    file: Path | None
    reason: str
    url: str | None = None

    @property
    def path(self) -> Path:
        """The SQLite file; StoreError for a PostgreSQL database (it has no file here)."""
        if self.file is None:
            raise StoreError(f"the enrollment database is PostgreSQL ({self.shown}), not a file: this needs a "
                             "SQLite database file")
        return self.file

    @property
    def target(self) -> str | Path:
        """What ``store.open_store`` takes: the URL or the file."""
        return self.url if self.url is not None else self.path

    @property
    def shown(self) -> str:
        """The database as shown to the user (a URL without its password)."""
        if self.url is not None:
            from biometrix.store.postgres import redacted

            return redacted(self.url)
        return str(self.path)

    def exists(self) -> bool:
        """Whether the database is there already (a PostgreSQL database is made by its setup, never by a command)."""
        return self.url is not None or self.path.exists()


def _is_url(text: str) -> bool:
    return text.strip().lower().startswith(("postgresql://", "postgres://"))


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
        if _is_url(str(explicit)):
            return DbLocation(None, "--db", url=str(explicit).strip())
        return DbLocation(_file_path(os.fspath(explicit), "--db"), "--db")
    env = os.environ.get(DB_ENV, "").strip()
    if env:
        if _is_url(env):
            return DbLocation(None, f"${DB_ENV}", url=env)
        return DbLocation(_file_path(env, f"${DB_ENV}"), f"${DB_ENV}")
    portable = _portable_dir()
    if portable.is_dir() and os.access(portable, os.W_OK):
        return DbLocation(portable / DB_FILENAME, f"portable folder {portable}")
    from platformdirs import user_data_dir

    return DbLocation(Path(user_data_dir("biometrix", appauthor=False)) / DB_FILENAME, "user data folder")
