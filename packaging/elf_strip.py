"""Strip the symbol tables from a bundle's shared libraries, keeping only copies the dynamic loader still maps.

A Linux bundle is mostly shared libraries from wheels, and many carry symbol tables the loader never reads
(``strip --strip-unneeded`` takes 9 MB or more off the biometrix bundle; Debian's ``dh_strip`` does the same to
every package). Wheels' libraries have been edited by ``patchelf`` (auditwheel renames their dependencies and sets
their RPATH), and ``strip`` can write such a file with a loadable segment whose file offset and address no longer
agree modulo the page size: the loader then refuses it ("ELF load command address/offset not page-aligned";
numpy's vendored OpenBLAS does this). So every stripped copy is checked as the loader checks it, and a library
whose stripped copy would not load is collected unchanged.

    python packaging/elf_strip.py LIBRARY...      (prints what stripping would save and whether each copy loads)
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

_ELF_MAGIC = b"\x7fELF"
_PT_LOAD = 1
_PAGE = 4096  # the smallest page size of x86_64 and aarch64 Linux; the loader checks against the running one
#: A stripped copy that saves less is not worth a changed file (onnxruntime's CUDA provider, 768 MB, loses 344 bytes
#: and cannot be tried without CUDA): the library is collected as it is.
MIN_SAVING = 16 * 1024


def is_elf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == _ELF_MAGIC


def segments_loadable(path: Path) -> bool:
    """Whether every PT_LOAD segment of a 64-bit little-endian ELF file is one the loader can map: its file offset
    and virtual address congruent modulo the page size (what glibc checks) and modulo its own alignment (what the
    ELF specification asks), and its bytes inside the file. Reads the headers only."""
    size = Path(path).stat().st_size
    with open(path, "rb") as f:
        header = f.read(64)
        if len(header) < 64 or header[:4] != _ELF_MAGIC or header[4] != 2 or header[5] != 1:  # ELFCLASS64, LSB
            return False
        phoff, = struct.unpack_from("<Q", header, 32)
        phentsize, phnum = struct.unpack_from("<HH", header, 54)
        if phentsize < 56 or phoff + phnum * phentsize > size:
            return False
        f.seek(phoff)
        table = f.read(phnum * phentsize)
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz, _, p_align = struct.unpack_from("<IIQQQQQQ", table, i * phentsize)
        if p_type != _PT_LOAD:
            continue
        if (p_vaddr - p_offset) % _PAGE or (p_align > 1 and (p_vaddr - p_offset) % p_align):
            return False
        if p_offset + p_filesz > size:
            return False
    return True


def strip_copy(src: Path, out: Path, *, strip: str | None = None) -> bool:
    """Write ``src`` to ``out`` with its unneeded symbols stripped, when that copy is still loadable and at least
    ``MIN_SAVING`` bytes smaller; return whether it was written. Otherwise (and for a non-ELF file) nothing is
    written: the caller collects ``src`` itself."""
    src, out = Path(src), Path(out)
    strip = strip or shutil.which("strip")
    if strip is None or not is_elf(src):
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    trial = out.with_name(out.name + ".stripping")
    done = subprocess.run([strip, "--strip-unneeded", "-o", str(trial), str(src)], capture_output=True)
    if (done.returncode == 0 and segments_loadable(trial)
            and trial.stat().st_size <= src.stat().st_size - MIN_SAVING):
        shutil.copymode(src, trial)
        trial.replace(out)
        return True
    trial.unlink(missing_ok=True)
    return False


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[-1].strip())
        return 0 if argv else 2
    with tempfile.TemporaryDirectory() as tmp:
        for name in argv:
            src = Path(name)
            out = Path(tmp) / src.name
            stripped = strip_copy(src, out)
            saved = src.stat().st_size - out.stat().st_size if stripped else 0
            print(f"{src}: {'stripped' if stripped else 'kept as it is'}, {saved / 1e6:.2f} MB saved")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
