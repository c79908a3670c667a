"""Trim the ICU data library that Qt links (``libicudata.so.NN``) to the locales a deployment needs.

PySide6's Linux wheels ship Qt with ICU and ICU's whole data set: 32 MB, more than any other file of the bundle
but OpenCV, onnxruntime and the face model. biometrix uses ICU only through Qt (case mapping, normalisation,
text codecs, collation if a view sorts locale-aware), so the bundle keeps every item of the data set that is not
locale data, and the locale data of ``root`` and of the locales asked for (``en`` and its regional variants by
default: ``bundle_rules.ICU_LOCALES``). Everything else falls back to ``root``, as ICU does for any locale it has
no data for. This is what ICU's own data filters do for a custom build (Chromium, Android and Electron ship trimmed
ICU data); here it is done on the data set as shipped, so the ICU library and Qt are PySide6's own, unchanged.

The data library holds one symbol, ``icudtNN_dat``: an ICU "common data" package (a header, then a table of
contents of (name, offset) pairs sorted by name, then the items, each a complete ICU data file). Trimming
rebuilds that table over the kept items, byte for byte, and assembles a new library with the same soname and
symbol (``gcc``, ``.incbin``).

    python packaging/icu_trim.py SRC_LIBICUDATA DEST_LIBICUDATA [--locales en,de]
"""

from __future__ import annotations

import argparse
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

_ALIGN = 16
# a locale id as ICU names its resource bundles: language, then script/region/variant parts
_LOCALE = re.compile(r"^([a-z]{2,3}|root)(_[A-Za-z0-9]+)*$")
# files in the locale trees that are not a locale's data (res_index lists the locales; pool holds shared keys)
_NOT_LOCALES = frozenset({"res_index", "pool"})


class IcuDataError(ValueError):
    """The file is not an ICU common-data library this tool understands."""


@dataclass(frozen=True)
class CommonData:
    """An ICU common-data package: its header bytes and its items, as (name, bytes) sorted by name."""

    header: bytes
    items: list[tuple[str, bytes]]

    @classmethod
    def parse(cls, blob: bytes) -> CommonData:
        if len(blob) < 32:
            raise IcuDataError("too short for an ICU data header")
        header_size, magic1, magic2 = struct.unpack_from("<HBB", blob, 0)
        if (magic1, magic2) != (0xDA, 0x27) or blob[12:16] != b"CmnD" or blob[8] != 0:
            raise IcuDataError("not a little-endian ICU common-data package (CmnD)")
        toc = blob[header_size:]
        count = struct.unpack_from("<I", toc, 0)[0]
        entries = [struct.unpack_from("<II", toc, 4 + 8 * i) for i in range(count)]
        items = []
        for i, (name_at, data_at) in enumerate(entries):
            end = entries[i + 1][1] if i + 1 < count else len(toc)
            name = toc[name_at:toc.index(b"\0", name_at)].decode("ascii")
            items.append((name, toc[data_at:end]))
        return cls(header=blob[:header_size], items=items)

    def to_bytes(self) -> bytes:
        """The package with its table rebuilt: names after the table, each item 16-byte aligned (as pkgdata)."""
        items = sorted(self.items)
        names = b""
        name_at = []
        table_size = 4 + 8 * len(items)
        for name, _ in items:
            name_at.append(table_size + len(names))
            names += name.encode("ascii") + b"\0"
        body = bytearray(struct.pack("<I", len(items)) + b"\0" * (8 * len(items)) + names)
        for i, (_, data) in enumerate(items):
            body += b"\0" * (-(len(self.header) + len(body)) % _ALIGN)
            struct.pack_into("<II", body, 4 + 8 * i, name_at[i], len(body))
            body += data
        return self.header + bytes(body)


def is_kept(name: str, locales: Collection[str]) -> bool:
    """Whether an item stays: anything that is not locale data, and the data of root and of ``locales`` (each
    with its regional variants: "en" keeps en, en_GB, en_US_POSIX...). Break-iterator dictionaries (word breaks
    of Chinese, Japanese, Thai, Lao, Khmer and Burmese text) are dropped whatever the locales."""
    leaf = name.rsplit("/", 1)[-1]
    stem, _, ext = leaf.rpartition(".")
    if ext == "dict":
        return False
    if ext != "res" or stem in _NOT_LOCALES or not _LOCALE.match(stem):
        return True
    language = stem.split("_", 1)[0]
    return language == "root" or language in locales


def trim(blob: bytes, locales: Iterable[str]) -> tuple[bytes, int, int]:
    """(the trimmed package, items kept, items dropped)."""
    data = CommonData.parse(blob)
    languages = frozenset(locales)  # read once: ``locales`` may be a one-shot iterator
    keep = [(n, d) for n, d in data.items if is_kept(n, languages)]
    return CommonData(header=data.header, items=keep).to_bytes(), len(keep), len(data.items) - len(keep)


def read_data_symbol(library: Path) -> tuple[str, bytes]:
    """(symbol name, its bytes) of the ``icudtNN_dat`` object in an ICU data shared library (readelf)."""
    syms = subprocess.run(["readelf", "--dyn-syms", "-W", str(library)], check=True, capture_output=True,
                          text=True).stdout
    found = [line.split() for line in syms.splitlines() if re.search(r"\bicudt\d+_dat$", line)]
    if len(found) != 1:
        raise IcuDataError(f"{library}: no single icudtNN_dat symbol")
    value, size, symbol = int(found[0][1], 16), int(found[0][2], 0), found[0][-1]
    sections = subprocess.run(["readelf", "-S", "-W", str(library)], check=True, capture_output=True,
                              text=True).stdout
    raw = library.read_bytes()
    for line in sections.splitlines():
        m = re.search(r"\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m:
            addr, off, sec_size = (int(g, 16) for g in m.groups())
            if addr <= value < addr + sec_size:
                start = off + value - addr
                return symbol, raw[start:start + size]
    raise IcuDataError(f"{library}: {symbol} is in no section")


def build_library(symbol: str, blob: bytes, soname: str, dest: Path) -> None:
    """A shared library exporting ``symbol`` = ``blob`` (read-only, 16-byte aligned), with ``soname``."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "icudata.bin"
        data.write_bytes(blob)
        asm = Path(tmp) / "icudata.S"
        asm.write_text(f'.section .rodata\n.globl {symbol}\n.type {symbol}, @object\n.balign {_ALIGN}\n{symbol}:\n'
                       f'.incbin "{data}"\n.size {symbol}, .-{symbol}\n.section .note.GNU-stack,"",@progbits\n')
        subprocess.run(["gcc", "-shared", "-nostdlib", f"-Wl,-soname,{soname}", "-o", str(dest), str(asm)],
                       check=True)


def trim_library(src: Path, dest: Path, locales: Iterable[str]) -> tuple[int, int]:
    """Write the trimmed copy of the ICU data library ``src`` to ``dest``; (items kept, items dropped)."""
    missing = [tool for tool in ("readelf", "gcc") if shutil.which(tool) is None]
    if missing:
        raise IcuDataError(f"trimming Qt's ICU data needs {' and '.join(missing)} (apt-get install binutils gcc)")
    symbol, blob = read_data_symbol(src)
    trimmed, kept, dropped = trim(blob, locales)
    build_library(symbol, trimmed, src.name, dest)
    return kept, dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--locales", default="en", help="comma-separated languages kept besides root (default en)")
    args = parser.parse_args(argv)
    kept, dropped = trim_library(args.src, args.dest, args.locales.split(","))
    print(f"{args.dest}: {kept} items kept, {dropped} dropped, {args.src.stat().st_size / 1e6:.1f} MB -> "
          f"{args.dest.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
