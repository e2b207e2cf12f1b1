"""The clustering half of FaceStore: what a clustering run reads, the run rows, and saving its clusters.

A run's own cluster_id writes leave faces.updated_at alone: updated_at marks changes to the *input* of
clustering (a new or re-embedded face, one that lost its person, one a user took out of a cluster), so
``unassigned_changed_since`` does not see a run's output as a reason for another run."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.face_records import ClusteringRun, StoredFace
from imgsearch.common.db.face_rows import (
    STORED_FACE_SELECT,
    known_face_uuids,
    refresh_clusters,
    scalar,
    stored_face,
)
from imgsearch.common.db.person_chain import in_transaction
from imgsearch.common.errors import InvalidInput, NotFound

MAX_NEW_CLUSTER_IDS = 100_000


class FaceClustering:
    pool: AsyncConnectionPool

    async def clustering_input(self) -> list[StoredFace]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"{STORED_FACE_SELECT} WHERE f.person_id IS NULL AND NOT f.cluster_excluded ORDER BY f.id")
            return [stored_face(row) for row in await cur.fetchall()]

    async def start_run(self, run: ClusteringRun) -> int:
        async with self.pool.connection() as conn:
            return int(await scalar(
                conn, "INSERT INTO clustering_runs (full_run, reason, params) VALUES (%s, %s, %s)"
                " RETURNING id", (run.full, run.reason, Jsonb(dict(run.params))),
            ))

    async def save_clusters(self, run_id: int, membership: Mapping[str, int | None],
                            new_clusters: int, noise: int) -> dict[str, int | None]:
        pairs = {face: membership[key] for key in membership for face in known_face_uuids([key])}
        faces, clusters = list(pairs), list(pairs.values())
        wanted = sorted({c for c in clusters if c is not None})

        async def work(conn: AsyncConnection[Any]) -> dict[str, int | None]:
            cur = await conn.execute("SELECT 1 FROM clustering_runs WHERE id = %s FOR UPDATE", (run_id,))
            if await cur.fetchone() is None:
                raise NotFound(f"no clustering run {run_id}")
            await conn.execute(
                "INSERT INTO face_clusters (id, created_run, updated_run) SELECT id, %(r)s, %(r)s"
                " FROM unnest(%(ids)s::bigint[]) AS id"
                " ON CONFLICT (id) DO UPDATE SET updated_run = EXCLUDED.updated_run, updated_at = now()",
                {"r": run_id, "ids": wanted},
            )
            # Only faces still unassigned, not taken out of clustering by a user, and untouched since the
            # run read them: a face a user labeled, took out of its cluster or that auto_assign gave a
            # person meanwhile keeps what it has now. An excluded face is never put in a cluster.
            cur = await conn.execute(
                "UPDATE faces f SET cluster_id = m.cluster_id"
                " FROM unnest(%s::uuid[], %s::bigint[]) AS m (face_id, cluster_id)"
                " WHERE f.id = m.face_id AND f.person_id IS NULL"
                " AND (NOT f.cluster_excluded OR m.cluster_id IS NULL)"
                " AND f.cluster_id IS DISTINCT FROM m.cluster_id"
                " AND f.updated_at <= (SELECT started_at FROM clustering_runs WHERE id = %s)"
                " RETURNING f.id::text, f.cluster_id",
                (faces, clusters, run_id),
            )
            applied = {str(face): (None if cluster is None else int(cluster))
                       for face, cluster in await cur.fetchall()}
            await refresh_clusters(conn, None)
            await conn.execute(
                "UPDATE clustering_runs SET faces = %s, clusters = %s, noise = %s, new_clusters = %s,"
                " finished_at = now() WHERE id = %s",
                (len(faces), len(wanted), noise, new_clusters, run_id),
            )
            return applied

        return await in_transaction(self.pool, work)

    async def new_cluster_ids(self, count: int) -> list[int]:
        if not 0 <= count <= MAX_NEW_CLUSTER_IDS:
            raise InvalidInput(f"count must be 0..{MAX_NEW_CLUSTER_IDS}, got {count}")
        if count == 0:
            return []
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT nextval(pg_get_serial_sequence('face_clusters', 'id')) FROM generate_series(1, %s)",
                (count,),
            )
            return [int(row[0]) for row in await cur.fetchall()]

    async def unassigned_changed_since(self, run_id: int | None) -> int:
        async with self.pool.connection() as conn:
            if run_id is None:
                return int(await scalar(conn, "SELECT count(*) FROM faces WHERE person_id IS NULL"))
            cur = await conn.execute("SELECT started_at FROM clustering_runs WHERE id = %s", (run_id,))
            row = await cur.fetchone()
            if row is None:
                raise NotFound(f"no clustering run {run_id}")
            return int(await scalar(
                conn, "SELECT count(*) FROM faces WHERE person_id IS NULL AND updated_at >= %s", (row[0],)))

    async def last_run(self) -> tuple[int, datetime] | None:
        """The latest *finished* run: a run that died before saving does not hide changes from before it."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id, started_at FROM clustering_runs WHERE finished_at IS NOT NULL"
                " ORDER BY id DESC LIMIT 1"
            )
            row = await cur.fetchone()
        return (int(row[0]), row[1]) if row else None
