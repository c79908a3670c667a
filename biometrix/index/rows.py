"""Rows of float32 vectors kept in memory in blocks: appended without copying the rows already there, removed a
unit (one template's references) at a time by moving the last unit into the hole, so the rows stay dense.

The first block grows (doubling) up to a full block, so a small gallery holds little; every later block is allocated
whole at once: ``np.empty`` of a block maps pages that take memory only when rows are written into them, so a
large gallery is loaded with no copy at all (growing every block copied each row about twice more, which was a
fifth of the start-up build at 100k subjects, bench/identify_scale.py)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from biometrix.core.errors import InvalidInput

#: The size of one block (the last one grows up to it); each block is searched in one call.
BLOCK_BYTES = 64 << 20
_FIRST_ROWS = 256  # rows of a new last block, at least
_GROWTH = 2  # how the first block grows while it is below a full block (copies stay linear in the rows added)


class Rows:
    """``width``-wide float32 rows in units of ``unit`` rows (one subject's K references); a unit never spans two
    blocks. Row ``r`` of the whole is row ``r % block_rows`` of block ``r // block_rows``."""

    def __init__(self, width: int, *, unit: int = 1, block_bytes: int | None = None) -> None:
        if width < 1 or unit < 1:
            raise InvalidInput(f"rows need a positive width and unit, got {width} and {unit}")
        self.width = width
        self.unit = unit
        size = BLOCK_BYTES if block_bytes is None else block_bytes
        self.block_rows = max(unit, size // (4 * width) // unit * unit)
        self._blocks: list[np.ndarray] = []
        self.n = 0
        self._high = 0  # the most rows the last block has held (its pages written so far)

    @property
    def units(self) -> int:
        return self.n // self.unit

    @property
    def nbytes(self) -> int:
        """Bytes held: the full blocks, the spare room of a grown first block, and of a later (whole) block the
        rows written so far (its pages not yet written take no memory)."""
        if len(self._blocks) < 2:
            return sum(b.nbytes for b in self._blocks)
        return sum(b.nbytes for b in self._blocks[:-1]) + self._high * self.width * 4

    def append(self, rows: np.ndarray, *, divisors: np.ndarray | None = None) -> None:
        """Add rows (a whole number of units) at the end; with ``divisors`` (one per row, shape (n, 1)), each row
        divided by its divisor as it is written (no copy of the rows in between)."""
        rows = np.asarray(rows, dtype=np.float32)
        if rows.ndim != 2 or rows.shape[1] != self.width or rows.shape[0] % self.unit:
            raise InvalidInput(f"rows to add must be (units x {self.unit}, {self.width}), got {rows.shape}")
        if divisors is not None and divisors.shape != (len(rows), 1):
            raise InvalidInput(f"divisors must be ({len(rows)}, 1), got {divisors.shape}")
        done = 0
        while done < len(rows):
            block, offset = self._room(len(rows) - done)
            take = min(len(rows) - done, len(block) - offset)
            if divisors is None:
                block[offset:offset + take] = rows[done:done + take]
            else:
                np.divide(rows[done:done + take], divisors[done:done + take], out=block[offset:offset + take])
            done += take
            self.n += take
            self._high = max(self._high, offset + take)

    def _room(self, wanted: int) -> tuple[np.ndarray, int]:
        """The block the next row goes to and its offset there, grown or added so that it has room."""
        offset = self.n % self.block_rows
        if self.n == len(self._blocks) * self.block_rows:  # every block is full (or there is none)
            size = min(self.block_rows, max(_FIRST_ROWS, wanted) + self.unit - 1) if not self._blocks \
                else self.block_rows
            self._blocks.append(np.empty((size // self.unit * self.unit, self.width), np.float32))
            self._high = 0
            return self._blocks[-1], 0
        last = self._blocks[-1]
        if offset == len(last):
            size = min(self.block_rows, max(offset + wanted, int(len(last) * _GROWTH)) + self.unit - 1)
            grown = np.empty((size // self.unit * self.unit, self.width), np.float32)
            grown[:offset] = last[:offset]
            self._blocks[-1] = last = grown
        return last, offset

    def unit_rows(self, u: int) -> np.ndarray:
        """A copy of unit ``u``'s rows."""
        start = u * self.unit
        block = self._blocks[start // self.block_rows]
        offset = start % self.block_rows
        return block[offset:offset + self.unit].copy()

    def remove_unit(self, u: int) -> int | None:
        """Remove unit ``u`` by moving the last unit into its place; returns the moved unit's old number (None
        when ``u`` was the last)."""
        last = self.units - 1
        if not 0 <= u <= last:
            raise InvalidInput(f"no unit {u} among {self.units}")
        if u != last:
            dst, src = u * self.unit, last * self.unit
            self._blocks[dst // self.block_rows][dst % self.block_rows:][:self.unit] = \
                self._blocks[src // self.block_rows][src % self.block_rows:][:self.unit]
        self.n -= self.unit
        if self.n == (len(self._blocks) - 1) * self.block_rows:
            self._blocks.pop()  # the last block emptied: give its memory back
            self._high = self.block_rows if self._blocks else 0
        return None if u == last else last

    def filled(self) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, the rows in use) of each block."""
        for i, block in enumerate(self._blocks):
            start = i * self.block_rows
            used = min(len(block), self.n - start)
            if used > 0:
                yield start, block[:used]
