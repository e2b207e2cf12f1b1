"""The People pages (/people, /people/clusters, /people/{id}) over the real PostgreSQL people store,
through the FastAPI app (httpx.ASGITransport): what they show, and what their forms do to the rows."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.faces import FaceRepository
from imgsearch.common.db.images import ImageRepository
from imgsearch.common.db.people import PeopleRepository
from imgsearch.common.subjects import COMMANDS_CLUSTERING, PEOPLE_CHANGED
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.files import LibraryRoots
from imgsearch.gateway.people import PeopleService
from imgsearch.gateway.service import Gateway
from tests.support.faces_db import FacesDb
from tests.support.gateway_world import IngestRecorder
from tests.support.people_fakes import FakePublisher
from tests.support.search_fakes import in_process_client

pytestmark = pytest.mark.integration

HOSTILE = '<script>alert("x")</script> & Co'


@dataclass
class World:
    db: FacesDb
    ui: httpx.AsyncClient
    published: FakePublisher

    async def post(self, url: str, data: dict[str, str | list[str]]) -> str:
        """A form POST, which answers 303; the page it leads to (the notice in it)."""
        response = await self.ui.post(url, data=data)
        assert response.status_code == 303, response.text
        return page_ok(await self.ui.get(response.headers["location"]))

    async def person_id(self, name: str) -> int:
        return int(await self.db.scalar("SELECT id FROM people WHERE name = %s", name))


def gateway(tmp_path: Path, pool: AsyncConnectionPool, people: PeopleService | None) -> Gateway:
    return Gateway(
        search=in_process_client(None), images=ImageRepository(pool), request_ingest=IngestRecorder(),
        library=LibraryRoots([tmp_path]), thumbnails_dir=tmp_path, probes={}, people=people,
    )


async def client(app_gateway: Gateway) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(app_gateway), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


@pytest.fixture
async def world(pool: AsyncConnectionPool, tmp_path: Path) -> AsyncIterator[World]:
    db = FacesDb(pool, PeopleRepository(pool), FaceRepository(pool))
    published = FakePublisher()
    people = PeopleService(db.people, published, tmp_path / "crops")
    async with await client(gateway(tmp_path, pool, people)) as ui:
        yield World(db, ui, published)


def page_ok(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def notice(html: str) -> str:
    found = re.search(r'<p class="notice" role="status">(.*?)</p>', html, re.S)
    assert found, html
    return found.group(1)


# -- /people ----------------------------------------------------------------------------------------


async def test_people_list_links_names_with_cover_crops_and_photo_counts(world: World) -> None:
    _, (ann_1,) = await world.db.photo("ann-1")
    _, (ann_2,) = await world.db.photo("ann-2", qualities=[0.95])
    _, (bob_1,) = await world.db.photo("bob-1")
    ann, _ = await world.db.people.create_person("Ann", [ann_1, ann_2])
    bob, _ = await world.db.people.create_person("Bob", [bob_1])
    hidden, _ = await world.db.people.create_person("Quiet")
    await world.db.people.set_person_hidden(hidden.id, True)

    html = page_ok(await world.ui.get("/people"))
    assert "<h1>People</h1>" in html
    assert '<a href="/people/clusters">Review clusters</a>' in html
    assert f'<a href="/people/{ann.id}">' in html and '<span class="name">Ann</span>' in html
    assert f'<a href="/people/{bob.id}">' in html
    assert f'src="/api/v1/faces/{ann_2}/crop"' in html  # the best face is the cover
    assert "2 photos" in html and "1 photo<" in html
    assert html.index("Ann") < html.index("Bob")  # most faces first
    assert "Quiet" not in html

    shown = page_ok(await world.ui.get("/people", params={"hidden": "1"}))
    assert "Quiet" in shown and "hidden" in shown
    found = page_ok(await world.ui.get("/people", params={"q": "bo"}))
    assert "Bob" in found and "Ann</span>" not in found


async def test_people_list_is_paged(world: World) -> None:
    for n in range(50):
        await world.db.people.create_person(f"Person {n:02d}")
    first = page_ok(await world.ui.get("/people"))
    assert first.count('<span class="name">') == 48
    assert 'href="/people?offset=48" rel="next"' in first
    second = page_ok(await world.ui.get("/people?offset=48"))
    assert second.count('<span class="name">') == 2
    assert 'href="/people" rel="prev"' in second and 'rel="next"' not in second


# -- /people/clusters -------------------------------------------------------------------------------


async def cluster_of(world: World, name: str, count: int) -> tuple[int, list[str]]:
    faces = [(await world.db.photo(f"{name}-{n}"))[1][0] for n in range(count)]
    return await world.db.cluster(faces), faces


async def test_clusters_page_shows_sections_with_face_crops_and_forms(world: World) -> None:
    cluster, faces = await cluster_of(world, "c", 3)
    await world.db.people.create_person("Ann")
    html = page_ok(await world.ui.get("/people/clusters"))
    assert "<h1>Clusters to review</h1>" in html
    assert ">Find people now</button>" in html
    assert '<section class="cluster"' in html
    assert re.search(rf'<h2 id="cluster-{cluster}">Cluster {cluster} · 3 faces</h2>', html)
    for n, face in enumerate(faces, 1):  # samples best first
        assert f'src="/api/v1/faces/{face}/crop" alt="Face ' in html
        assert f'alt="Face {n} of cluster {cluster}, open its photo"' in html
        assert f'action="/people/faces/{face}/uncluster"' in html
    assert f'<label for="name-{cluster}">Name</label>' in html and 'name="name"' in html
    assert ">Label</button>" in html and ">Hide<" in html
    assert f'<label for="merge-{cluster}">Merge into</label>' in html  # there is someone to merge into


async def test_labeling_a_cluster_creates_the_person_who_then_is_on_the_people_page(world: World) -> None:
    cluster, faces = await cluster_of(world, "c", 2)
    response = await world.ui.post(f"/people/clusters/{cluster}/label",
                                   data={"name": "  Carol ", "back": "/people/clusters"})
    assert response.status_code == 303
    assert urlsplit(response.headers["location"]).path == "/people/clusters"
    html = page_ok(await world.ui.get(response.headers["location"]))
    assert notice(html) == f"Cluster {cluster} labeled Carol, who now has 2 faces."
    assert f'id="cluster-{cluster}"' not in html  # labeled clusters leave the review list
    carol = await world.person_id("Carol")
    assert await world.db.people_of(faces) == [carol, carol]
    assert [m for s, _, m in world.published.published if s == PEOPLE_CHANGED]
    assert f'<a href="/people/{carol}">' in page_ok(await world.ui.get("/people"))


async def test_labeling_with_an_existing_name_gives_the_faces_to_that_person(world: World) -> None:
    _, (own,) = await world.db.photo("ann-own")
    ann, _ = await world.db.people.create_person("Ann", [own])
    await world.db.people.create_person("Annabel")
    cluster, faces = await cluster_of(world, "c", 2)
    html = await world.post(f"/people/clusters/{cluster}/label", {"name": "Ann"})
    assert notice(html) == f"Cluster {cluster} labeled Ann, who now has 3 faces."
    assert await world.db.people_of(faces) == [ann.id, ann.id]
    assert await world.db.scalar("SELECT count(*) FROM people") == 2


async def test_merge_into_labels_a_cluster_with_a_chosen_person(world: World) -> None:
    bob, _ = await world.db.people.create_person("Bob")
    cluster, faces = await cluster_of(world, "c", 2)
    html = await world.post(f"/people/clusters/{cluster}/label", {"person_id": str(bob.id)})
    assert "labeled Bob" in notice(html)
    assert await world.db.people_of(faces) == [bob.id, bob.id]


async def test_labeling_from_a_cluster_page_leads_to_the_person(world: World) -> None:
    cluster, _ = await cluster_of(world, "c", 2)
    page_ok(await world.ui.get(f"/people/clusters/{cluster}"))
    response = await world.ui.post(f"/people/clusters/{cluster}/label",
                                   data={"name": "Dora", "back": f"/people/clusters/{cluster}"})
    assert urlsplit(response.headers["location"]).path == f"/people/{await world.person_id('Dora')}"


async def test_hiding_a_cluster_takes_it_off_the_list_until_hidden_ones_are_asked_for(world: World) -> None:
    cluster, _ = await cluster_of(world, "c", 2)
    html = await world.post(f"/people/clusters/{cluster}/hidden", {"hidden": "1", "back": "/people/clusters"})
    assert notice(html) == f"Cluster {cluster} hidden."
    assert f"Cluster {cluster} ·" not in html
    shown = page_ok(await world.ui.get("/people/clusters?hidden=1"))
    assert f"Cluster {cluster} · 2 faces (hidden)" in shown and ">Unhide<" in shown
    await world.post(f"/people/clusters/{cluster}/hidden", {"hidden": "0"})
    assert f"Cluster {cluster} · 2 faces</h2>" in page_ok(await world.ui.get("/people/clusters"))


async def test_remove_takes_a_face_out_of_its_cluster(world: World) -> None:
    cluster, faces = await cluster_of(world, "c", 3)
    html = await world.post(f"/people/faces/{faces[0]}/uncluster", {"back": "/people/clusters"})
    assert "removed from its cluster" in notice(html)
    assert (await world.db.row(faces[0]))["cluster_id"] is None
    assert f"Cluster {cluster} · 2 faces" in html


async def test_find_people_now_requests_a_clustering_run(world: World) -> None:
    html = await world.post("/people/clusters/run", {"back": "/people/clusters"})
    assert "Looking for people" in notice(html)
    assert [s for s, _, _ in world.published.published] == [COMMANDS_CLUSTERING]


async def test_clusters_are_paged(world: World) -> None:
    for n in range(13):
        await cluster_of(world, f"c{n}", 2)
    first = page_ok(await world.ui.get("/people/clusters"))
    assert first.count('<section class="cluster"') == 12
    assert 'href="/people/clusters?offset=12" rel="next"' in first
    assert page_ok(await world.ui.get("/people/clusters?offset=12")).count('<section class="cluster"') == 1


# -- /people/{id} -----------------------------------------------------------------------------------


async def ann_with_faces(world: World, count: int = 3, ages: float = 30.0) -> tuple[int, list[str]]:
    faces = []
    for n in range(count):
        image_id, (face,) = await world.db.photo(f"ann-{n}", taken_at=datetime(2020, 1, n + 1, tzinfo=UTC),
                                                 qualities=[0.5 + n / 100], ages=[ages])
        async with world.db.pool.connection() as conn:
            await conn.execute("INSERT INTO files (path, library_root, image_id, status) VALUES (%s, %s, %s,"
                               " 'ingested')", (f"/library/ann-{n}.jpg", "/library", image_id))
        faces.append(face)
    ann, _ = await world.db.people.create_person("Ann", faces)
    await world.db.faces.refresh_prototypes([ann.id], per_era=2)
    return ann.id, faces


async def test_person_page_shows_photos_eras_with_prototypes_and_coverage_gaps(world: World) -> None:
    ann, _ = await ann_with_faces(world)
    html = page_ok(await world.ui.get(f"/people/{ann}"))
    assert "<h1>Ann</h1>" in html and "3 photos · 3 faces" in html
    grid = html[html.index('<ul class="grid" aria-label="Photos">'):]
    assert grid.count('<a href="/photos/') >= 3
    assert 'alt="ann-2.jpg"' in grid and 'loading="lazy"' in grid  # newest first, named by file
    assert grid.index("ann-2.jpg") < grid.index("ann-0.jpg")
    assert "<h3>Young adult (20–34)</h3>" in html
    eras = html[html.index('id="eras-heading"'):html.index('id="faces-heading"')]
    assert eras.count('/crop" alt="Ann, Young adult (20–34), face') == 2  # two prototypes per era
    assert "Coverage gaps:</strong> no photos yet from Infant (under 2), Child (2–12), Teen (13–19)," in eras
    assert eras.count(">Pin<") == 2


async def test_birth_date_leaves_eras_not_reached_out_of_the_gaps(world: World) -> None:
    ann, _ = await ann_with_faces(world, count=1, ages=8.0)
    html = await world.post(f"/people/{ann}/birth-date", {"birth_date": "2012-05-01"})
    assert notice(html) == "Birth date of Ann set to 2012-05-01."
    eras = html[html.index('id="eras-heading"'):html.index('id="faces-heading"')]
    assert "no photos yet from Infant (under 2), Teen (13–19)." in eras and "Not reached yet." in eras
    cleared = await world.post(f"/people/{ann}/birth-date", {"birth_date": ""})
    assert notice(cleared) == "Birth date of Ann cleared."


async def test_pin_and_unpin_a_face(world: World) -> None:
    ann, faces = await ann_with_faces(world)
    html = await world.post(f"/people/faces/{faces[0]}/pin", {"pinned": "1", "back": f"/people/{ann}"})
    assert notice(html) == "Face pinned as a prototype."
    assert (await world.db.row(faces[0]))["pinned"] is True
    assert ">Unpin<" in html
    html = await world.post(f"/people/faces/{faces[0]}/pin", {"pinned": "0", "back": f"/people/{ann}"})
    assert notice(html) == "Face unpinned."
    assert (await world.db.row(faces[0]))["pinned"] is False


async def test_not_this_person_unassigns_the_face_for_good(world: World) -> None:
    ann, faces = await ann_with_faces(world)
    html = await world.post(f"/people/faces/{faces[1]}/reject",
                            {"person_id": str(ann), "back": f"/people/{ann}"})
    assert "that face is not Ann" in notice(html)
    assert (await world.db.row(faces[1]))["person_id"] is None
    assert (faces[1], ann) in await world.db.rejections()
    assert "2 photos · 2 faces" in html


async def test_move_ticked_faces_to_another_person(world: World) -> None:
    ann, faces = await ann_with_faces(world)
    bob, _ = await world.db.people.create_person("Bob")
    assert f'<option value="{bob.id}">Bob</option>' in page_ok(await world.ui.get(f"/people/{ann}"))
    html = await world.post("/people/faces/move", {"face_ids": faces[:2], "to_person_id": str(bob.id),
                                                   "back": f"/people/{ann}"})
    assert notice(html) == "Moved 2 faces to Bob."
    assert await world.db.people_of(faces) == [bob.id, bob.id, ann]
    nothing_ticked = await world.ui.post("/people/faces/move", data={"to_person_id": str(bob.id)})
    assert nothing_ticked.status_code == 400 and "tick the faces" in nothing_ticked.text


async def test_merge_another_person_into_this_one(world: World) -> None:
    ann, _ = await ann_with_faces(world, count=1)
    _, (other,) = await world.db.photo("bob-only")
    bob, _ = await world.db.people.create_person("Bob", [other])
    html = await world.post(f"/people/{ann}/merge", {"source_id": str(bob.id), "back": f"/people/{ann}"})
    assert notice(html) == "Merged Bob into Ann."
    assert await world.db.people_of([other]) == [ann]
    listed = page_ok(await world.ui.get("/people"))
    assert "Ann" in listed and "Bob" not in listed
    itself = await world.ui.post(f"/people/{ann}/merge", data={"source_id": str(ann)})
    assert itself.status_code == 400 and "merged into itself" in itself.text


async def test_rename_and_hide_a_person(world: World) -> None:
    ann, _ = await ann_with_faces(world, count=1)
    html = await world.post(f"/people/{ann}/rename", {"name": "Anne"})
    assert notice(html) == "Renamed to Anne." and "<h1>Anne</h1>" in html
    html = await world.post(f"/people/{ann}/hidden", {"hidden": "1"})
    assert notice(html) == "Anne is hidden from the people list."
    assert ">Unhide person<" in html
    assert "Anne" not in page_ok(await world.ui.get("/people"))
    empty = await world.ui.post(f"/people/{ann}/rename", data={"name": "   "})
    assert empty.status_code == 400 and "the name is empty" in empty.text


async def test_person_photos_and_faces_are_paged_separately(world: World) -> None:
    faces = [(await world.db.photo(f"p{n}"))[1][0] for n in range(50)]
    ann, _ = await world.db.people.create_person("Ann", faces)
    html = page_ok(await world.ui.get(f"/people/{ann.id}"))
    assert html.count('<li><a href="/photos/') == 48
    assert f'href="/people/{ann.id}?offset=48" rel="next"' in html
    assert f'href="/people/{ann.id}?faces_offset=30" rel="next"' in html
    second = page_ok(await world.ui.get(f"/people/{ann.id}?offset=48&faces_offset=30"))
    assert second.count('<li><a href="/photos/') == 2
    assert second.count('name="face_ids"') == 20


# -- errors and escaping ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/people/999999", "/people/clusters/999999", "/people/abc"])
async def test_an_unknown_id_gives_the_html_404_page(world: World, path: str) -> None:
    response = await world.ui.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "404 · NotFound" in response.text


async def test_bad_form_input_gives_an_html_4xx_page(world: World) -> None:
    bad_face = await world.ui.post("/people/faces/not-a-uuid/pin", data={"pinned": "1"})
    assert bad_face.status_code == 400 and "is not a face id" in bad_face.text
    assert bad_face.headers["content-type"].startswith("text/html")
    missing = await world.ui.post("/people/clusters/5/hidden", data={})
    assert missing.status_code == 400 and 'role="alert"' in missing.text
    huge = await world.ui.get("/people/99999999999999999999")
    assert huge.status_code == 400


async def test_the_back_field_only_leads_to_people_pages(world: World) -> None:
    response = await world.ui.post("/people/clusters/run", data={"back": "//evil.example/people"})
    assert urlsplit(response.headers["location"]).path == "/people/clusters"
    assert "evil" not in response.headers["location"]


async def test_a_hostile_name_is_escaped_everywhere(world: World) -> None:
    cluster, _ = await cluster_of(world, "c", 2)
    response = await world.ui.post(f"/people/clusters/{cluster}/label", data={"name": HOSTILE})
    location = response.headers["location"]
    assert parse_qs(urlsplit(location).query)["notice"][0].startswith(f"Cluster {cluster} labeled <script>")
    person = await world.person_id(HOSTILE)
    pages = [await world.ui.get(location), await world.ui.get("/people"),
             await world.ui.get(f"/people/{person}")]
    await world.db.people.create_person("Ann")
    pages.append(await world.ui.get("/people/clusters"))  # the datalist and the selects
    await cluster_of(world, "d", 2)
    pages.append(await world.ui.get("/people/clusters"))
    for page in pages:
        html = page_ok(page)
        assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page_ok(pages[2])


async def test_pages_say_faces_are_not_available_without_the_people_service(
    pool: AsyncConnectionPool, tmp_path: Path
) -> None:
    async with await client(gateway(tmp_path, pool, None)) as ui:
        for path in ("/people", "/people/clusters", "/people/1"):
            html = page_ok(await ui.get(path))
            assert "Faces are not available" in html
        refused = await ui.post("/people/clusters/run")
        assert refused.status_code == 503 and "faces are not available" in refused.text
