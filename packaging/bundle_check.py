"""Check a built bundle: no torch (files or frozen modules), the files the app reads at run time, the size target.

    python packaging/bundle_check.py dist/biometrix [--max-mb 350] [--variant cpu|gpu]

Run with the build environment's Python (packaging/build.sh does): reading the frozen module list needs
PyInstaller. Prints one line per check and the bundle's size; exits 1 when a check fails. The size target is a
check for the CPU bundle (its build environment is pinned by packaging/constraints.txt, so its size only changes
when a pin or the app does); the GPU bundle's size is reported (onnxruntime-gpu alone is over 300 MB).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from bundle_rules import FORBIDDEN_FILES, FORBIDDEN_MODULES
from elf_strip import is_elf, segments_loadable

from biometrix.core.types import Modality
from biometrix.runtime.model_card import PREFERRED_MODELS

#: Files the app opens at run time, relative to the bundle's _internal folder (sys._MEIPASS).
REQUIRED = (
    f"assets/models/{PREFERRED_MODELS[Modality.SIGNATURE]}.json",
    f"assets/models/{PREFERRED_MODELS[Modality.SIGNATURE]}.onnx",
    f"assets/models/{PREFERRED_MODELS[Modality.FACE]}.onnx",
    "assets/models/face-detector-mtcnn-v1/detector.json",
    "assets/models/face-detector-mtcnn-v1/pnet.onnx",
    "cv2/data/haarcascade_frontalface_default.xml",
    "cv2/data/haarcascade_eye.xml",
    "PySide6/Qt/plugins/platforms/libqoffscreen.so",
    "PySide6/Qt/plugins/platforms/libqxcb.so",
)
GPU_REQUIRED = ("onnxruntime/capi/libonnxruntime_providers_cuda.so",)


def bundle_size(bundle: Path) -> int:
    """Bytes of every regular file under ``bundle`` (links not followed), as ``du -sb --apparent-size`` counts."""
    return sum(p.lstat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())


def largest_parts(internal: Path, *, most: int = 10) -> list[tuple[str, int]]:
    """The biggest entries of the bundle's _internal folder (a folder counts with everything in it), largest first."""
    sizes = [(p.name, bundle_size(p) if p.is_dir() else p.lstat().st_size) for p in internal.iterdir()
             if not p.is_symlink()]
    return sorted(sizes, key=lambda item: -item[1])[:most]


def forbidden_files(bundle: Path) -> list[str]:
    """Paths under ``bundle`` whose name says torch, matplotlib, onnx (the package, not onnxruntime)..."""
    return sorted(rel for p in bundle.rglob("*") if FORBIDDEN_FILES.search(rel := p.relative_to(bundle).as_posix()))


def forbidden_modules(modules: Iterable[str]) -> list[str]:
    return sorted(m for m in modules if FORBIDDEN_MODULES.match(m))


def missing_files(internal: Path, *, variant: str) -> list[str]:
    wanted = REQUIRED + (GPU_REQUIRED if variant == "gpu" else ())
    return [rel for rel in wanted if not (internal / rel).is_file()]


def unloadable_libraries(bundle: Path) -> tuple[int, list[str]]:
    """How many ELF files the bundle holds, and those whose loadable segments the dynamic loader would refuse (a
    library strip broke: packaging/elf_strip.py)."""
    elf = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p)]
    return len(elf), sorted(p.relative_to(bundle).as_posix() for p in elf if not segments_loadable(p))


def frozen_modules(executable: Path) -> list[str]:
    """Every entry of the executable's archive and of the PYZ inside it: the frozen modules (needs PyInstaller)."""
    from PyInstaller.archive.readers import pkg_archive_contents

    return list(pkg_archive_contents(str(executable), recursive=True))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bundle", type=Path, help="the bundle folder (dist/biometrix)")
    p.add_argument("--max-mb", type=float, default=350.0, help="size target in MB (10^6 bytes) of the CPU bundle")
    p.add_argument("--variant", choices=("cpu", "gpu"), default="cpu")
    args = p.parse_args(argv)
    bundle: Path = args.bundle
    executable, internal = bundle / "biometrix", bundle / "_internal"
    failed = 0

    def report(ok: bool, what: str) -> None:
        nonlocal failed
        failed += not ok
        print(f"{'ok' if ok else 'FAILED':6} bundle: {what}")

    report(executable.is_file(), f"executable {executable}")
    modules = frozen_modules(executable)
    bad = forbidden_modules(modules)
    report(not bad, f"{len(modules)} frozen modules, none of torch/training/matplotlib/sklearn/onnx/pytest/tkinter"
           if not bad else f"forbidden frozen modules: {', '.join(bad[:20])}")
    bad = forbidden_files(bundle)
    report(not bad, "no torch/matplotlib/sklearn/onnx/dlib/tk file" if not bad else f"forbidden files: {bad[:20]}")
    lost = missing_files(internal, variant=args.variant)
    wanted = len(REQUIRED) + (len(GPU_REQUIRED) if args.variant == "gpu" else 0)
    report(not lost, f"{wanted} run-time files present (models, cascades, Qt platforms)" if not lost
           else f"missing: {', '.join(lost)}")
    n_elf, broken = unloadable_libraries(bundle)
    report(not broken, f"{n_elf} executables and libraries, every loadable segment mappable" if not broken
           else f"the loader would refuse: {', '.join(broken[:20])}")
    size = bundle_size(bundle)
    mb, mib = size / 1e6, size / 2**20
    verdict = "met" if mb <= args.max_mb else "MISSED"
    parts = ", ".join(f"{name} {n / 1e6:.1f}" for name, n in largest_parts(internal))
    print(f"largest parts (MB): {parts}")
    if args.variant == "cpu":
        report(mb <= args.max_mb, f"size {mb:.1f} MB, target <= {args.max_mb:g} MB")
    print(f"bundle size: {mb:.1f} MB ({mib:.1f} MiB) in {bundle}; target <= {args.max_mb:g} MB {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
