"""A photo library made in SQL (generate_series) for bench_ui.py: what a 100k-photo library holds once
ingest, embed, faces and clustering have run over it.

- images: N photos in FOLDERS event folders under 15 year folders (root/2010/event-0000/IMG_000001.jpg),
  taken over those years (2% without a date), eight cameras (one in eight unknown), one files row each;
- faces: one on 3 photos in 5: a fifth of the photos show the big person (PEOPLE[0], ~N/5 photos), a fifth
  one of the other people, a fifth an unassigned face, most of those in one of CLUSTERS clusters (skewed
  sizes, some hidden); eras from birth dates, the best five faces per person and era are prototypes;
- sessions: 24 small finished imports, then one finished import of every photo by year (1% failed to read,
  1% unchanged, 0.1% failed to embed), its counters kept by the triggers of migration 0007."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

YEARS = 15  # 2010..2024
FIRST_YEAR = 2010
BIG_PERSON = 1

# One row per photo g (kept for the session and face fills): id, path, year, taken_at.
_SEED = """
CREATE TEMP TABLE seed AS
SELECT g, encode(sha256(('photo-' || g)::bytea), 'hex') AS id, y AS year,
  %(root)s || '/' || y || '/event-' || lpad(f::text, 4, '0') || '/IMG_' || lpad(g::text, 6, '0') || '.jpg'
    AS path,
  CASE WHEN g %% 50 <> 0 THEN make_timestamptz(y, 1, 1, 8, 0, 0, 'UTC')
    + make_interval(secs => (g * 7919) %% 31500000) END AS taken_at
FROM generate_series(1::bigint, %(n)s) g,
  LATERAL (SELECT g %% %(folders)s AS f) folder,
  LATERAL (SELECT (%(first_year)s + folder.f * %(years)s / %(folders)s)::int AS y) year
"""

_IMAGES = """
INSERT INTO images (id, size_bytes, width, height, format, taken_at, taken_at_source, camera_make,
  camera_model, orientation, thumbnail_path, embed_status, embed_error, embed_model, embedded_at,
  faces_status, faces_count, faces_at, created_at, updated_at)
SELECT id, 1500000 + (g * 104729) %% 3000000, 4032, 3024, 'JPEG', taken_at,
  CASE WHEN taken_at IS NOT NULL THEN 'exif:DateTimeOriginal' END,
  (ARRAY['Canon', 'Canon', 'NIKON CORPORATION', 'Apple', 'Apple', 'SONY', 'FUJIFILM', NULL])[1 + g %% 8],
  (ARRAY['Canon EOS 5D Mark III', 'Canon EOS R6', 'NIKON D750', 'iPhone 12', 'iPhone 15 Pro', 'ILCE-7M3',
         'X-T3', NULL])[1 + g %% 8],
  1, substr(id, 1, 2) || '/' || id || '.jpg',
  CASE WHEN g %% 1000 = 7 THEN 'failed' ELSE 'embedded' END,
  CASE WHEN g %% 1000 = 7 THEN 'image file is truncated' END, 'ViT-B-32',
  CASE WHEN g %% 1000 <> 7 THEN now() - interval '30 days' END,
  'done', CASE WHEN g %% 5 < 3 THEN 1 ELSE 0 END, now() - interval '30 days',
  now() - interval '30 days', now() - interval '30 days'
FROM seed
"""

_FILES = """
INSERT INTO files (path, library_root, image_id, size_bytes, mtime_ns, status, seen_at)
SELECT s.path, %(root)s, s.id, i.size_bytes, 1600000000000000000 + s.g, 'ingested', now() - interval '30 days'
FROM seed s JOIN images i ON i.id = s.id
"""

_PEOPLE = """
INSERT INTO people (id, name, hidden, birth_date)
SELECT p, CASE WHEN p = 1 THEN 'Alex Morgan' ELSE 'Person ' || lpad(p::text, 3, '0') END, p %% 50 = 0,
  CASE WHEN p = 1 THEN date '1996-05-17' WHEN p %% 3 = 0 THEN date '1950-01-01' + (p * 97) %% 20000 END
FROM generate_series(1, %(people)s) p;
SELECT setval('people_id_seq', %(people)s);
INSERT INTO face_clusters (id, size, hidden, created_run, updated_run)
SELECT c, 0, c %% 40 = 0, 1, 1 FROM generate_series(1, %(clusters)s) c;
SELECT setval('face_clusters_id_seq', %(clusters)s);
INSERT INTO face_backend (backend, model, dim, reason)
VALUES ('dlib', 'dlib_face_recognition_resnet_model_v1', 128, 'bench');
INSERT INTO clustering_runs (full_run, reason, finished_at) VALUES (true, 'bench', now());
"""

# Photo g has a face when g %% 5 < 3: 0 the big person, 1 another person, 2 nobody (clustered or noise).
_FACES = """
INSERT INTO faces (id, image_id, x1, y1, x2, y2, det_score, quality, sharpness, yaw, pitch, roll, age,
  embedding, crop_path, taken_at, person_id, assigned_by, confidence, assigned_at, cluster_id,
  created_at, updated_at)
SELECT md5('face-' || s.g)::uuid, s.id, 1000 + s.g %% 500, 800, 1400 + s.g %% 500, 1300, 0.95,
  0.3 + ((s.g * 37) %% 70) / 100.0, 0.5, 0, 0, 0, NULL, %(embedding)s,
  substr(s.id, 1, 2) || '/' || md5('face-' || s.g) || '.jpg', s.taken_at, w.person_id,
  CASE WHEN w.person_id IS NULL THEN NULL WHEN s.g %% 20 = 0 THEN 'user' ELSE 'auto' END,
  CASE WHEN w.person_id IS NOT NULL AND s.g %% 20 <> 0 THEN 0.8 END,
  CASE WHEN w.person_id IS NOT NULL THEN now() - interval '20 days' END,
  CASE WHEN s.g %% 5 = 2 AND (s.g / 5) %% 10 < 8
    THEN 1 + floor(%(clusters)s * power(((s.g / 5) * 0.6180339887) %% 1, 2))::bigint END,
  now() - interval '20 days', now() - interval '20 days'
FROM seed s,
  LATERAL (SELECT CASE s.g %% 5 WHEN 0 THEN %(big)s
                  WHEN 1 THEN 2 + (s.g / 5) %% (%(people)s - 1) END AS person_id) w
WHERE s.g %% 5 < 3
"""

# Eras from the birth date and the photo's date (ERA_STARTS), then the best five per person and era.
_ERAS = """
UPDATE faces f SET era = CASE
    WHEN a.years < 2 THEN 'infant' WHEN a.years < 13 THEN 'child' WHEN a.years < 20 THEN 'teen'
    WHEN a.years < 35 THEN 'young_adult' WHEN a.years < 60 THEN 'adult' ELSE 'senior' END
FROM (SELECT g.id, extract(epoch FROM g.taken_at - p.birth_date::timestamptz) / 31556952 AS years
      FROM faces g JOIN people p ON p.id = g.person_id
      WHERE p.birth_date IS NOT NULL AND g.taken_at IS NOT NULL) a
WHERE f.id = a.id;
UPDATE faces f SET prototype = true FROM (
    SELECT id, row_number() OVER (PARTITION BY person_id, era ORDER BY quality DESC, id) AS rank
    FROM faces WHERE person_id IS NOT NULL) r
WHERE f.id = r.id AND r.rank <= 5;
UPDATE faces SET pinned = true WHERE id IN (
    SELECT id FROM faces WHERE person_id = %(big)s ORDER BY quality, id LIMIT 2);
UPDATE face_clusters c SET size = s.n
FROM (SELECT cluster_id, count(*) AS n FROM faces WHERE cluster_id IS NOT NULL GROUP BY cluster_id) s
WHERE s.cluster_id = c.id;
"""

_SESSIONS = """
INSERT INTO ingest_sessions (root, subdirectories, priority, origin, discovery_complete, finished_at,
  created_at, updated_at)
SELECT %(root)s, ARRAY[(%(first_year)s + k %% %(years)s)::text], 1, 'user', true,
  now() - make_interval(days => 60 - k), now() - make_interval(days => 60 - k, hours => 1),
  now() - make_interval(days => 60 - k)
FROM generate_series(1, 24) k;
INSERT INTO session_files (session_id, path, subdirectory, size_bytes, mtime_ns, state, image_id, done_at)
SELECT s.id, f.path, s.subdirectories[1], 2000000, 1, 'unchanged', f.id, s.finished_at
FROM ingest_sessions s CROSS JOIN LATERAL (
    SELECT path, id FROM seed WHERE year::text = s.subdirectories[1] AND g %% 97 = s.id %% 97 LIMIT 50) f;
"""

_BIG_SESSION = """
INSERT INTO ingest_sessions (root, subdirectories, priority, origin, discovery_complete, finished_at,
  created_at, updated_at)
VALUES (%(root)s, (SELECT array_agg(y::text ORDER BY y)
                   FROM generate_series(%(first_year)s, %(first_year)s + %(years)s - 1) y),
  3, 'user', true, now() - interval '29 days', now() - interval '30 days', now() - interval '29 days')
RETURNING id
"""

_BIG_SESSION_FILES = """
INSERT INTO session_files (session_id, path, subdirectory, size_bytes, mtime_ns, state, image_id, error,
  done_at)
SELECT %(id)s, path, year::text, 2000000, 1600000000000000000 + g,
  CASE g %% 100 WHEN 0 THEN 'failed' WHEN 1 THEN 'unchanged' ELSE 'ingested' END,
  CASE WHEN g %% 100 <> 0 THEN id END,
  CASE WHEN g %% 100 = 0 THEN 'cannot identify image file' END,
  now() - interval '30 days' + make_interval(secs => g / 100.0)
FROM seed ORDER BY g
"""


@dataclass(frozen=True)
class Library:
    root: Path
    photos: int
    big_person: int
    session_id: int
    sample_ids: list[str]  # photos spread over the library, for the search stand-in's hits


async def fill(pool: AsyncConnectionPool, root: Path, photos: int, folders: int, people: int,
               clusters: int) -> Library:
    args: dict[str, Any] = {
        "root": str(root), "n": photos, "folders": folders, "years": YEARS, "first_year": FIRST_YEAR,
        "people": people, "clusters": clusters, "big": BIG_PERSON, "embedding": bytes(512),
    }
    async with pool.connection() as conn:  # one connection: the seed table is temporary
        for sql in (_SEED, _IMAGES, _FILES, _PEOPLE, _FACES, _ERAS, _SESSIONS):
            for statement in sql.split(";\n"):  # one statement per execute (server-side parameters)
                if statement.strip():
                    await conn.execute(statement, args)
        cur = await conn.execute(_BIG_SESSION, args)
        row = await cur.fetchone()
        assert row is not None
        session_id = int(row[0])
        await conn.execute(_BIG_SESSION_FILES, {**args, "id": session_id})
        cur = await conn.execute("SELECT id FROM seed WHERE g %% %s = 0 ORDER BY g LIMIT 60",
                                 (max(photos // 60, 1),))
        samples = [str(r[0]) for r in await cur.fetchall()]
        await conn.execute("DROP TABLE seed")
    # A library at rest: autovacuum has set the visibility map (index-only scans) and the statistics.
    async with await psycopg.AsyncConnection.connect(str(pool.conninfo), autocommit=True) as conn:
        await conn.execute("VACUUM ANALYZE")
    return Library(root, photos, BIG_PERSON, session_id, samples)


def make_folders(root: Path) -> None:
    """A few of the year / event folders on disk (with empty .jpg files), for the /import browser."""
    for year in range(FIRST_YEAR, FIRST_YEAR + YEARS):
        for event in range(3):
            folder = root / str(year) / f"event-{event:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(2):
                (folder / f"IMG_{k:06d}.jpg").touch()
