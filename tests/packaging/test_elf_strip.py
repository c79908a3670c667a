"""packaging/elf_strip.py: stripped copies of real wheel libraries, judged by the dynamic loader itself.

The oracle is glibc's loader, asked in a fresh Python process (``ctypes.CDLL``): a copy elf_strip keeps must load,
and a copy it refuses must be one the loader refuses too. numpy's vendored libgfortran is the case that made the
check necessary: ``strip --strip-unneeded`` leaves its patchelf-added segments misaligned.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy
import PIL
import pytest

from .conftest import PACKAGING, load_script

pytestmark = pytest.mark.skipif(shutil.which("strip") is None, reason="binutils' strip is not installed")


@pytest.fixture(scope="module")
def elf_strip():  # type: ignore[no-untyped-def]
    return load_script(PACKAGING / "elf_strip.py")


def loads(path: Path) -> tuple[bool, str]:
    """Whether the dynamic loader maps ``path`` (and its dependencies), in a process of its own."""
    done = subprocess.run([sys.executable, "-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1])", str(path)],
                          capture_output=True, text=True)
    last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]  # a crash prints nothing
    return done.returncode == 0, last if done.returncode else ""


def vendored(tmp_path: Path) -> Path:
    """A copy of numpy's vendored libgfortran beside the libquadmath it needs (RPATH $ORIGIN)."""
    libs = Path(numpy.__file__).parent.parent / "numpy.libs"
    (gfortran,) = libs.glob("libgfortran-*.so*")
    (quadmath,) = libs.glob("libquadmath-*.so*")
    out = tmp_path / "numpy.libs"
    out.mkdir(parents=True)
    shutil.copy2(quadmath, out / quadmath.name)
    shutil.copy2(gfortran, out / gfortran.name)
    return out / gfortran.name


def test_a_library_strip_breaks_is_refused_as_the_loader_refuses_it(elf_strip, tmp_path: Path) -> None:
    lib = vendored(tmp_path)
    assert elf_strip.segments_loadable(lib) and loads(lib)[0]
    broken = lib.with_name("broken-" + lib.name)
    subprocess.run(["strip", "--strip-unneeded", "-o", str(broken), str(lib)], check=True)
    ok, why = loads(broken)
    assert not ok and "page-aligned" in why  # the loader's own verdict on a plain strip
    assert not elf_strip.segments_loadable(broken)

    out = tmp_path / "collected" / lib.name
    assert elf_strip.strip_copy(lib, out) is False  # the caller collects the library unchanged
    assert not out.exists() and not list(out.parent.glob("*.stripping"))


def test_a_library_strip_keeps_loadable_is_stripped_and_still_loads(elf_strip, tmp_path: Path) -> None:
    site = Path(PIL.__file__).parent.parent
    (imaging,) = (site / "PIL").glob("_imaging.cpython-*.so")
    (tmp_path / "pillow.libs").symlink_to(site / "pillow.libs")  # its RPATH: $ORIGIN/../pillow.libs
    out = tmp_path / "PIL" / imaging.name
    assert elf_strip.strip_copy(imaging, out) is True
    assert out.stat().st_size < imaging.stat().st_size - 100_000  # the symbol tables went
    assert elf_strip.segments_loadable(out)
    assert loads(out) == (True, "")
    assert out.stat().st_mode == imaging.stat().st_mode


def test_a_library_strip_barely_shrinks_is_collected_unchanged(elf_strip, tmp_path: Path) -> None:
    site = Path(PIL.__file__).parent.parent
    (imaging,) = (site / "PIL").glob("_imaging.cpython-*.so")
    once = tmp_path / "once" / imaging.name
    assert elf_strip.strip_copy(imaging, once) is True
    twice = tmp_path / "twice" / imaging.name  # stripping a stripped library saves (nearly) nothing
    assert elf_strip.strip_copy(once, twice) is False and not twice.exists()


def test_files_that_are_not_elf_are_left_alone_and_never_loadable(elf_strip, tmp_path: Path) -> None:
    src = tmp_path / "haarcascade.xml"
    src.write_text("<opencv_storage/>")
    assert not elf_strip.is_elf(src) and not elf_strip.segments_loadable(src)
    assert elf_strip.strip_copy(src, tmp_path / "out" / src.name) is False
    assert not (tmp_path / "out" / src.name).exists()
    truncated = tmp_path / "truncated.so"
    truncated.write_bytes(vendored(tmp_path).read_bytes()[:2000])  # the header, not the segments' bytes
    assert not elf_strip.segments_loadable(truncated) and not loads(truncated)[0]


def test_bundle_check_names_every_library_the_loader_would_refuse(packaging_path, elf_strip, tmp_path: Path) -> None:
    bundle_check = load_script(PACKAGING / "bundle_check.py")
    lib = vendored(tmp_path / "bundle")
    assert bundle_check.unloadable_libraries(tmp_path / "bundle") == (2, [])
    subprocess.run(["strip", "--strip-unneeded", str(lib)], check=True)
    assert bundle_check.unloadable_libraries(tmp_path / "bundle") == (2, [f"numpy.libs/{lib.name}"])
