"""The search page (/) and the photo page (/photos/{id}) over httpx.ASGITransport, with the gateway wired to
fakes at its ports (tests/support/gateway_world.py): the rendered HTML, as UI_CONTRACT describes it."""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from imgsearch.common.db.cameras import CameraCount
from imgsearch.common.ids import point_id
from imgsearch.common.vectors.port import IMAGES_COLLECTION, VectorPoint
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.ui.search_pages import PARTIAL_HEADER
from tests.support.gateway_world import JUNE_2020, GatewayWorld, build_world
from tests.support.search_fakes import image_id, make_record, unit

BEACH, STREET = image_id("beach"), image_id("street")
MANY = 130  # photos in /library/many: three pages of 60
CAMERA = "Canon EOS 6D"


class FakeCameras:
    async def counts(self) -> list[CameraCount]:
        return [CameraCount(CAMERA, MANY), CameraCount("Apple iPhone 12", 3)]


@pytest.fixture
async def world(tmp_path: Path, executor: ThreadPoolExecutor) -> GatewayWorld:
    world = await build_world(tmp_path, executor)
    world.gateway.camera_lister = FakeCameras()
    return world


def add_many(world: GatewayWorld) -> list[str]:
    """MANY photos in one folder, taken a day apart from JUNE_2020, all with CAMERA; ranked by name."""
    folder, ids = f"{world.library}/many", []
    for n in range(MANY):
        name, taken = f"many-{n:03d}", JUNE_2020 + timedelta(days=n)
        record = make_record(name, f"{folder}/{name}.jpg", taken, camera_make="Canon", camera_model=CAMERA)
        world.images.records[record.id] = record
        world.people.images.add(record.id)
        payload = {"image_id": record.id, "folders": [folder], "taken_at": taken.timestamp(),
                   "camera": CAMERA}
        point = VectorPoint(point_id(record.id), unit([1, 0.1 + n / 1000, 0, 0]), payload)
        world.store.points[IMAGES_COLLECTION][point.id] = point
        ids.append(record.id)
    return ids


@pytest.fixture
def app(world: GatewayWorld) -> FastAPI:
    return create_app(world.gateway)


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def get(app: FastAPI, url: str, **params: object) -> httpx.Response:
    async with client(app) as http:
        return await http.get(url, params=params or None)  # type: ignore[arg-type]


def grid_ids(page: str) -> list[str]:
    grid = page.split('<ul class="grid" aria-label="Results">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<a href="/photos/([0-9a-f]{64})">', grid)


def link(page: str, text: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)" rel="\w+">{text}</a>', page)
    return html.unescape(found.group(1)) if found else None


def label_for(page: str, text: str) -> str:
    """The id of the control a <label> with this text names (and the control exists)."""
    found = re.search(rf'<label for="([\w-]+)">{re.escape(text)}</label>', page)
    assert found, f"no label {text!r}"
    assert f'id="{found.group(1)}"' in page
    return found.group(1)


async def test_the_form_has_every_labelled_control_and_no_grid_without_a_query(
    world: GatewayWorld, app: FastAPI
) -> None:
    world.people.add_person("Zoe")
    world.people.add_person("alice")
    response = await get(app, "/")
    page = response.text
    assert response.status_code == 200
    assert '<form role="search" method="get" action="/"' in page
    assert re.search(r'<input type="search" id="q" name="q"', page)
    assert '<button type="submit">Search</button>' in page
    assert "<legend>People</legend>" in page
    for text, name in [("Search photos", "q"), ("With all of", "people_all"), ("With any of", "people_any"),
                       ("Without", "people_none"), ("Taken after", "taken_after"),
                       ("Taken before", "taken_before"), ("Folder", "folder"), ("Camera", "camera"),
                       ("Near (lat, lon)", "near"), ("Radius (km)", "radius_km")]:
        control = label_for(page, text)
        assert re.search(rf'id="{control}" name="{name}"|name="{name}"[^>]*id="{control}"', page), text
    for name in ("people_all", "people_any", "people_none"):
        assert f'<select multiple id="{name}" name="{name}"' in page
    assert 'type="date" id="taken_after"' in page and 'type="date" id="taken_before"' in page
    # people by name (case-insensitive), cameras after "Any camera"
    assert page.index('">alice</option>') < page.index('">Zoe</option>')
    camera_select = page.split('<select id="camera" name="camera">', 1)[1].split("</select>", 1)[0]
    options = re.findall(r"<option[^>]*>([^<]*)</option>", camera_select)
    assert options == ["Any camera", "Apple iPhone 12", CAMERA]
    assert 'class="hint"' in page and 'class="grid"' not in page


async def test_results_link_to_photo_pages_with_thumbnails_alt_text_and_scores(app: FastAPI) -> None:
    response = await get(app, "/", q="sunset")
    page = response.text
    assert response.status_code == 200
    assert grid_ids(page) == [BEACH, STREET]
    assert (f'<a href="/photos/{BEACH}">\n    <img src="/api/v1/images/{BEACH}/thumbnail" alt="beach.jpg" '
            'loading="lazy"') in page
    assert 'alt="street.jpg"' in page
    scores = [float(s) for s in re.findall(r'<span class="sr-only">score </span>([0-9.]+)</span>', page)]
    assert len(scores) == 2 and scores[0] > scores[1]
    assert '<span class="taken">2020-06-01</span>' in page
    assert link(page, "Next") is None and link(page, "Previous") is None  # one page
    assert 'value="sunset"' in page


async def test_filters_round_trip_through_the_form_and_the_pager(world: GatewayWorld, app: FastAPI) -> None:
    ids = add_many(world)
    alice = world.people.add_person("Alice")
    world.people.add_face(BEACH, person_id=alice)  # Alice is only in beach.jpg, outside the folder
    params: dict[str, object] = {
        "q": "sunset", "folder": f"{world.library}/many/", "taken_after": "2020-06-01",
        "taken_before": "2021-12-31", "camera": CAMERA, "people_none": [str(alice)],
    }
    first = await get(app, "/", **params)
    assert first.status_code == 200, first.text
    assert grid_ids(first.text) == ids[:60]
    assert link(first.text, "Previous") is None
    next_url = link(first.text, "Next")
    assert next_url is not None
    sent = parse_qs(urlsplit(next_url).query)
    assert sent == {**{k: [v] for k, v in params.items() if k != "people_none"},
                    "people_none": [str(alice)], "offset": ["60"]}
    # the form shows what was chosen
    assert f'<option value="{alice}" selected>Alice</option>' in first.text
    assert f'<option value="{CAMERA}" selected>{CAMERA}</option>' in first.text
    assert 'name="taken_after" value="2020-06-01"' in first.text
    assert f'name="folder" value="{world.library}/many/"' in first.text
    # every filter reached the search
    _, limit, offset, search_filter = world.store.searches[-1]
    assert (limit, offset) == (60, 0)
    assert search_filter is not None and search_filter.camera == CAMERA
    assert search_filter.folder == f"{world.library}/many"
    assert search_filter.taken_before == datetime(2021, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

    second = await get(app, next_url)
    assert grid_ids(second.text) == ids[60:120]
    previous = link(second.text, "Previous")
    assert previous is not None and "offset" not in parse_qs(urlsplit(previous).query)
    third_url = link(second.text, "Next")
    assert third_url is not None
    third = await get(app, third_url)
    assert grid_ids(third.text) == ids[120:]
    assert link(third.text, "Next") is None


async def test_the_partial_page_for_search_js_is_the_results_alone(
    world: GatewayWorld, app: FastAPI
) -> None:
    ids = add_many(world)
    params = {"q": "sunset", "folder": f"{world.library}/many", "offset": "60"}
    async with client(app) as http:
        response = await http.get("/", params=params, headers={PARTIAL_HEADER: "results"})
    assert response.status_code == 200
    assert "<form" not in response.text and "<html" not in response.text
    assert grid_ids(response.text) == ids[60:120]
    assert link(response.text, "Next") is not None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"taken_after": "2020-13-45"}, "taken_after must be a date"),
        ({"taken_before": "yesterday"}, "taken_before must be a date"),
        ({"taken_after": "2021-01-01", "taken_before": "2020-01-01"}, "is later than taken_before"),
        ({"people_all": "alice"}, "people_all: &#39;alice&#39; is not a person id"),
        ({"people_any": "0"}, "is not a person id"),
        ({"near": "52.5"}, "near and radius_km go together"),
        ({"near": "north", "radius_km": "5"}, "near must be"),
        ({"near": "95,10", "radius_km": "5"}, "latitude must be between -90 and 90"),
        ({"near": "52.5,13.4", "radius_km": "far"}, "radius_km must be a number"),
        ({"folder": "relative/path"}, "absolute"),
        ({"offset": "-60"}, "offset must be between"),
        ({"offset": "lots"}, "offset must be a whole number"),
        ({"q": "x" * 1001}, "longer than 1000 characters"),
    ],
)
async def test_a_bad_filter_renders_the_form_with_a_message_and_400(
    app: FastAPI, params: dict[str, str], message: str
) -> None:
    response = await get(app, "/", **{"q": "sunset", **params})
    assert response.status_code == 400
    alert = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
    assert alert and message in alert.group(1)
    assert '<form role="search"' in response.text and 'class="grid"' not in response.text


async def test_a_bad_value_is_shown_escaped_as_typed(app: FastAPI) -> None:
    response = await get(app, "/", q="sunset", folder='"><script>alert(1)</script>')
    assert response.status_code == 400
    assert "<script>alert(1)" not in response.text
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in response.text


async def test_more_like_this_shows_the_photos_like_one_in_the_same_grid(app: FastAPI) -> None:
    response = await get(app, "/", similar=BEACH)
    page = response.text
    assert response.status_code == 200
    assert f'Photos like <a href="/photos/{BEACH}">beach.jpg</a>' in page
    assert grid_ids(page) == [STREET]
    assert f'<input type="checkbox" id="similar" name="similar" value="{BEACH}" checked>' in page


async def test_more_like_an_unknown_photo_says_so(app: FastAPI) -> None:
    response = await get(app, "/", similar="0" * 64)
    assert response.status_code == 404
    assert re.search(r'role="alert">no image 0{64}<', response.text)


async def test_a_search_service_outage_is_a_503_page_with_the_form(
    tmp_path: Path, executor: ThreadPoolExecutor
) -> None:
    world = await build_world(tmp_path, executor, search_up=False)
    response = await get(create_app(world.gateway), "/", q="sunset")
    assert response.status_code == 503
    assert 'role="alert"' in response.text and '<form role="search"' in response.text
    assert 'value="sunset"' in response.text


async def test_the_photo_page_shows_metadata_faces_with_names_and_more_like_this(
    world: GatewayWorld, app: FastAPI
) -> None:
    alice = world.people.add_person("Alice")
    world.people.add_face(BEACH, 0, person_id=alice)  # box (0, 10, 50, 60) on a 640 x 480 photo
    world.people.add_face(BEACH, 320)
    response = await get(app, f"/photos/{BEACH}")
    page = response.text
    assert response.status_code == 200
    assert '<h1 class="photo-title">beach.jpg</h1>' in page
    assert f'<img src="/api/v1/images/{BEACH}/original" alt="beach.jpg"' in page  # a JPEG: the original
    meta = page.split('<dl class="meta">', 1)[1].split("</dl>", 1)[0]
    terms = dict(re.findall(r"<dt>([^<]*)</dt>\s*<dd[^>]*>(.*?)</dd>", meta, re.S))
    assert "2020-06-01 00:00" in terms["Taken"]
    assert terms["Date from"] == "exif"
    assert terms["Camera"] == "Canon EOS"
    assert terms["Dimensions"] == "640 × 480 px"
    assert terms["Size"] == "1.2 KB (1,234 bytes)"
    assert terms["Place"] == "52.50000, 13.40000 (34 m altitude)"
    assert terms["Path"] == f'<ul class="paths"><li>{world.library}/2020/beach.jpg</li></ul>'
    # boxes in % of the upright image, named or "Unknown"; the names listed with links to the person
    assert (f'<a class="box" href="/people/{alice}" tabindex="-1" aria-hidden="true"\n         style='
            '"left: 0.000%; top: 2.083%; width: 7.812%; height: 10.417%"><span>Alice</span></a>') in page
    assert 'style="left: 50.000%; top: 2.083%; width: 7.812%; height: 10.417%"><span>Unknown</span>' in page
    faces = page.split('<ul class="face-list">', 1)[1].split("</ul>", 1)[0]
    assert f'<a href="/people/{alice}">Alice</a>' in faces and "<span>Unknown</span>" in faces
    assert f'<a class="button" href="/?similar={BEACH}">More like this</a>' in page


async def test_a_photo_the_browser_cannot_show_is_its_thumbnail_and_boxes_fit_its_upright_size(
    world: GatewayWorld, app: FastAPI
) -> None:
    # a portrait HEIC: stored width and height are upright (after EXIF orientation), as the face boxes are
    record = replace(world.images.records[STREET], format="HEIF", width=300, height=400, orientation=6)
    world.images.records[STREET] = record
    world.people.add_face(STREET, 150)  # box (150, 10, 200, 60)
    page = (await get(app, f"/photos/{STREET}")).text
    assert f'<img src="/api/v1/images/{STREET}/thumbnail" alt="street.jpg" width="300" height="400">' in page
    assert 'style="left: 50.000%; top: 2.500%; width: 16.667%; height: 12.500%"><span>Unknown</span>' in page


async def test_photo_pages_of_unknown_or_malformed_ids_are_error_pages(app: FastAPI) -> None:
    missing = await get(app, f"/photos/{'0' * 64}")
    assert missing.status_code == 404
    assert "<h1>404 · NotFound</h1>" in missing.text and 'role="alert"' in missing.text
    malformed = await get(app, "/photos/not-an-id")
    assert malformed.status_code == 400 and "is not an image id" in malformed.text


async def test_a_hostile_file_name_is_escaped_in_results_and_on_its_page(
    world: GatewayWorld, app: FastAPI
) -> None:
    path = f"{world.library}/<script>alert(1)</script>/<img src=x onerror=alert(2)>.jpg"
    hostile = make_record("hostile", path, JUNE_2020)
    world.images.records[hostile.id] = hostile
    world.people.images.add(hostile.id)
    point = VectorPoint(point_id(hostile.id), unit([1, 0, 0, 0]), {"image_id": hostile.id, "folders": []})
    world.store.points[IMAGES_COLLECTION][point.id] = point
    name = "&lt;img src=x onerror=alert(2)&gt;.jpg"
    results = (await get(app, "/", q="sunset")).text
    assert hostile.id in grid_ids(results)
    assert f'alt="{name}"' in results and "<img src=x" not in results
    photo = (await get(app, f"/photos/{hostile.id}")).text
    assert f'<h1 class="photo-title">{name}</h1>' in photo and f"<title>{name} · imgsearch</title>" in photo
    assert "&lt;script&gt;alert(1)&lt;/script&gt;/" in photo
    assert "<script>alert" not in photo and "<img src=x" not in photo


async def test_a_bad_filter_without_a_query_is_reported_too(app: FastAPI) -> None:
    response = await get(app, "/", taken_before="31/12/2020")
    assert response.status_code == 400
    assert re.search(r'role="alert">taken_before must be a date', response.text)
