"""Score files: four whitespace-separated columns ``claimed_id real_id probe_id distance`` (bob's order)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from biometrix.core.errors import InvalidInput


@dataclass(frozen=True)
class ScoreRow:
    """One comparison: the claimed subject, the probe's real subject, the probe, the distance."""

    claimed_id: str
    real_id: str
    probe_id: str
    distance: float

    @property
    def genuine(self) -> bool:
        return self.claimed_id == self.real_id


def write_scores(path: Path, rows: Iterable[ScoreRow]) -> int:
    """Write rows; returns how many. Ids must not contain whitespace."""
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            for v in (r.claimed_id, r.real_id, r.probe_id):
                if not v or any(c.isspace() for c in v):
                    raise InvalidInput(f"score file ids must be non-empty and without spaces: {v!r}")
            f.write(f"{r.claimed_id} {r.real_id} {r.probe_id} {float(r.distance)!r}\n")  # exact: repr round-trips
            n += 1
    return n


def read_scores(path: Path) -> list[ScoreRow]:
    """Read a four-column score file; a malformed line is an error naming the line."""
    rows = []
    for no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        try:
            if len(parts) != 4:
                raise ValueError(f"{len(parts)} columns")
            rows.append(ScoreRow(parts[0], parts[1], parts[2], float(parts[3])))
        except ValueError as err:
            raise InvalidInput(f"{path}:{no}: not a 4-column score line ({err})") from None
    return rows
