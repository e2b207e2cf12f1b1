"""Enter in a form presses its first submit button: on a person's page, ticking a face and pressing Enter
must move the ticked faces (or do nothing), never say "Not this person" of the first face on the page.
Chromium (as tests/ui) over the real page from the FastAPI app (httpx.ASGITransport, real PostgreSQL people
store). Async Playwright, so it lives here: tests/ui's sync Playwright keeps an event loop running."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Route, async_playwright
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.faces import FaceRepository
from imgsearch.common.db.images import ImageRepository
from imgsearch.common.db.people import PeopleRepository
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.files import LibraryRoots
from imgsearch.gateway.people import PeopleService
from imgsearch.gateway.service import Gateway
from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.faces_db import FacesDb
from tests.support.gateway_world import IngestRecorder
from tests.support.people_fakes import FakePublisher
from tests.support.search_fakes import in_process_client

pytestmark = pytest.mark.integration
BASE = "http://gateway"


@pytest.fixture
async def people_app(pool: AsyncConnectionPool, tmp_path: Path
                     ) -> AsyncIterator[tuple[FacesDb, httpx.AsyncClient]]:
    db = FacesDb(pool, PeopleRepository(pool), FaceRepository(pool))
    gateway = Gateway(
        search=in_process_client(None), images=ImageRepository(pool), request_ingest=IngestRecorder(),
        library=LibraryRoots([tmp_path]), thumbnails_dir=tmp_path, probes={},
        people=PeopleService(db.people, FakePublisher(), tmp_path / "crops"),
    )
    transport = httpx.ASGITransport(app=create_app(gateway), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as ui:
        yield db, ui


async def press_enter_on_the_second_face(ui: httpx.AsyncClient, person_id: int) -> list[str]:
    """Opens the person's page in Chromium, ticks the second face with Space, presses Enter; the requests
    the browser made (method and path)."""
    sent: list[str] = []

    async def serve(route: Route) -> None:
        request = route.request
        url = urlsplit(request.url)
        sent.append(f"{request.method} {url.path}")
        target = url.path + (f"?{url.query}" if url.query else "")
        response = await ui.request(request.method, target, content=request.post_data_buffer,
                                    headers=await request.all_headers(), follow_redirects=True)
        await route.fulfill(status=response.status_code, body=response.content,
                            content_type=response.headers.get("content-type"))

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.route(f"{BASE}/**", serve)
            await page.goto(f"{BASE}/people/{person_id}")
            boxes = page.locator('input[name="face_ids"]')
            await boxes.nth(1).focus()
            await page.keyboard.press("Space")
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
        finally:
            await browser.close()
    return [s for s in sent if not s.startswith("GET /static/") and "/crop" not in s]


async def test_enter_on_a_ticked_face_moves_it_and_rejects_nothing(
    people_app: tuple[FacesDb, httpx.AsyncClient],
) -> None:
    db, ui = people_app
    faces = [(await db.photo(f"ann-{n}"))[1][0] for n in range(2)]
    ann, _ = await db.people.create_person("Ann", faces)
    _, (bob_face,) = await db.photo("bob-1")
    bob, _ = await db.people.create_person("Bob", [bob_face])
    page = (await ui.get(f"/people/{ann.id}")).text
    ticked = page.split('name="face_ids" value="')[2].split('"')[0]  # the second face on the page
    untouched = next(f for f in faces if f != ticked)

    sent = await press_enter_on_the_second_face(ui, ann.id)
    assert "POST /people/faces/move" in sent, sent
    assert not any("/reject" in s for s in sent), sent
    assert await db.people_of([ticked, untouched, bob_face]) == [bob.id, ann.id, bob.id]
    assert await db.rejections() == set()


async def test_with_nobody_to_move_to_enter_only_reloads(
    people_app: tuple[FacesDb, httpx.AsyncClient],
) -> None:
    db, ui = people_app
    faces = [(await db.photo(f"ann-{n}"))[1][0] for n in range(2)]
    ann, _ = await db.people.create_person("Ann", faces)
    sent = await press_enter_on_the_second_face(ui, ann.id)
    assert not any(s.startswith("POST") for s in sent), sent
    assert await db.people_of(faces) == [ann.id, ann.id]
    assert await db.rejections() == set()
