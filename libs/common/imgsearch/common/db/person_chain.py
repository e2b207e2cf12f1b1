"""Person ids as callers give them: merged-away people resolve to their final target (following the
chain), and writers lock the final rows so that no merge can slip in between resolving and writing.

Lock order, kept by every writer so they never deadlock among themselves: people rows (ascending id),
then face rows (ascending id, one statement), then cluster rows. Deadlocks against the faces service's
bulk writes are still possible in principle; ``in_transaction`` retries those."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from psycopg import AsyncConnection, errors
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.errors import Conflict, NotFound

T = TypeVar("T")

_MAX_CHAIN = 64  # a merge chain longer than this is a cycle (never created) or corruption
_ATTEMPTS = 3
_ONCE_PER_PHOTO = "faces_person_once_per_image"

_RESOLVE = f"""
WITH RECURSIVE chain (start, id, merged_into, depth) AS (
    SELECT p.id, p.id, p.merged_into, 0 FROM people p WHERE p.id = ANY(%s)
    UNION ALL
    SELECT c.start, p.id, p.merged_into, c.depth + 1
    FROM chain c JOIN people p ON p.id = c.merged_into
    WHERE c.depth < {_MAX_CHAIN}
)
SELECT start, id FROM chain WHERE merged_into IS NULL
"""


async def resolve_people(conn: AsyncConnection[Any], person_ids: Iterable[int],
                         strict: bool = True) -> dict[int, int]:
    """Each given id → its final (not merged-away) person; an unknown id raises NotFound (strict) or is
    left out."""
    wanted = sorted(set(person_ids))
    if not wanted:
        return {}
    cur = await conn.execute(_RESOLVE, (wanted,))
    final = {int(start): int(target) for start, target in await cur.fetchall()}
    missing = [p for p in wanted if p not in final]
    if missing and strict:
        raise NotFound(f"no person {missing[0]}" if len(missing) == 1 else f"no people {missing}")
    return final


async def lock_people(conn: AsyncConnection[Any], person_ids: Iterable[int]) -> dict[int, int]:
    """Resolve and lock the final people FOR UPDATE (ascending id). A merge that commits between the two
    steps is seen under the lock, and we resolve again."""
    wanted = sorted(set(person_ids))
    for _ in range(_MAX_CHAIN):
        final = await resolve_people(conn, wanted)
        cur = await conn.execute(
            "SELECT id FROM people WHERE id = ANY(%s) AND merged_into IS NULL ORDER BY id FOR UPDATE",
            (sorted(set(final.values())),),
        )
        locked = {int(row[0]) for row in await cur.fetchall()}
        if locked == set(final.values()):
            return final
    raise Conflict(f"people {wanted} keep being merged; try again")


async def in_transaction(pool: AsyncConnectionPool,
                         work: Callable[[AsyncConnection[Any]], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction, again on a deadlock or serialization failure (its effects
    were rolled back). The once-per-photo index, the backstop of the rules, surfaces as Conflict."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            async with pool.connection() as conn, conn.transaction():
                return await work(conn)
        except (errors.DeadlockDetected, errors.SerializationFailure):
            if attempt == _ATTEMPTS:
                raise
            await asyncio.sleep(0.02 * attempt)
        except errors.UniqueViolation as exc:
            if exc.diag.constraint_name == _ONCE_PER_PHOTO:
                raise Conflict("that person is already in this photo") from exc
            raise
    raise AssertionError("unreachable")
