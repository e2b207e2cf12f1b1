"""The Import pages on a real PostgreSQL through the gateway app: the folder browser with checkboxes and
photo counts, starting a session from ticked subdirectories, Pause / Resume / Cancel through the forms,
failed files with their reasons (paged), the session list, and HTML error pages for what is refused."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from markupsafe import escape
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.duplicates import DuplicatesRepository
from imgsearch.common.db.session_work import SessionWork
from imgsearch.common.db.sessions import SessionRepository
from imgsearch.common.settings import DuplicatesSettings, IngestSettings
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.browse import DirectoryBrowser
from imgsearch.gateway.files import LibraryRoots
from imgsearch.gateway.library import LibraryCatalog
from imgsearch.gateway.sessions import IngestSessions
from imgsearch.gateway.ui.import_pages import DIRECTORIES_PAGE, FAILURES_PAGE, SESSIONS_PAGE
from tests.support.gateway_world import GatewayWorld, build_world
from tests.support.scanned_files import Scanned

pytestmark = pytest.mark.integration

HOSTILE = '<img src=x onerror="alert(1)">&amp;'
HOSTILE_REASON = "not an image: <script>alert('x')</script>"


async def _wake(session_id: int, folder: Path) -> None:
    """The bus command that tells the ingest service: nothing listens in these tests."""


@dataclass
class World:
    base: GatewayWorld
    pool: AsyncConnectionPool
    repo: SessionRepository

    @property
    def library(self) -> Path:
        return self.base.library.resolve()

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=create_app(self.base.gateway), raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://gateway")


@pytest.fixture
async def world(tmp_path: Path, pool: AsyncConnectionPool) -> AsyncIterator[World]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        base = await build_world(tmp_path, executor)
        library = base.library
        (library / "2021" / "summer").mkdir(parents=True)
        for name in ("a.jpg", "b.png", "notes.json"):  # the sidecar is not a photo
            (library / "2021" / "summer" / name).write_bytes(b"x")
        (library / "2021" / "winter").mkdir()
        (library / HOSTILE).mkdir()
        (library / HOSTILE / "p.jpg").write_bytes(b"x")
        roots = LibraryRoots([library])
        repo = SessionRepository(pool)
        base.gateway.sessions = IngestSessions(repo, roots, _wake)
        base.gateway.catalog = LibraryCatalog(
            DirectoryBrowser(roots, IngestSettings().exclude), DuplicatesRepository(pool),
            DuplicatesSettings().near_threshold,
        )
        yield World(base, pool, repo)


def _checkboxes(html: str) -> dict[str, str]:
    """value -> the text of its label."""
    found = {}
    boxes = r'<input type="checkbox" id="([^"]+)" name="subdirectories" value="([^"]*)">'
    for box_id, value in re.findall(boxes, html):
        label = re.search(rf'<label for="{box_id}">([^<]*)</label>', html)
        assert label is not None, f"checkbox {value} has no label"
        found[value] = label.group(1)
    return found


def _rows(html: str) -> dict[str, str]:
    """checkbox value -> the row's whole text (count and Open link)."""
    rows = {}
    for row in re.findall(r"<li>(.*?)</li>", html, re.S):
        value = re.search(r'name="subdirectories" value="([^"]*)"', row)
        if value:
            rows[value.group(1)] = row
    return rows


def _state(html: str) -> str:
    found = re.search(r'id="session-state">([^<]*)<', html)
    assert found is not None
    return found.group(1)


def _visible_actions(html: str) -> list[str]:
    forms = r'<form method="post" action="[^"]+" data-action="(\w+)"( hidden)?'
    return [action for action, hidden in re.findall(forms, html) if not hidden]


async def _start(client: httpx.AsyncClient, path: Path, *subdirectories: str, priority: str = "normal"
                 ) -> int:
    response = await client.post("/import", data={
        "path": str(path), "subdirectories": list(subdirectories), "priority": priority})
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    found = re.fullmatch(r"/import/sessions/(\d+)", location.path)
    assert found is not None, location
    assert parse_qs(location.query)["notice"][0].startswith("Import started")
    return int(found.group(1))


async def test_the_browser_lists_subdirectories_with_checkboxes_and_photo_counts(world: World) -> None:
    async with world.client() as client:
        page = await client.get("/import")  # one root: the browser starts inside it
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        assert "<h1>Import</h1>" in html
        escaped = str(escape(HOSTILE))
        assert _checkboxes(html) == {"2020": "2020", "2021": "2021", escaped: escaped}
        rows = _rows(html)
        assert "2 photos" in rows["2020"] and "2 photos" in rows["2021"]  # the .json sidecar is not counted
        assert "escape" not in html  # a link that leads out of the library is not offered
        assert f'<input type="hidden" name="path" value="{world.library}">' in html
        assert '<option value="normal" selected>normal</option>' in html
        assert '<button type="submit">Start import</button>' in html
        assert "<img src=x" not in html and "alert(1)\">" not in html
        open_2021 = re.search(r'<a class="open" href="([^"]+)">Open', rows["2021"])
        assert open_2021 is not None

        inner = (await client.get(open_2021.group(1).replace("&amp;", "&"))).text
        assert _checkboxes(inner) == {"summer": "summer", "winter": "winter"}
        assert "2 photos" in _rows(inner)["summer"] and "0 photos" in _rows(inner)["winter"]
        crumbs = re.search(r'<nav aria-label="Breadcrumb" class="crumbs">(.*?)</nav>', inner, re.S)
        assert crumbs is not None and 'aria-current="page">2021</a>' in crumbs.group(1)
        assert f'value="{world.library / "2021"}"' in inner

        hostile = (await client.get("/import", params={"path": str(world.library / HOSTILE)})).text
        assert "<img src=x" not in hostile
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&amp;amp;" in hostile


async def test_many_subdirectories_are_paged_and_a_name_that_is_not_utf8_is_shown_not_offered(
    world: World,
) -> None:
    many = world.library / "many"
    for n in range(DIRECTORIES_PAGE + 5):
        (many / f"d{n:03d}").mkdir(parents=True)
    os.mkdir(os.fsencode(many) + b"/z-\xff")  # a name a Windows share or an old camera may leave
    async with world.client() as client:
        first = (await client.get("/import", params={"path": str(many)})).text
        assert list(_checkboxes(first)) == [f"d{n:03d}" for n in range(DIRECTORIES_PAGE)]
        assert f"Subdirectories 1–{DIRECTORIES_PAGE} of {DIRECTORIES_PAGE + 6}" in first
        following = re.search(r'<a href="([^"]+)">Next</a>', first)
        assert following is not None
        second = (await client.get(following.group(1).replace("&amp;", "&"))).text
        rest = range(DIRECTORIES_PAGE, DIRECTORIES_PAGE + 5)
        assert list(_checkboxes(second)) == [f"d{n:03d}" for n in rest]
        assert f'id="sub-{DIRECTORIES_PAGE}"' in second  # ids stay unique across pages
        assert "z-\ufffd" in second and "the name is not UTF-8" in second


async def test_with_several_roots_the_browser_starts_at_the_roots(world: World, tmp_path: Path) -> None:
    second = tmp_path / "scans"
    (second / "1999").mkdir(parents=True)
    (second / "1999" / "x.tif").write_bytes(b"x")
    roots = LibraryRoots([world.base.library, second])
    world.base.gateway.library = roots
    world.base.gateway.catalog = LibraryCatalog(
        DirectoryBrowser(roots, IngestSettings().exclude), DuplicatesRepository(world.pool), 10)
    async with world.client() as client:
        html = (await client.get("/import")).text
        assert _checkboxes(html) == {} and 'action="/import"' not in html  # a root is opened, not ticked
        assert "Open a library root" in html and "1 photo<" in html
        opens = re.findall(r'<a class="open" href="([^"]+)">Open', html)
        assert len(opens) == 2
        inner = (await client.get(opens[1].replace("&amp;", "&"))).text
        assert _checkboxes(inner) == {"1999": "1999"}
        crumbs = re.search(r'<nav aria-label="Breadcrumb" class="crumbs">(.*?)</nav>', inner, re.S)
        assert crumbs is not None and '<a href="/import">Library</a>' in crumbs.group(1)


async def test_starting_an_import_with_two_ticked_subdirectories(world: World) -> None:
    async with world.client() as client:
        session_id = await _start(client, world.base.library, "2020", "2021", priority="high")
        record = await world.repo.get(session_id)
        assert record is not None
        assert (record.root, record.subdirectories, record.priority, record.origin) == (
            str(world.library), ["2020", "2021"], "high", "user")

        page = await client.get(f"/import/sessions/{session_id}")
        assert page.status_code == 200
        html = page.text
        assert f"<h1>Import · <span class=\"path\">{world.library}</span></h1>" in html
        overall = r'<progress id="overall-progress" aria-label="Overall progress" value="0" max="100">'
        assert re.search(overall, html)
        assert _state(html) == "discovering"
        assert _visible_actions(html) == ["pause", "cancel"]
        assert '<script src="/static/import.js" defer></script>' in html  # still moving: followed live
        assert '<meta http-equiv="refresh"' in html  # inside <noscript>
        assert [name for name in re.findall(r'<tr data-subdirectory="([^"]*)">', html)] == ["2020", "2021"]
        for stage in ("ingested", "embedded", "faces_done", "failed"):
            assert f'data-stage="{stage}"' in html
        assert "No files have failed." in html

        listing = (await client.get("/import")).text
        assert f'<a href="/import/sessions/{session_id}">Session {session_id}</a>' in listing

        whole = await _start(client, world.base.library / "2021")  # nothing ticked: the whole folder
        record = await world.repo.get(whole)
        assert record is not None and (record.root, record.subdirectories, record.priority) == (
            str(world.library / "2021"), [], "normal")


async def test_pause_resume_and_cancel_through_the_forms(world: World) -> None:
    async with world.client() as client:
        session_id = await _start(client, world.base.library, "2020")
        url = f"/import/sessions/{session_id}"
        steps: list[tuple[str, str, list[str]]] = [
            ("pause", "paused", ["resume", "cancel"]), ("resume", "discovering", ["pause", "cancel"]),
            ("cancel", "cancelled", []),
        ]
        for action, state, actions in steps:
            response = await client.post(f"{url}/{action}")
            assert response.status_code == 303 and urlsplit(response.headers["location"]).path == url
            record = await world.repo.get(session_id)
            assert record is not None and record.state == state
            page = (await client.get(response.headers["location"])).text
            assert _state(page) == state and _visible_actions(page) == actions
            assert f"session {session_id} is {state}" in page  # the notice
        assert "/static/import.js" not in page and "http-equiv" not in page  # finished: nothing to follow

        refused = await client.post(f"{url}/resume")
        assert refused.status_code == 409 and refused.headers["content-type"].startswith("text/html")
        assert "cannot resume" in refused.text and 'role="alert"' in refused.text


async def test_failed_files_show_their_stage_and_reason_paged(world: World) -> None:
    root = world.library / "2020"
    files = [Scanned(root / f"bad-{n:03d}.jpg") for n in range(FAILURES_PAGE + 5)]
    session_id = await world.repo.create(root, [], "normal", [], [], files=[*files, Scanned(root / "ok.jpg")])
    work = SessionWork(world.pool, "worker", 30.0)
    claimed = await work.claim(session_id, len(files) + 1)
    for file in claimed:
        ok = file.path.name == "ok.jpg"
        await work.finish_file(session_id, file.path, "ingested" if ok else "failed", None,
                               None if ok else HOSTILE_REASON)

    async with world.client() as client:
        html = (await client.get(f"/import/sessions/{session_id}")).text
        assert _state(html) == "done"
        rows = re.findall(r'<td data-label="Path" class="path">([^<]*)</td><td data-label="Stage">(\w+)</td>'
                          r'<td data-label="Reason">([^<]*)</td>', html)
        assert len(rows) == FAILURES_PAGE
        assert rows[0] == (str(root / "bad-000.jpg"), "ingest",
                           "not an image: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
        assert "<script>alert" not in html
        failed = re.search(r'data-stage="failed">.*?data-field="count">([^<]*)<', html, re.S)
        assert failed is not None and failed.group(1) == str(len(files))
        following = re.search(r'<a href="([^"]+)">Next</a>', html)
        assert following is not None
        second = (await client.get(following.group(1).replace("&amp;", "&"))).text
        assert len(re.findall(r'<td data-label="Stage">ingest</td>', second)) == 5
        assert f"Failed files {FAILURES_PAGE + 1}–{len(files)} of {len(files)}" in second


async def test_the_session_list_is_paged_newest_first(world: World) -> None:
    made = [await world.repo.create(world.library, [], "bulk", [], [], origin="watch", files=[])
            for _ in range(SESSIONS_PAGE + 2)]
    async with world.client() as client:
        first = (await client.get("/import")).text
        listed = [int(n) for n in re.findall(r'<a href="/import/sessions/(\d+)">', first)]
        assert listed == made[::-1][:SESSIONS_PAGE]
        assert re.search(r'<progress max="100" value="100" aria-label="Session \d+ progress">', first)
        following = re.search(r'<nav class="pager" aria-label="Session pages">.*?<a href="([^"]+)">Next</a>',
                              first, re.S)
        assert following is not None
        second = (await client.get(following.group(1).replace("&amp;", "&"))).text
        assert [int(n) for n in re.findall(r'<a href="/import/sessions/(\d+)">', second)] == made[1::-1]


@pytest.mark.parametrize(
    ("method", "url", "data", "status", "mentions"),
    [
        ("GET", "/import?path={outside}", None, 403, "outside the library"),
        ("GET", "/import?path={library}/../outside", None, 403, "&#39;..&#39;"),
        ("GET", "/import?path={library}/escape", None, 403, "outside the library"),
        ("GET", "/import?path={library}/nope", None, 404, "does not exist"),
        ("GET", "/import?offset=-1", None, 400, "offset"),
        ("POST", "/import", {"path": "{outside}"}, 403, "outside the library"),
        ("POST", "/import", {"path": "{library}", "subdirectories": ["../outside"]}, 400, "plain relative"),
        ("POST", "/import", {"path": "{library}", "subdirectories": ["escape"]}, 403, "outside the library"),
        ("POST", "/import", {"path": "{library}", "priority": "urgent"}, 400, "priority"),
        ("POST", "/import", {}, 400, "path"),
        ("GET", "/import/sessions/77", None, 404, "no ingest session 77"),
        ("GET", "/import/sessions/seventy", None, 400, "session_id"),
        ("GET", "/import/sessions/99999999999999999999", None, 400, "session_id"),
        ("POST", "/import/sessions/77/pause", None, 404, "no ingest session 77"),
    ],
)
async def test_refusals_are_html_error_pages(
    world: World, method: str, url: str, data: dict[str, object] | None, status: int, mentions: str
) -> None:
    def fill(text: str) -> str:
        return text.format(library=world.base.library, outside=world.base.outside)

    form = {key: fill(value) if isinstance(value, str) else value for key, value in (data or {}).items()}
    async with world.client() as client:
        response = await client.request(method, fill(url), data=form or None)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in response.text and mentions in response.text
    assert await world.repo.list_sessions() == ([], 0)


async def test_without_sessions_import_says_it_is_not_available(world: World) -> None:
    world.base.gateway.sessions = None
    async with world.client() as client:
        page = await client.get("/import")
        assert page.status_code == 200 and "Import is not available here" in page.text
        assert "<form" not in page.text.split("<main", 1)[1].replace('action="/logout"', "")
        refused = await client.get("/import/sessions/1")
        assert refused.status_code == 503 and "Import is not available here" in refused.text
