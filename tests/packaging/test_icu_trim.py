"""Qt's ICU data trimmed to the kept locales: every kept item byte for byte, and Qt runs on the result."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PACKAGING, load_script

PYSIDE_ICU = sorted((Path(sys.prefix) / "lib").glob("python3*/site-packages/PySide6/Qt/lib/libicudata.so.*"))
needs_icu = pytest.mark.skipif(not PYSIDE_ICU or not shutil.which("gcc") or not shutil.which("readelf"),
                               reason="needs PySide6's ICU data library (Linux wheels), gcc and readelf")


@pytest.fixture(scope="module")
def icu_trim(packaging_path: Path):
    return load_script(PACKAGING / "icu_trim.py")


@pytest.mark.parametrize(("name", "kept"), [
    ("icudt73l/coll/de.res", False),          # another language's collation
    ("icudt73l/zone/zh_Hant_HK.res", False),
    ("icudt73l/sr_Latn.res", False),
    ("icudt73l/brkitr/cjdict.dict", False),   # a word-break dictionary
    ("icudt73l/coll/root.res", True),
    ("icudt73l/en_GB.res", True),             # a regional variant of a kept language
    ("icudt73l/unit/en_US_POSIX.res", True),
    ("icudt73l/coll/res_index.res", True),    # the locale list of a tree, not a locale
    ("icudt73l/curr/pool.res", True),         # keys shared by a tree
    ("icudt73l/supplementalData.res", True),  # not locale data
    ("icudt73l/uprops.icu", True),
    ("icudt73l/ibm-943_P15A-2003.cnv", True),
])
def test_locale_data_of_other_languages_goes_the_rest_stays(icu_trim, name: str, kept: bool) -> None:
    assert icu_trim.is_kept(name, ["en"]) is kept


def test_a_package_that_is_not_icu_common_data_is_refused(icu_trim) -> None:
    with pytest.raises(icu_trim.IcuDataError, match="ICU"):
        icu_trim.CommonData.parse(b"\x00" * 64)


@needs_icu
def test_trimmed_library_keeps_every_kept_item_byte_for_byte(icu_trim, tmp_path: Path) -> None:
    src = PYSIDE_ICU[0]
    dest = tmp_path / src.name
    kept, dropped = icu_trim.trim_library(src, dest, ["en"])
    original = icu_trim.CommonData.parse(icu_trim.read_data_symbol(src)[1])
    trimmed = icu_trim.CommonData.parse(icu_trim.read_data_symbol(dest)[1])
    expected = [(n, d) for n, d in original.items if icu_trim.is_kept(n, ["en"])]
    assert trimmed.items == expected and (kept, dropped) == (len(expected), len(original.items) - len(expected))
    names = {n.split("/", 1)[1] for n, _ in trimmed.items}
    assert {"root.res", "en.res", "en_GB.res", "coll/root.res", "res_index.res", "pool.res"} <= names
    assert "de.res" not in names and "coll/sv.res" not in names
    assert trimmed.header == original.header
    # every item starts 16-byte aligned from the package start, as ICU's own packages do
    blob = icu_trim.read_data_symbol(dest)[1]
    header_size = struct.unpack_from("<H", blob, 0)[0]
    offsets = [struct.unpack_from("<II", blob, header_size + 4 + 8 * i)[1] for i in range(len(trimmed.items))]
    assert all((header_size + off) % 16 == 0 for off in offsets)
    assert dest.stat().st_size < src.stat().st_size / 2


QT_PROBE = """
import sys
from PySide6.QtCore import QCollator, QCoreApplication, QLocale
app = QCoreApplication([])
loaded = [line.split()[-1] for line in open("/proc/self/maps") if "libicudata" in line][0]
print(loaded)
print(QLocale("de_DE").toUpper("straße"), QCollator(QLocale("en_US")).compare("apple", "Banana"),
      QCollator(QLocale("sv_SE")).compare("ä", "z"))
"""


@needs_icu
def test_qt_runs_on_the_trimmed_data_and_falls_back_to_root_for_dropped_locales(icu_trim, tmp_path: Path) -> None:
    """Case mapping and English collation are ICU's as before; Swedish collation (ä after z) is dropped data,
    so it falls back to root order (ä before z), which the untrimmed library does not."""
    lib = tmp_path / "lib"
    lib.mkdir()
    icu_trim.trim_library(PYSIDE_ICU[0], lib / PYSIDE_ICU[0].name, ["en"])

    def probe(env_lib: str | None) -> list[str]:
        env = {"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"}
        if env_lib:
            env["LD_LIBRARY_PATH"] = env_lib
        out = subprocess.run([sys.executable, "-c", QT_PROBE], env=env, capture_output=True, text=True, check=True)
        return out.stdout.split()

    trimmed, full = probe(str(lib)), probe(None)
    assert trimmed[0] == str(lib / PYSIDE_ICU[0].name) and full[0] == str(PYSIDE_ICU[0].resolve())
    assert trimmed[1:3] == full[1:3] == ["STRASSE", "-1"]
    assert (full[3], trimmed[3]) == ("1", "-1")
