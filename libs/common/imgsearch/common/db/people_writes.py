"""The write half of PeopleStore. Each operation is one transaction (``in_transaction``) that locks the
people it gives faces to before the faces themselves, so two writers can never both put one person in
one photo: the second waits, then sees the first's assignment."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.face_rows import UNASSIGN, face_uuid, refresh_clusters, scalar
from imgsearch.common.db.people_reads import person_records
from imgsearch.common.db.people_records import PeopleChange, PersonRecord
from imgsearch.common.db.person_chain import in_transaction, lock_people
from imgsearch.common.errors import Conflict, InvalidInput, NotFound

MAX_NAME = 200

# One face per photo (the best), never a face rejected for the person, never a photo that has the person
# already. The person is locked, so nobody can add them meanwhile.
_LABEL_CLUSTER = """
WITH candidates AS (
    SELECT f.id, row_number() OVER (PARTITION BY f.image_id ORDER BY f.quality DESC, f.id) AS rank
    FROM faces f
    WHERE f.cluster_id = %(c)s AND f.person_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM face_rejections r WHERE r.face_id = f.id AND r.person_id = %(p)s)
      AND NOT EXISTS (SELECT 1 FROM faces g WHERE g.image_id = f.image_id AND g.person_id = %(p)s)
)
UPDATE faces f SET person_id = %(p)s, assigned_by = 'user', confidence = NULL, assigned_at = now(),
    cluster_id = NULL, cluster_excluded = false, prototype = false, pinned = false, updated_at = now()
FROM candidates c WHERE f.id = c.id AND c.rank = 1
RETURNING f.id::text
"""


def valid_name(name: str) -> str:
    clean = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(clean) <= MAX_NAME:
        raise InvalidInput(f"a person's name is 1..{MAX_NAME} characters")
    return clean


@dataclass(frozen=True)
class _Assigned:
    face_ids: tuple[str, ...]  # faces given to the person, then faces of the person unassigned for them
    previous: tuple[int, ...]  # people the faces were taken from


def _unique(ids: Sequence[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(ids))


async def _new_person(conn: AsyncConnection[Any], name: str) -> int:
    return int(await scalar(conn, "INSERT INTO people (name) VALUES (%s) RETURNING id", (name,)))


async def _locked_face(conn: AsyncConnection[Any], face_id: str) -> tuple[uuid.UUID, int | None, int | None]:
    """Lock one face; returns its id, person and cluster."""
    fid = face_uuid(face_id)
    cur = await conn.execute("SELECT person_id, cluster_id FROM faces WHERE id = %s FOR UPDATE", (fid,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no face {face_id!r}")
    return fid, row[0], row[1]


async def assign_by_user(conn: AsyncConnection[Any], person_id: int,
                         face_ids: Sequence[uuid.UUID]) -> _Assigned:
    """Give these faces to a locked, final person as the user's choice: it lifts their rejections of the
    person and unassigns any other face of the person in the same photos (the user's assignment wins)."""
    cur = await conn.execute(
        "SELECT id, image_id, person_id, assigned_by, cluster_id FROM faces"
        " WHERE image_id IN (SELECT image_id FROM faces WHERE id = ANY(%s)) ORDER BY id FOR UPDATE",
        (list(face_ids),),
    )
    rows = {row[0]: row for row in await cur.fetchall()}
    missing = [str(f) for f in face_ids if f not in rows]
    if missing:
        raise NotFound(f"no face {missing[0]!r}")
    images = [rows[f][1] for f in face_ids]
    if len(set(images)) != len(images):
        raise InvalidInput("a person appears at most once per photo: two of these faces share one")
    chosen = set(face_ids)
    losers = [fid for fid, row in rows.items() if row[2] == person_id and fid not in chosen]
    changing = [f for f in face_ids if (rows[f][2], rows[f][3]) != (person_id, "user")]
    if losers:
        await conn.execute(f"UPDATE faces SET {UNASSIGN} WHERE id = ANY(%s)", (losers,))
    await conn.execute("DELETE FROM face_rejections WHERE person_id = %s AND face_id = ANY(%s)",
                       (person_id, list(face_ids)))
    if changing:
        # A face that changes person loses its pin and prototype flag: they were chosen for the old one.
        await conn.execute(
            "UPDATE faces SET prototype = prototype AND person_id IS NOT DISTINCT FROM %(p)s,"
            " pinned = pinned AND person_id IS NOT DISTINCT FROM %(p)s, person_id = %(p)s,"
            " assigned_by = 'user', confidence = NULL, assigned_at = now(), cluster_id = NULL,"
            " cluster_excluded = false, updated_at = now() WHERE id = ANY(%(ids)s)",
            {"p": person_id, "ids": changing},
        )
        await refresh_clusters(conn, [rows[f][4] for f in changing])
    previous = [rows[f][2] for f in changing if rows[f][2] not in (None, person_id)]
    return _Assigned(tuple(str(f) for f in (*face_ids, *losers)), _unique(previous))


class PeopleWrites:
    pool: AsyncConnectionPool

    async def create_person(self, name: str,
                            face_ids: Sequence[str] = ()) -> tuple[PersonRecord, PeopleChange]:
        clean = valid_name(name)
        faces = list(dict.fromkeys(face_uuid(f) for f in face_ids))

        async def work(conn: AsyncConnection[Any]) -> tuple[PersonRecord, PeopleChange]:
            person_id = await _new_person(conn, clean)
            done = await assign_by_user(conn, person_id, faces) if faces else _Assigned((), ())
            record = (await person_records(conn, [person_id]))[0]
            return record, PeopleChange("labeled", (person_id, *done.previous), done.face_ids)

        return await in_transaction(self.pool, work)

    async def label_cluster(self, cluster_id: int, name: str | None = None,
                            person_id: int | None = None) -> tuple[PersonRecord, PeopleChange]:
        if (name is None) == (person_id is None):
            raise InvalidInput("label a cluster with either a new name or an existing person, not both")
        clean = valid_name(name) if name is not None else None

        async def work(conn: AsyncConnection[Any]) -> tuple[PersonRecord, PeopleChange]:
            target = (await lock_people(conn, [person_id]))[person_id] if person_id is not None else 0
            await conn.execute("SELECT id FROM faces WHERE cluster_id = %s ORDER BY id FOR UPDATE",
                               (cluster_id,))
            cur = await conn.execute("SELECT id FROM face_clusters WHERE id = %s FOR UPDATE", (cluster_id,))
            if await cur.fetchone() is None:
                raise NotFound(f"no cluster {cluster_id}")
            if clean is not None:
                target = await _new_person(conn, clean)
            cur = await conn.execute(_LABEL_CLUSTER, {"c": cluster_id, "p": target})
            assigned = sorted(str(row[0]) for row in await cur.fetchall())
            cur = await conn.execute("UPDATE faces SET cluster_id = NULL, updated_at = now()"
                                     " WHERE cluster_id = %s RETURNING id::text", (cluster_id,))
            left_out = sorted(str(row[0]) for row in await cur.fetchall())  # their payloads change too
            await conn.execute("DELETE FROM face_clusters WHERE id = %s", (cluster_id,))
            record = (await person_records(conn, [target]))[0]
            return record, PeopleChange("labeled", (target,), (*assigned, *left_out))

        return await in_transaction(self.pool, work)

    async def assign_face(self, face_id: str, person_id: int) -> PeopleChange:
        fid = face_uuid(face_id)

        async def work(conn: AsyncConnection[Any]) -> PeopleChange:
            target = (await lock_people(conn, [person_id]))[person_id]
            done = await assign_by_user(conn, target, [fid])
            return PeopleChange("assigned", (target, *done.previous), done.face_ids)

        return await in_transaction(self.pool, work)

    async def unassign_face(self, face_id: str) -> PeopleChange:
        async def work(conn: AsyncConnection[Any]) -> PeopleChange:
            fid, person, _ = await _locked_face(conn, face_id)
            if person is None:
                return PeopleChange("unassigned", (), (str(fid),))
            await conn.execute(f"UPDATE faces SET {UNASSIGN} WHERE id = %s", (fid,))
            # Taking a face away from a person says "not this one": without a rejection, propagation
            # would give it straight back (the person's prototypes are unchanged).
            await conn.execute("INSERT INTO face_rejections (face_id, person_id) VALUES (%s, %s)"
                               " ON CONFLICT DO NOTHING", (fid, person))
            return PeopleChange("unassigned", (person,), (str(fid),))

        return await in_transaction(self.pool, work)

    async def reject_face(self, face_id: str, person_id: int) -> PeopleChange:
        async def work(conn: AsyncConnection[Any]) -> PeopleChange:
            target = (await lock_people(conn, [person_id]))[person_id]
            fid, person, _ = await _locked_face(conn, face_id)
            await conn.execute("INSERT INTO face_rejections (face_id, person_id) VALUES (%s, %s)"
                               " ON CONFLICT DO NOTHING", (fid, target))
            if person == target:
                await conn.execute(f"UPDATE faces SET {UNASSIGN} WHERE id = %s", (fid,))
            return PeopleChange("rejected", (target,), (str(fid),))

        return await in_transaction(self.pool, work)

    async def remove_from_cluster(self, face_id: str) -> PeopleChange:
        async def work(conn: AsyncConnection[Any]) -> PeopleChange:
            fid, _, cluster = await _locked_face(conn, face_id)
            # An unassigned face stays out of every later clustering run (cluster_excluded) until it gets
            # a person or is unassigned; a run would otherwise put it straight back.
            await conn.execute(
                "UPDATE faces SET cluster_id = NULL,"
                " cluster_excluded = cluster_excluded OR person_id IS NULL, updated_at = now() WHERE id = %s"
                " AND (cluster_id IS NOT NULL OR (person_id IS NULL AND NOT cluster_excluded))", (fid,),
            )
            await refresh_clusters(conn, [cluster])
            return PeopleChange("unclustered", (), (str(fid),))

        return await in_transaction(self.pool, work)

    async def set_cluster_hidden(self, cluster_id: int, hidden: bool) -> None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE face_clusters SET hidden = %s, updated_at = now() WHERE id = %s RETURNING id",
                (hidden, cluster_id),
            )
            if await cur.fetchone() is None:
                raise NotFound(f"no cluster {cluster_id}")

    async def merge_people(self, target_id: int, source_ids: Sequence[int]) -> PeopleChange:
        if not source_ids:
            raise InvalidInput("merge needs at least one person to merge into the target")
        if target_id in source_ids:
            raise InvalidInput("a person cannot be merged into themselves")

        async def work(conn: AsyncConnection[Any]) -> PeopleChange:
            final = await lock_people(conn, [target_id, *source_ids])
            target = final[target_id]
            sources = sorted({final[s] for s in source_ids} - {target})
            if not sources:  # already merged (a retry): nothing to do
                return PeopleChange("merged", (target, *_unique(source_ids)))
            return await _merge(conn, target, sources)

        return await in_transaction(self.pool, work)

    async def rename_person(self, person_id: int, name: str) -> PeopleChange:
        clean = valid_name(name)
        return await self._set_person(person_id, "renamed", "name = %s", clean)

    async def set_person_hidden(self, person_id: int, hidden: bool) -> PeopleChange:
        return await self._set_person(person_id, "hidden", "hidden = %s", hidden)

    async def set_birth_date(self, person_id: int, birth_date: date | None) -> PeopleChange:
        if birth_date is not None and birth_date > date.today():
            raise InvalidInput(f"birth date {birth_date} is in the future")
        return await self._set_person(person_id, "birth_date", "birth_date = %s", birth_date)

    async def pin_face(self, face_id: str, pinned: bool) -> PeopleChange:
        async def work(conn: AsyncConnection[Any]) -> PeopleChange:
            fid, person, _ = await _locked_face(conn, face_id)
            if person is None:
                if pinned:
                    raise Conflict("only a face assigned to a person can be pinned")
                return PeopleChange("pinned", (), (str(fid),))
            # A pinned face is always a prototype; unpinning leaves the choice to refresh_prototypes.
            await conn.execute("UPDATE faces SET pinned = %s, prototype = prototype OR %s, updated_at = now()"
                               " WHERE id = %s", (pinned, pinned, fid))
            return PeopleChange("pinned", (person,), (str(fid),))

        return await in_transaction(self.pool, work)

    async def _set_person(self, person_id: int, change: str, assignment: str, value: object) -> PeopleChange:
        async def work(conn: AsyncConnection[Any]) -> PeopleChange:
            target = (await lock_people(conn, [person_id]))[person_id]
            await conn.execute(f"UPDATE people SET {assignment}, updated_at = now() WHERE id = %s",
                               (value, target))
            return PeopleChange(change, (target,))

        return await in_transaction(self.pool, work)


async def _merge(conn: AsyncConnection[Any], target: int, sources: list[int]) -> PeopleChange:
    """Sources (locked, final, not the target) become the target; see PeopleStore.merge_people."""
    everyone = [target, *sources]
    await conn.execute("INSERT INTO face_rejections (face_id, person_id) SELECT face_id, %s"
                       " FROM face_rejections WHERE person_id = ANY(%s) ON CONFLICT DO NOTHING",
                       (target, sources))
    await conn.execute("SELECT id FROM faces WHERE person_id = ANY(%s) ORDER BY id FOR UPDATE", (everyone,))
    # A face the user said is "not" one of these people cannot become all of them (the sources'
    # rejections are the target's now, so one test covers both directions).
    cur = await conn.execute(
        f"UPDATE faces f SET {UNASSIGN} WHERE f.person_id = ANY(%s) AND EXISTS (SELECT 1 FROM"
        " face_rejections r WHERE r.face_id = f.id AND r.person_id = %s) RETURNING f.id::text",
        (everyone, target),
    )
    unassigned = [str(row[0]) for row in await cur.fetchall()]
    # One face per photo: the user's over the automatic, then the more confident, then the target's own.
    cur = await conn.execute(
        f"UPDATE faces f SET {UNASSIGN} FROM (SELECT id, row_number() OVER (PARTITION BY image_id"
        "  ORDER BY assigned_by = 'user' DESC NULLS LAST, confidence DESC NULLS LAST,"
        "  person_id = %(t)s DESC, quality DESC, id) AS rank FROM faces WHERE person_id = ANY(%(all)s)) r"
        " WHERE f.id = r.id AND r.rank > 1 RETURNING f.id::text",
        {"t": target, "all": everyone},
    )
    unassigned += [str(row[0]) for row in await cur.fetchall()]
    cur = await conn.execute("UPDATE faces SET person_id = %s, cluster_excluded = false, updated_at = now()"
                             " WHERE person_id = ANY(%s) RETURNING id::text", (target, sources))
    moved = [str(row[0]) for row in await cur.fetchall()]
    await conn.execute("UPDATE people SET merged_into = %s, updated_at = now() WHERE id = ANY(%s)",
                       (target, sources))
    return PeopleChange("merged", (target, *sources), tuple(sorted(moved) + sorted(unassigned)))
