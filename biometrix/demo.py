"""``biometrix demo``: the main job end to end on real data: enroll a signer, verify a genuine and a forgery."""

from __future__ import annotations

import tempfile
import zipfile
from functools import partial
from pathlib import Path

from biometrix.core.distances import format_distance
from biometrix.core.errors import InvalidInput
from biometrix.service import Biometrix

CEDAR_ZIP = "cedar/cedar_signatures_half.zip"


def run_demo(*, data_root: Path, db: str | None, signer: int = 46, service: Biometrix | None = None) -> list[str]:
    """Enroll CEDAR signer ``signer`` (genuine 1-5, a held-out signer), verify genuine 6 and skilled
    forgery 1, identify genuine 7; returns the lines to print. The scans are read from ``data_root``
    into a temporary folder that is removed afterwards. ``service`` (opened on ``db``, logged in) is closed
    at the end; by default one is opened on ``db``."""
    archive = data_root / CEDAR_ZIP
    if not archive.is_file():
        raise InvalidInput(f"the demo reads CEDAR signatures from {archive}, which is missing")
    lines = []
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(archive) as zf:
        def extract(kind: str, n: int) -> Path:
            name = f"CEDAR_half/full_{'org' if kind == 'original' else 'forg'}/{kind}_{signer}_{n}.png"
            path = Path(tmp) / Path(name).name
            path.write_bytes(zf.read(name))
            return path

        refs = [extract("original", n) for n in range(1, 6)]
        subject = f"cedar-{signer}"
        with service if service is not None else Biometrix(db) as bx:
            lines.append(f"database: {bx.location.shown} ({bx.location.reason})")
            (tpl,) = bx.enroll(subject, signatures=refs, display_name=f"CEDAR signer {signer}", replace=True)
            lines.append(f"enrolled {subject}: {tpl.n_references} reference signatures, model {tpl.model_id}")
            thr = bx.threshold(capture="scan").value  # the demo's signatures are scans
            fmt = partial(format_distance, scale=thr)
            for label, path in (("genuine signature 6", extract("original", 6)),
                                ("skilled forgery 1", extract("forgeries", 1))):
                d = bx.verify(subject, signature=path)
                lines.append(f"verify {label:20s} -> {d.label:6s} distance {fmt(d.distance)} "
                             f"threshold {fmt(d.threshold.value)}")
            top = bx.identify(signature=extract("original", 7), top_k=3)
            lines.append("identify genuine signature 7 -> " + ", ".join(
                f"#{c.rank} {c.subject_id} ({fmt(c.distance)})" for c in top))
            lines.append(f"audit log: {bx.info().n_audit} records")
    return lines
