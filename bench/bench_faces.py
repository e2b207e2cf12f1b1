"""Face clustering and automatic labeling quality on labeled photos. Run by `make bench-faces [DATA=folder]`.

The real pipeline: embedded nats-server + PostgreSQL + qdrant-edge, the ingest service over DATA, the faces
service (dlib unless buffalo_l is installed), one full clustering run. Clustering is scored against
DATA/MANIFEST.tsv (pairwise precision/recall/F1, BCubed F1; in a photo with several faces the label belongs to
the largest face nearest the centre). Then a simulated user labels, for each identity, the cluster holding
most
of its faces and rejects ("not this person") the faces in it that are someone else, through the same
PeopleRepository and people.changed events as the People API; the faces service propagates. `assigned` is
the share of the labeled identities' other faces assigned automatically, `assign_precision` the share of all
automatic assignments (strangers' faces included) that are right. The naive alternative — HDBSCAN
(min_cluster_size=3, min_samples=2) on the same embeddings and nearest-prototype assignment — is scored the
same way in the same run. The system's figures are the last line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from psycopg.rows import dict_row

from imgsearch.common.db.people import PeopleRepository
from imgsearch.common.db.people_records import PeopleChange
from imgsearch.common.deps import Deps, open_deps
from imgsearch.common.errors import NotFound
from imgsearch.common.settings import ClusteringSettings, FacesSettings, NatsSettings, Settings
from imgsearch.common.subjects import EVENTS, PEOPLE_CHANGED
from imgsearch.gateway.people import people_changed_events

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faces_eval import (
    LabelAction,
    assign_scores,
    cluster_scores,
    naive_assign,
    read_manifest,
    scored_face,
    simulate_user,
)

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "faces"
log = logging.getLogger("bench_faces")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with MANIFEST.tsv")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the stack's data here")
    parser.add_argument("--reuse", action="store_true",
                        help="with --workdir from an earlier run: keep its detected faces, redo the rest")
    return parser.parse_args()


async def wait_for_faces(deps: Deps, expected_files: int) -> None:
    """Until every file has a row and no image waits for faces (progress on stderr)."""
    stable_since = time.monotonic()
    last = (-1, -1)
    while True:
        async with deps.pool.connection() as conn:
            files = (await (await conn.execute("SELECT count(*) FROM files")).fetchone() or (0,))[0]
            pending = (
                await (
                    await conn.execute("SELECT count(*) FROM images WHERE faces_status = 'pending'")
                ).fetchone()
                or (0,)
            )[0]
        if (files, pending) != last:
            print(
                f"  files {files}/{expected_files}, waiting for faces {pending}", file=sys.stderr, flush=True
            )
            last = (files, pending)
            stable_since = time.monotonic()
        if files >= expected_files and pending == 0:
            return
        if files and pending == 0 and time.monotonic() - stable_since > 30:
            return  # some files are skipped by the scanner (not photos): nothing more will come
        await asyncio.sleep(1.0)


async def has_faces(deps: Deps) -> bool:
    async with deps.pool.connection() as conn:
        row = await (await conn.execute("SELECT count(*) FROM faces")).fetchone()
    return bool(row and row[0])


async def forget_people(deps: Deps) -> None:
    """Back to "faces detected, nothing clustered or named" (for --reuse)."""
    async with deps.pool.connection() as conn:
        await conn.execute(
            "UPDATE faces SET person_id = NULL, assigned_by = NULL, confidence = NULL, assigned_at = NULL,"
            " cluster_id = NULL, prototype = false, pinned = false, era = NULL")
        for table in ("face_rejections", "people", "face_clusters", "clustering_runs"):
            await conn.execute(f"DELETE FROM {table}")


async def wait_quiet(deps: Deps, durables: list[str]) -> None:
    """Until the consumers have nothing pending or unacknowledged, twice in a row."""
    quiet = 0
    while quiet < 2:
        busy = 0
        for durable in durables:
            info = await deps.bus.js.consumer_info(EVENTS.name, durable)
            busy += int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        quiet = quiet + 1 if busy == 0 else 0
        await asyncio.sleep(1.0)


async def load_faces(
    deps: Deps, data: Path, labels: dict[str, str]
) -> tuple[list[str], np.ndarray, dict[str, str], dict[str, int | None]]:
    """Every face (id, embedding, cluster), and the scored face of each labeled photo → identity."""
    async with deps.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("""
            SELECT f.id::text AS id, f.image_id, f.x1, f.y1, f.x2, f.y2, f.embedding, f.cluster_id,
                   i.width, i.height, (SELECT min(path) FROM files WHERE image_id = f.image_id) AS path
            FROM faces f JOIN images i ON i.id = f.image_id ORDER BY f.image_id, f.id""")
        rows = await cur.fetchall()
    ids = [r["id"] for r in rows]
    x = np.stack([np.frombuffer(r["embedding"], dtype="<f4") for r in rows]).astype(np.float32)
    clusters = {r["id"]: r["cluster_id"] for r in rows}
    by_image: dict[str, list[dict[str, object]]] = {}
    for r in rows:
        by_image.setdefault(r["image_id"], []).append(r)
    identity_of: dict[str, str] = {}
    for faces in by_image.values():
        first = faces[0]
        rel = str(Path(str(first["path"])).relative_to(data))
        label = labels.get(rel)
        if label is None:
            continue
        boxes = [(int(f["x1"]), int(f["y1"]), int(f["x2"]), int(f["y2"])) for f in faces]  # type: ignore[call-overload]
        pick = scored_face(boxes, int(first["width"] or 0), int(first["height"] or 0))  # type: ignore[call-overload]
        if pick is not None:
            identity_of[str(faces[pick]["id"])] = label
    return ids, x, identity_of, clusters


async def label_like_a_user(deps: Deps, actions: list[LabelAction]) -> tuple[int, int]:
    """As in the People UI: take the intruders out of the cluster, name it, and mark each intruder "not
    this person". A cluster the system already named meanwhile (propagation) is skipped, as a user would.
    Returns (clusters labeled, clusters found already named)."""
    people = PeopleRepository(deps.pool)
    labeled = skipped = 0
    for action in actions:
        try:
            for face in [*action.reject, *action.unknown]:
                await people.remove_from_cluster(face)
            person, change = await people.label_cluster(action.cluster, name=action.identity)
        except NotFound:
            skipped += 1
            continue
        labeled += 1
        await publish_change(deps, change)
        for face in action.reject:
            change = await people.reject_face(face, person.id)
            await publish_change(deps, change)
    return labeled, skipped


async def publish_change(deps: Deps, change: PeopleChange) -> None:
    """As the gateway announces a people write."""
    for event, msg_id in people_changed_events(change):
        await deps.bus.publish(PEOPLE_CHANGED, event, msg_id)


async def automatic_names(deps: Deps) -> dict[str, str]:
    async with deps.pool.connection() as conn:
        rows = await (
            await conn.execute(
                "SELECT f.id::text, p.name FROM faces f JOIN people p ON p.id = f.person_id "
                "WHERE f.assigned_by = 'auto'"
            )
        ).fetchall()
    return {str(face): str(name) for face, name in rows}


def report(name: str, scores: object, assigned: object) -> None:
    print(f"{name}: {scores} {assigned}")


def naive(x: np.ndarray, ids: list[str], identity_of: dict[str, str]) -> None:
    from sklearn.cluster import HDBSCAN

    labels = HDBSCAN(min_cluster_size=3, min_samples=2, copy=True).fit_predict(x)
    cluster_of = {f: (int(c) if c >= 0 else None) for f, c in zip(ids, labels, strict=True)}
    scored = sorted(identity_of)
    cs = cluster_scores([cluster_of[f] for f in scored], [identity_of[f] for f in scored])
    actions = simulate_user(cluster_of, identity_of)
    user = {f: a.identity for a in actions for f in a.keep}
    rejected = {(f, a.identity) for a in actions for f in a.reject}
    print(
        f"naive clustering (HDBSCAN 3/2): precision={cs.precision:.3f} recall={cs.recall:.3f} f1={cs.f1:.3f} "
        f"bcubed_f1={cs.bcubed_f1:.3f}"
    )
    for threshold in (0.5, 0.37):
        auto = naive_assign(x, ids, user, rejected, threshold)
        s = assign_scores(actions, auto, identity_of)
        print(
            f"naive nearest prototype < {threshold}: assigned={s.assigned:.3f} "
            f"assign_precision={s.assign_precision:.3f} "
            f"(other faces {s.other_faces}, automatic {s.automatic})"
        )


async def main(args: argparse.Namespace) -> int:
    import imgsearch.faces.bootstrap as faces_service
    import imgsearch.ingest.bootstrap as ingest_service
    from imgsearch.common.db.faces import FaceRepository
    from imgsearch.faces.calibration import calibration_for
    from imgsearch.faces.clustering.bootstrap import ClusteringWorker
    from imgsearch.faces.clustering.service import ClusteringService
    from imgsearch.ingest.commands import request_ingest
    from imgsearch.runner.infrastructure import Infrastructure

    data = args.data.resolve()
    labels = read_manifest(data)
    expected = sum(1 for p in data.rglob("*") if p.is_file() and p.name != "MANIFEST.tsv")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-faces-"))
    settings = Settings(
        data_dir=workdir,
        library_roots=[data],
        nats=NatsSettings(embedded_port=0),
        faces=FacesSettings(),
        clustering=ClusteringSettings(interval_s=0),
    )
    infra = await asyncio.to_thread(Infrastructure.start, settings)
    stop = asyncio.Event()
    try:
        deps = await open_deps(settings, "bench-faces", infra.nats_url, infra.postgres_url)
        reuse = args.reuse and await has_faces(deps)
        if reuse:
            await forget_people(deps)  # keep the detected faces, start the user's work over
        tasks = [asyncio.create_task(faces_service.serve(settings, deps, stop))]
        if not reuse:
            tasks.append(asyncio.create_task(ingest_service.serve(settings, deps, stop)))
        try:
            started = time.monotonic()
            if not reuse:
                await request_ingest(deps.bus, data)
                await wait_for_faces(deps, expected)
            detect_s = time.monotonic() - started
            store = FaceRepository(deps.pool)
            recorded = await store.recorded_backend()
            assert recorded is not None
            service = ClusteringService(store, recorded.dim, calibration_for(recorded.backend))
            started = time.monotonic()
            result = await ClusteringWorker(service, deps).run(True, "bench")
            cluster_s = time.monotonic() - started
            await wait_quiet(deps, ["faces-clusters"])
            ids, x, identity_of, cluster_of = await load_faces(deps, data, labels)
            print(
                f"{len(labels)} labeled photos, {len(ids)} faces ({len(identity_of)} scored) with "
                f"{recorded.backend}; detection {detect_s:.0f} s, clustering {cluster_s:.1f} s "
                f"({result.clusters if result else 0} clusters)"
            )
            scored = sorted(identity_of)
            cs = cluster_scores([cluster_of[f] for f in scored], [identity_of[f] for f in scored])
            actions = simulate_user(cluster_of, identity_of)
            labeled, skipped = await label_like_a_user(deps, actions)
            await wait_quiet(deps, ["faces-people", "faces-clusters"])
            auto = await automatic_names(deps)
            s = assign_scores(actions, auto, identity_of)
            naive(x, ids, identity_of)
            print(
                f"system clustering: precision={cs.precision:.3f} recall={cs.recall:.3f} f1={cs.f1:.3f} "
                f"bcubed_f1={cs.bcubed_f1:.3f}; {labeled} clusters labeled, {skipped} found already named"
            )
            print(
                f"system propagation: assigned={s.assigned:.3f} assign_precision={s.assign_precision:.3f} "
                f"(other faces {s.other_faces}, automatic {s.automatic})"
            )
            print(
                f"faces: precision={cs.precision:.3f} recall={cs.recall:.3f} f1={cs.f1:.3f} "
                f"assigned={s.assigned:.3f} assign_precision={s.assign_precision:.3f}"
            )
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await deps.close()
    finally:
        await asyncio.to_thread(infra.stop)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # finally: stop nats and PostgreSQL
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(main(parse_args())))
