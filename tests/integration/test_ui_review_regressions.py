"""Regressions found in review of the web UI (issue 5), over the real PostgreSQL people store through the
FastAPI app: where a form sends the browser back to, and pages past the end of a list."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.faces import FaceRepository
from imgsearch.common.db.people import PeopleRepository
from imgsearch.gateway.people import PeopleService
from imgsearch.gateway.ui.people_pages import FACES_PER_PAGE
from tests.integration.test_ui_people_pages import World, client, gateway, notice, page_ok
from tests.support.faces_db import FacesDb
from tests.support.people_fakes import FakePublisher

pytestmark = pytest.mark.integration


@pytest.fixture
async def people_ui(pool: AsyncConnectionPool, tmp_path: Path) -> AsyncIterator[World]:
    db = FacesDb(pool, PeopleRepository(pool), FaceRepository(pool))
    published = FakePublisher()
    people = PeopleService(db.people, published, tmp_path / "crops")
    async with await client(gateway(tmp_path, pool, people)) as ui:
        yield World(db, ui, published)


async def test_removing_the_last_faces_of_a_cluster_on_its_page_leads_to_the_clusters_list(
    people_ui: World,
) -> None:
    faces = [(await people_ui.db.photo(f"c-{n}"))[1][0] for n in range(2)]
    cluster = await people_ui.db.cluster(faces)
    page = f"/people/clusters/{cluster}"
    first = await people_ui.ui.post(f"/people/faces/{faces[0]}/uncluster", data={"back": page})
    assert urlsplit(first.headers["location"]).path == page  # one face left: the cluster is still there
    page_ok(await people_ui.ui.get(first.headers["location"]))

    last = await people_ui.ui.post(f"/people/faces/{faces[1]}/uncluster", data={"back": f"{page}?offset=0"})
    assert last.status_code == 303
    assert urlsplit(last.headers["location"]).path == "/people/clusters"  # not the 404 of a gone cluster
    html = page_ok(await people_ui.ui.get(last.headers["location"]))
    assert notice(html) == f"Face removed from its cluster ({faces[1][:8]})."


async def test_a_persons_faces_page_past_the_end_says_so_and_links_back(people_ui: World) -> None:
    faces = [(await people_ui.db.photo(f"ann-{n}"))[1][0] for n in range(FACES_PER_PAGE + 1)]
    ann, _ = await people_ui.db.people.create_person("Ann", faces)
    _, (bob_face,) = await people_ui.db.photo("bob-1")
    bob, _ = await people_ui.db.people.create_person("Bob", [bob_face])
    second = f"/people/{ann.id}?faces_offset={FACES_PER_PAGE}"
    html = page_ok(await people_ui.ui.get(second))
    [last] = re.findall(r'name="face_ids" value="([^"]+)"', html)
    # moving the only face of the last page away sends the browser back to that page, now past the end
    response = await people_ui.ui.post("/people/faces/move", data={
        "to_person_id": str(bob.id), "face_ids": [last], "back": second})
    html = page_ok(await people_ui.ui.get(response.headers["location"]))
    assert "Ann has no faces" not in html
    assert "No faces on this page." in html
    assert f'href="/people/{ann.id}" rel="prev"' in html

    photos = page_ok(await people_ui.ui.get(f"/people/{ann.id}?offset=96"))
    assert "No photos of Ann yet" not in photos and "No photos on this page." in photos
    assert f'href="/people/{ann.id}?offset=48" rel="prev"' in photos
