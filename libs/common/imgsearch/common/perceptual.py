"""Perceptual hashes as stored and compared (no pixels here: imgsearch.common.phash computes them).

An image has a 64-bit full hash and up to five hashes of square windows along its long side. Two images
are near duplicates when the full hash of one is within a few bits of the full hash or any window hash of
the other, either way: re-encodings keep the full hash, a square crop keeps one of the windows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

FULL_SLOT = 0  # slots 1..n hold the windows
NO_MATCH = 64  # more than any distance of two 64-bit hashes
BANDS = 4  # 16-bit bands: two hashes within 3 bits share at least one band (pigeonhole)


@dataclass(frozen=True)
class PerceptualHashes:
    full: int  # unsigned 64-bit
    windows: tuple[int, ...] = ()

    def slots(self) -> list[tuple[int, int]]:
        """(slot, hash) pairs: the full hash in slot 0, the windows in 1..n."""
        return [(FULL_SLOT, self.full), *enumerate(self.windows, start=1)]

    @classmethod
    def from_slots(cls, slots: Iterable[tuple[int, int]]) -> PerceptualHashes | None:
        """From stored (slot, hash) rows; None without a full hash."""
        ordered = sorted(slots)
        if not ordered or ordered[0][0] != FULL_SLOT:
            return None
        return cls(ordered[0][1], tuple(h for _, h in ordered[1:]))


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def distance(a: PerceptualHashes, b: PerceptualHashes) -> int:
    """The smallest distance of either full hash to the other's full or window hashes."""
    return min(
        min(hamming(a.full, h) for h in (b.full, *b.windows)),
        min((hamming(b.full, h) for h in a.windows), default=NO_MATCH),
    )


def bands(value: int) -> tuple[int, ...]:
    """The four 16-bit bands of a hash, most significant first."""
    return tuple((value >> (16 * (BANDS - 1 - i))) & 0xFFFF for i in range(BANDS))


def to_signed(value: int) -> int:
    """An unsigned 64-bit hash as PostgreSQL's bigint holds it."""
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned(value: int) -> int:
    return value & 0xFFFFFFFFFFFFFFFF
