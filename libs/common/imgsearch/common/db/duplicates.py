"""Duplicates in PostgreSQL: perceptual hashes and near-duplicate pairs (written at ingest), and the groups
the API lists (read by the gateway).

Exact duplicates are one image (content hash) with several ingested paths. Near duplicates are pairs of
images whose perceptual hashes are within the threshold (imgsearch.common.perceptual.distance); a group
is a connected component of those pairs, formed when listed.

Candidates are found through the four 16-bit bands of the hashes (indexed): two hashes within 3 bits
always share a band, farther ones usually do. Each new image's hashes are committed before it looks for
candidates, so of two near duplicates ingested at the same moment, the later query sees the other.

Candidates are capped (MAX_CANDIDATES per lookup): near-identical pictures — blank scans, black frames —
share every band, and without a cap each one would compare with, and pair with, all the others before it
(quadratic in pairs and time). The cap keeps the candidates nearest by the bit count of the hashes that
matched a band (for pairs within 3 bits, the exact distance), so the closest images still pair; a crowd
of identical pictures still forms one group, each linked to up to MAX_CANDIDATES of the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool

from imgsearch.common.perceptual import NO_MATCH, PerceptualHashes, bands, distance, to_signed, to_unsigned

EXACT, NEAR = "exact", "near"
MAX_CANDIDATES = 200  # images compared per lookup, nearest first (see above)

# A matched row's cheap distance: its hash to the new full hash, and a full hash also to the new windows.
_CANDIDATES = """
WITH candidates AS (
    SELECT image_id FROM image_hashes
    WHERE image_id <> %(id)s AND (
        band0 = %(f0)s OR band1 = %(f1)s OR band2 = %(f2)s OR band3 = %(f3)s
        OR (slot = 0 AND (band0 = ANY(%(w0)s) OR band1 = ANY(%(w1)s) OR band2 = ANY(%(w2)s)
                          OR band3 = ANY(%(w3)s))))
    GROUP BY image_id
    ORDER BY min(LEAST(
        bit_count((hash # %(full)s)::bit(64)),
        CASE WHEN slot = 0 THEN (SELECT min(bit_count((hash # w)::bit(64)))
                                 FROM unnest(%(windows)s::bigint[]) AS w) END)), image_id
    LIMIT %(cap)s
)
SELECT h.image_id, h.slot, h.hash FROM image_hashes h JOIN candidates c USING (image_id)
"""

_EXACT_PAGE = """
SELECT image_id, array_agg(path ORDER BY path) FROM files
WHERE status = 'ingested' AND image_id IS NOT NULL
GROUP BY image_id HAVING count(*) > 1
ORDER BY count(*) DESC, image_id LIMIT %s OFFSET %s
"""

_EXACT_TOTAL = """
SELECT count(*) FROM (SELECT 1 FROM files WHERE status = 'ingested' AND image_id IS NOT NULL
                      GROUP BY image_id HAVING count(*) > 1) AS groups
"""

_MEMBERS = """
SELECT i.id, COALESCE(i.width, 0) * COALESCE(i.height, 0), i.size_bytes,
       COALESCE(array_agg(f.path ORDER BY f.path) FILTER (WHERE f.path IS NOT NULL), '{}')
FROM images i LEFT JOIN files f ON f.image_id = i.id AND f.status = 'ingested'
WHERE i.id = ANY(%s) GROUP BY i.id
"""


@dataclass(frozen=True)
class DuplicateImage:
    image_id: str
    paths: list[str]
    distance: int  # to the group's first image (0 for exact duplicates)


@dataclass(frozen=True)
class DuplicateGroup:
    kind: str  # exact | near
    images: list[DuplicateImage]


@dataclass(frozen=True)
class DuplicatePage:
    groups: list[DuplicateGroup]
    total: int


class DuplicatesRepository:
    def __init__(self, pool: AsyncConnectionPool, max_candidates: int = MAX_CANDIDATES) -> None:
        self.pool, self.max_candidates = pool, max_candidates

    async def record_hashes(self, image_id: str, hashes: PerceptualHashes, threshold: int) -> int:
        """Store an image's hashes, then its near-duplicate pairs with earlier images; returns how many."""
        slots = hashes.slots()
        async with self.pool.connection() as conn, conn.transaction():
            async with conn.cursor() as cur:  # an upsert: two paths of one image may be stored at once
                await cur.executemany(
                    "INSERT INTO image_hashes (image_id, slot, hash) VALUES (%s, %s, %s)"
                    " ON CONFLICT (image_id, slot) DO UPDATE SET hash = EXCLUDED.hash",
                    [(image_id, slot, to_signed(value)) for slot, value in slots],
                )
            await conn.execute("DELETE FROM image_hashes WHERE image_id = %s AND slot >= %s",
                               (image_id, len(slots)))
        window_bands = [bands(w) for w in hashes.windows]
        params: dict[str, object] = {
            "id": image_id, "cap": self.max_candidates, "full": to_signed(hashes.full),
            "windows": [to_signed(w) for w in hashes.windows],
        }
        for i, band in enumerate(bands(hashes.full)):
            params[f"f{i}"] = band
            params[f"w{i}"] = [b[i] for b in window_bands]
        async with self.pool.connection() as conn:
            cur = await conn.execute(_CANDIDATES, params)
            others = _hashes_by_image(await cur.fetchall())
            pairs = []
            for other, other_hashes in others.items():
                found = distance(hashes, other_hashes)
                if found <= threshold:
                    a, b = sorted((image_id, other))
                    pairs.append((a, b, found))
            if pairs:
                pairs.sort()  # one lock order for every writer: two images recorded at once cannot deadlock
                async with conn.cursor() as cur:
                    await cur.executemany(
                        "INSERT INTO near_duplicates (a, b, distance) VALUES (%s, %s, %s)"
                        " ON CONFLICT (a, b) DO UPDATE SET distance = EXCLUDED.distance",
                        pairs,
                    )
        return len(pairs)

    async def exact_groups(self, limit: int, offset: int) -> DuplicatePage:
        """Images with several ingested paths, most copies first."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(_EXACT_PAGE, (limit, offset))
            rows = await cur.fetchall()
            total_cur = await conn.execute(_EXACT_TOTAL)
            total_row = await total_cur.fetchone()
        groups = [DuplicateGroup(EXACT, [DuplicateImage(str(i), list(paths), 0)]) for i, paths in rows]
        return DuplicatePage(groups, int(total_row[0]) if total_row else 0)

    async def near_groups(self, limit: int, offset: int, threshold: int) -> DuplicatePage:
        """Connected components of the pairs within threshold, largest first; in a group the image with
        the most pixels (then bytes) comes first and every distance is to it."""
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT a, b FROM near_duplicates WHERE distance <= %s", (threshold,))
            components = connected_groups(await cur.fetchall())
            page = components[offset:offset + limit]
            ids = [image_id for group in page for image_id in group]
            cur = await conn.execute(_MEMBERS, (ids,))
            members = {str(i): (int(pixels), int(size), list(paths)) for i, pixels, size, paths
                       in await cur.fetchall()}
            cur = await conn.execute(
                "SELECT image_id, slot, hash FROM image_hashes WHERE image_id = ANY(%s)", (ids,)
            )
            hashes = _hashes_by_image(await cur.fetchall())
        groups = []
        for group in page:
            present = sorted((i for i in group if i in members),
                             key=lambda i: (-members[i][0], -members[i][1], i))
            if len(present) < 2:  # deleted since the pairs were read
                continue
            first = hashes.get(present[0])
            images = [
                DuplicateImage(i, members[i][2], _distance(first, hashes.get(i)) if n else 0)
                for n, i in enumerate(present)
            ]
            groups.append(DuplicateGroup(NEAR, images))
        return DuplicatePage(groups, len(components))


def connected_groups(pairs: Iterable[tuple[Any, ...]]) -> list[list[str]]:
    """Connected components (union-find) of the pairs, largest first, then by smallest id; ids sorted."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(str(a)), root(str(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for x in parent:
        groups.setdefault(root(x), []).append(x)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g[0]))


def _hashes_by_image(rows: Iterable[tuple[Any, ...]]) -> dict[str, PerceptualHashes]:
    slots: dict[str, list[tuple[int, int]]] = {}
    for image_id, slot, value in rows:
        slots.setdefault(str(image_id), []).append((int(slot), to_unsigned(int(value))))
    found = {i: PerceptualHashes.from_slots(s) for i, s in slots.items()}
    return {i: h for i, h in found.items() if h is not None}


def _distance(a: PerceptualHashes | None, b: PerceptualHashes | None) -> int:
    return distance(a, b) if a is not None and b is not None else NO_MATCH

