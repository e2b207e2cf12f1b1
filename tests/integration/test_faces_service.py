"""The faces service for real: ingest → dlib detection and descriptors → PostgreSQL + faces collection →
faces.detected; clustering; a user labels a cluster → propagation; phase-1 matching of a new photo; the
"not this person" rule; a file that can't be read dead-lettered with its reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from imgsearch.common.ids import message_id
from imgsearch.common.subjects import COMMANDS_DETECT_FACES, IMAGES_INGESTED
from imgsearch.common.vectors.port import FACES_COLLECTION
from imgsearch.events.v1 import events_pb2 as ev
from imgsearch.faces.calibration import DLIB
from imgsearch.faces.clustering.service import ClusteringService
from tests.support.faces_stack import FacesStack, start_faces_stack, wait_for

pytestmark = pytest.mark.integration

A = "Harrison_Ford"
B = "Condoleezza_Rice"


@pytest.fixture
async def stack(nats_url: str, pg_url: str, tmp_path: Path, shared_data: Path) -> AsyncIterator[FacesStack]:
    running = await start_faces_stack(nats_url, pg_url, tmp_path / "data", shared_data / "faces")
    try:
        yield running
    finally:
        await running.close()


def folder_of(stack: FacesStack, name: str) -> Path:
    return stack.settings.library_roots[0] / "lfw" / name


async def ingest_people(stack: FacesStack, *names: str, exclude: tuple[str, ...] = ()) -> int:
    count = 0
    for name in names:
        folder = folder_of(stack, name)
        await stack.ingest(folder, exclude=exclude)
        count += sum(1 for p in folder.iterdir() if p.name not in exclude)
    await stack.faces_done(count)
    return count


async def faces_by_folder(stack: FacesStack) -> dict[str, list[tuple[str, int | None, str | None]]]:
    """folder name → [(face id, person id, assigned_by)] for the scored (largest) face of each photo."""
    async with stack.deps.pool.connection() as conn:
        rows = await (
            await conn.execute("""
            SELECT DISTINCT ON (f.image_id) f.id::text, f.person_id, f.assigned_by,
                   (SELECT min(path) FROM files WHERE image_id = f.image_id)
            FROM faces f ORDER BY f.image_id, (f.x2 - f.x1) * (f.y2 - f.y1) DESC""")
        ).fetchall()
    out: dict[str, list[tuple[str, int | None, str | None]]] = {}
    for face, person, by, path in rows:
        out.setdefault(Path(path).parent.name, []).append((face, person, by))
    return out


async def cluster(stack: FacesStack) -> None:
    recorded = await stack.faces.recorded_backend()
    assert recorded is not None and recorded.backend == "dlib" and recorded.dim == 128
    result = await ClusteringService(stack.faces, recorded.dim, DLIB).run(full=True, reason="test")
    assert result is not None and result.clusters >= 1


async def main_cluster_of(stack: FacesStack, name: str) -> int:
    faces = {face for face, _, _ in (await faces_by_folder(stack))[name]}
    async with stack.deps.pool.connection() as conn:
        rows = await (
            await conn.execute(
                "SELECT cluster_id, array_agg(id::text) FROM faces WHERE cluster_id IS NOT NULL "
                "GROUP BY cluster_id"
            )
        ).fetchall()
    best = max(rows, key=lambda r: len(faces & set(r[1])))
    assert len(faces & set(best[1])) >= 3, f"no cluster holds {name}"
    return int(best[0])


async def test_faces_are_detected_stored_and_announced(stack: FacesStack) -> None:
    photos = await ingest_people(stack, A, B)
    faces = await stack.scalar("SELECT count(*) FROM faces")
    assert faces >= photos - 1  # LFW portraits: one face each, HOG may miss a hard one
    assert await stack.scalar("SELECT count(*) FROM images WHERE faces_status = 'done'") == photos
    assert await stack.deps.vectors.count(FACES_COLLECTION) == faces
    await wait_for(lambda: _at_least(len(stack.detected), photos), 10, "faces.detected events")
    assert {e.backend for e in stack.detected} == {"dlib"}
    crop = await stack.scalar("SELECT count(*) FROM faces WHERE crop_path IS NOT NULL")
    assert crop == faces
    first = (await faces_by_folder(stack))[A][0][0]
    path = await _crop_path(stack, first)
    assert (stack.settings.face_crops_dir / path).stat().st_size > 0


async def test_labeling_a_cluster_names_the_person_and_propagates_without_mistakes(stack: FacesStack) -> None:
    await ingest_people(stack, A, B)
    await cluster(stack)
    person, change = await stack.people.label_cluster(await main_cluster_of(stack, A), name="Harrison")
    await stack.publish(change)
    await stack.quiet()
    by_folder = await faces_by_folder(stack)
    ford = [p for _, p, _ in by_folder[A]]
    assert ford.count(person.id) >= 3
    assert all(p != person.id for _, p, _ in by_folder[B])  # nobody else got his name


async def test_a_new_photo_of_a_known_person_is_named_on_arrival(stack: FacesStack) -> None:
    held_out = sorted(p.name for p in folder_of(stack, A).iterdir())[-1]
    photos = await ingest_people(stack, A, B, exclude=(held_out,))
    await cluster(stack)
    person, change = await stack.people.label_cluster(await main_cluster_of(stack, A), name="Harrison")
    await stack.publish(change)
    await stack.quiet()
    await stack.ingest(folder_of(stack, A) / held_out)
    await stack.faces_done(photos + 1)
    await stack.quiet()
    new_faces = await _faces_of(stack, held_out)
    face, person_id, by = next(f for f in (await faces_by_folder(stack))[A] if f[0] in new_faces)
    assert (person_id, by) == (person.id, "auto")
    assert any(a.face_id == face and a.person_id == person.id and a.source == "auto" for a in stack.assigned)


async def test_not_this_person_is_honoured_by_later_propagation(stack: FacesStack) -> None:
    await ingest_people(stack, A, B)
    await cluster(stack)
    cluster_id = await main_cluster_of(stack, A)
    person, change = await stack.people.label_cluster(cluster_id, name="Harrison")
    await stack.publish(change)
    await stack.quiet()
    victim = next(
        face for face, p, by in (await faces_by_folder(stack))[A] if p == person.id and by == "user"
    )
    await stack.publish(await stack.people.reject_face(victim, person.id))
    await stack.quiet()
    # Labeling again (new evidence) runs propagation for this person: the rejected face must stay out.
    extra, change = await stack.people.create_person("Someone")
    await stack.publish(await stack.people.merge_people(person.id, [extra.id]))
    await stack.quiet()
    (face,) = await stack.faces.faces([victim])
    assert face.person_id is None and person.id in face.rejected


async def test_an_unreadable_file_is_dead_lettered_with_its_reason(stack: FacesStack, tmp_path: Path) -> None:
    await ingest_people(stack, B)
    image_id = await _any_image(stack)
    bogus = tmp_path / "not-a-photo.jpg"
    bogus.write_text("this is text")
    command = ev.DetectFacesRequested(image_id=image_id, path=str(bogus), request_id="t")
    await stack.deps.bus.publish(
        COMMANDS_DETECT_FACES, command, message_id(COMMANDS_DETECT_FACES, "t", image_id)
    )

    async def failed() -> bool:
        return await stack.scalar("SELECT count(*) FROM images WHERE faces_status = 'failed'") == 1

    await wait_for(failed, 30, "the faces status to say failed")
    async with stack.deps.pool.connection() as conn:
        reason = await (
            await conn.execute("SELECT faces_error FROM images WHERE id = %s", (image_id,))
        ).fetchone()
    assert reason is not None and "BadImage" in reason[0]
    assert await stack.scalar("SELECT count(*) FROM dead_letters WHERE consumer = 'faces-reindex'") == 1


async def _at_least(value: int, wanted: int) -> bool:
    return value >= wanted


async def _crop_path(stack: FacesStack, face_id: str) -> str:
    async with stack.deps.pool.connection() as conn:
        row = await (await conn.execute("SELECT crop_path FROM faces WHERE id = %s", (face_id,))).fetchone()
    assert row is not None
    return str(row[0])


async def _faces_of(stack: FacesStack, file_name: str) -> set[str]:
    async with stack.deps.pool.connection() as conn:
        rows = await (
            await conn.execute(
                "SELECT f.id::text FROM faces f JOIN files p ON p.image_id = f.image_id WHERE p.path LIKE %s",
                (f"%/{file_name}",),
            )
        ).fetchall()
    return {str(r[0]) for r in rows}


async def _any_image(stack: FacesStack) -> str:
    async with stack.deps.pool.connection() as conn:
        row = await (await conn.execute("SELECT id FROM images LIMIT 1")).fetchone()
    assert row is not None
    return str(row[0])


async def test_known_content_arriving_again_keeps_its_faces_and_names(stack: FacesStack) -> None:
    """A new path of known content (or a touched file) is not detected again: names stay as they are."""
    await ingest_people(stack, A)
    await cluster(stack)
    person, change = await stack.people.label_cluster(await main_cluster_of(stack, A), name="Harrison")
    await stack.publish(change)
    await stack.quiet()
    before = await faces_by_folder(stack)
    assert any(p == person.id for _, p, _ in before[A])
    detected = len(stack.detected)
    async with stack.deps.pool.connection() as conn:
        row = await (await conn.execute("SELECT image_id, path FROM files LIMIT 1")).fetchone()
    assert row is not None
    image_id, path = row
    again = ev.ImageIngested(image_id=image_id, path=path, library_root=str(stack.settings.library_roots[0]))
    await stack.deps.bus.publish(IMAGES_INGESTED, again, message_id(IMAGES_INGESTED, image_id, "again"))
    await stack.quiet()
    assert await faces_by_folder(stack) == before
    assert len(stack.detected) == detected
