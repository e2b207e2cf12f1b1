"""REST API over httpx.ASGITransport, with the gateway wired to fakes (tests/support/gateway_world.py)."""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgsearch.common.vectors.port import CollectionSpec
from imgsearch.gateway.api.http import create_app
from tests.support.gateway_world import (
    ORIGINAL_BYTES,
    THUMBNAIL_BYTES,
    GatewayWorld,
    build_world,
    failing_probe,
)
from tests.support.search_fakes import image_id

BEACH, STREET = image_id("beach"), image_id("street")


@pytest.fixture
async def world(tmp_path: Path, executor: ThreadPoolExecutor) -> GatewayWorld:
    return await build_world(tmp_path, executor)


def client_for(world: GatewayWorld) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(world.gateway), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def get(world: GatewayWorld, url: str, **params: Any) -> httpx.Response:
    async with client_for(world) as client:
        return await client.get(url, params=params)


async def test_text_search_returns_ranked_enriched_hits(world: GatewayWorld) -> None:
    response = await get(world, "/api/v1/search", q="sunset", limit=2)
    assert response.status_code == 200
    body = response.json()
    assert [h["image_id"] for h in body["hits"]] == [BEACH, STREET]
    assert body["hits"][0]["path"].endswith("2020/beach.jpg")
    assert body["hits"][0]["taken_at"] == "2020-06-01T00:00:00Z"
    assert body["hits"][0]["thumbnail_url"] == f"/api/v1/images/{BEACH}/thumbnail"
    assert body["hits"][0]["score"] > body["hits"][1]["score"]
    assert body["model"] == {"model": "fake-clip", "pretrained": "test", "dim": 4, "random_weights": False}


async def test_search_filters_are_passed_down(world: GatewayWorld) -> None:
    folder = f"{world.library}/2020/"
    response = await get(
        world, "/api/v1/search", q="sunset", offset=1, limit=7, folder=folder,
        taken_after="2020-01-01T00:00:00", taken_before="2020-12-31T23:59:59+02:00",
    )
    assert response.status_code == 200, response.text
    _, limit, offset, search_filter = world.store.searches[-1]
    assert (limit, offset) == (7, 1)
    assert search_filter is not None and search_filter.folder == f"{world.library}/2020"
    assert search_filter.taken_after == datetime(2020, 1, 1, tzinfo=UTC)  # naive = UTC
    assert search_filter.taken_before == datetime(2020, 12, 31, 21, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "empty"),
        ({"q": "x", "limit": 0}, "limit"),
        ({"q": "x", "limit": 201}, "limit"),
        ({"q": "x", "offset": -1}, "offset"),
        ({"q": "x", "taken_after": "yesterday"}, "taken_after"),
        ({"q": "x", "folder": "relative/folder"}, "absolute"),
        ({"q": "x", "taken_after": "2021-01-01", "taken_before": "2020-01-01"}, "later than"),
    ],
)
async def test_bad_search_parameters_are_400_with_a_message(
    world: GatewayWorld, params: dict[str, Any], mentions: str
) -> None:
    response = await get(world, "/api/v1/search", **params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "InvalidInput" and mentions in body["message"]


async def test_model_mismatch_is_409(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    other = CollectionSpec(model="ViT-L-14", pretrained="openai", dim=4)
    world = await build_world(tmp_path, executor, spec=other)
    response = await get(world, "/api/v1/search", q="sunset")
    assert response.status_code == 409
    assert response.json()["error"] == "ModelMismatch" and "ViT-L-14/openai" in response.json()["message"]


async def test_similar(world: GatewayWorld) -> None:
    response = await get(world, f"/api/v1/images/{BEACH}/similar", limit=5)
    assert response.status_code == 200
    assert [h["image_id"] for h in response.json()["hits"]] == [STREET]
    missing = await get(world, f"/api/v1/images/{image_id('moved')}/similar")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
    bad = await get(world, "/api/v1/images/not-an-id/similar")
    assert bad.status_code == 400 and "64 hex" in bad.json()["message"]


async def test_search_service_down_is_503(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    world = await build_world(tmp_path, executor, search_up=False)
    response = await get(world, "/api/v1/search", q="sunset")
    assert response.status_code == 503 and response.json()["error"] == "Unavailable"


async def test_image_metadata(world: GatewayWorld) -> None:
    response = await get(world, f"/api/v1/images/{BEACH.upper()}")
    assert response.status_code == 200
    body = response.json()
    assert body["image_id"] == BEACH and body["paths"][0].endswith("beach.jpg")
    assert body["gps"] == {"latitude": 52.5, "longitude": 13.4, "altitude": 34.0}
    assert (body["width"], body["height"], body["format"]) == (640, 480, "JPEG")
    assert body["taken_at"] == "2020-06-01T00:00:00Z"
    assert body["thumbnail_url"] == f"/api/v1/images/{BEACH}/thumbnail"
    assert body["embed_status"] == "embedded" and body["error"] is None
    assert (await get(world, f"/api/v1/images/{image_id('unknown')}")).status_code == 404


async def test_thumbnail_and_original_are_served(world: GatewayWorld) -> None:
    thumb = await get(world, f"/api/v1/images/{BEACH}/thumbnail")
    assert thumb.status_code == 200 and thumb.content == THUMBNAIL_BYTES
    assert thumb.headers["content-type"] == "image/jpeg"
    original = await get(world, f"/api/v1/images/{BEACH}/original")
    assert original.status_code == 200 and original.content == ORIGINAL_BYTES
    assert original.headers["content-type"] == "image/jpeg"
    assert (await get(world, f"/api/v1/images/{STREET}/thumbnail")).status_code == 404  # none recorded
    gone = await get(world, f"/api/v1/images/{image_id('secret')}/thumbnail")  # recorded, file gone
    assert gone.status_code == 404


async def test_original_outside_the_library_is_403(world: GatewayWorld) -> None:
    via_symlink = await get(world, f"/api/v1/images/{image_id('secret')}/original")
    assert via_symlink.status_code == 403 and via_symlink.json()["error"] == "OutsideLibrary"
    outside = await get(world, f"/api/v1/images/{image_id('outside')}/original")
    assert outside.status_code == 403
    assert b"secret" not in via_symlink.content + outside.content
    moved = await get(world, f"/api/v1/images/{image_id('moved')}/original")
    assert moved.status_code == 404


async def post_ingest(world: GatewayWorld, body: dict[str, Any]) -> httpx.Response:
    async with client_for(world) as client:
        return await client.post("/api/v1/ingest", json=body)


async def test_ingest_under_a_root_is_accepted(world: GatewayWorld) -> None:
    response = await post_ingest(world, {"path": str(world.library / "2020"), "include": ["*.jpg"]})
    assert response.status_code == 202
    assert response.json() == {  # session_id 0: this gateway has no sessions, it only sends the command
        "request_id": "req-1", "path": str((world.library / "2020").resolve()), "session_id": 0,
    }
    relative = await post_ingest(world, {"path": "2020", "exclude": [".*"]})
    assert relative.status_code == 202
    assert world.ingest.calls[1] == ((world.library / "2020").resolve(), (), (".*",))


@pytest.mark.parametrize(
    ("path", "status", "mentions"),
    [
        ("{library}/../outside", 403, "'..'"),
        ("../outside", 403, "'..'"),
        ("{outside}", 403, "outside the library"),
        ("/etc", 403, "outside the library"),
        ("{library}/escape", 403, "outside the library"),  # symlink inside the root that leads out
        ("{library}/not-a-folder.txt", 400, "not a directory"),
        ("{library}/nope", 404, "does not exist"),
        ("", 400, "empty"),
    ],
)
async def test_ingest_refuses_paths_outside_the_roots(
    world: GatewayWorld, path: str, status: int, mentions: str
) -> None:
    response = await post_ingest(world, {"path": path.format(library=world.library, outside=world.outside)})
    assert response.status_code == status
    assert mentions in response.json()["message"]
    assert world.ingest.calls == []


async def test_ingest_body_validation(world: GatewayWorld) -> None:
    response = await post_ingest(world, {"include": ["*.jpg"]})
    assert response.status_code == 400 and "path" in response.json()["message"]


@pytest.mark.parametrize(
    "path",
    ["loop", "~nosuchuser/x", "a" * 300, "a/" * 2000, "\ud800", "caf\udce9", "{library}//2020//../x"],
)
async def test_unusable_ingest_paths_are_4xx_with_a_message(world: GatewayWorld, path: str) -> None:
    (world.library / "loop").symlink_to(world.library / "loop")
    os.mkdir(os.fsencode(world.library) + b"/caf\xe9")  # a real folder whose name is not UTF-8
    body = json.dumps({"path": path.format(library=world.library)}).encode("ascii")  # lone surrogates too
    async with client_for(world) as client:
        response = await client.post(
            "/api/v1/ingest", content=body, headers={"content-type": "application/json"}
        )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["message"]
    assert world.ingest.calls == []


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"path": "2020", "include": ["*.jpg"] * 101}, "include"),
        ({"path": "2020", "exclude": ["x" * 1025]}, "exclude"),
        ({"path": "2020", "include": ["*.jpg\x00"]}, "include"),
        ({"path": "/" + "a" * 4096}, "path"),
    ],
)
async def test_ingest_request_size_is_bounded(
    world: GatewayWorld, body: dict[str, Any], mentions: str
) -> None:
    response = await post_ingest(world, body)
    assert response.status_code == 400 and mentions in response.json()["message"]
    assert world.ingest.calls == []


@pytest.mark.parametrize(
    "params",
    [{"taken_after": "9999-12-31T23:59:59-14:00"}, {"taken_before": "0001-01-01T00:00:00+14:00"}],
)
async def test_out_of_range_dates_are_400(world: GatewayWorld, params: dict[str, str]) -> None:
    response = await get(world, "/api/v1/search", q="sunset", **params)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "InvalidInput" and "out of range" in response.json()["message"]
    similar = await get(world, f"/api/v1/images/{BEACH}/similar", **params)
    assert similar.status_code == 400


async def test_a_date_alone_covers_the_whole_day(world: GatewayWorld) -> None:
    response = await get(
        world, "/api/v1/search", q="sunset", taken_after="2020-01-01", taken_before="2020-12-31"
    )
    assert response.status_code == 200, response.text
    search_filter = world.store.searches[-1][3]
    assert search_filter is not None
    assert search_filter.taken_after == datetime(2020, 1, 1, tzinfo=UTC)
    assert search_filter.taken_before == datetime(2020, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    await get(world, "/api/v1/search", q="sunset", taken_before="2020-12-31T00:00:00")
    assert world.store.searches[-1][3].taken_before == datetime(2020, 12, 31, tzinfo=UTC)  # type: ignore[union-attr]


async def test_folder_filter_is_normalised_and_resolved(world: GatewayWorld, tmp_path: Path) -> None:
    (tmp_path / "Pictures").symlink_to(world.library)
    response = await get(world, "/api/v1/search", q="sunset", folder=f"/{tmp_path}//Pictures//2020/")
    assert response.status_code == 200, response.text
    assert [h["image_id"] for h in response.json()["hits"]] == [BEACH, STREET]
    assert world.store.searches[-1][3].folder == str(world.library / "2020")  # type: ignore[union-attr]


async def test_readiness_reports_random_weights(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    world = await build_world(tmp_path, executor, random_weights=True)
    assert (await get(world, "/healthz")).json() == {"status": "ok"}
    response = await get(world, "/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] and body["model"]["random_weights"] and body["indexed"] == 2
    assert any("random weights" in w for w in body["warnings"])
    assert {c["name"]: c["ok"] for c in body["checks"]} == {"nats": True, "postgres": True, "search": True}


async def test_not_ready_is_503(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    world = await build_world(tmp_path, executor, search_up=False, probes={"postgres": failing_probe})
    response = await get(world, "/readyz")
    assert response.status_code == 503
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert not checks["postgres"]["ok"] and "refused" in checks["postgres"]["detail"]
    assert not checks["search"]["ok"]


async def test_unknown_route_and_unexpected_errors_are_json(world: GatewayWorld) -> None:
    unknown = await get(world, "/api/v1/nothing")
    assert unknown.status_code == 404 and unknown.json()["error"] == "NotFound"

    async def explode(image_id: str) -> None:
        raise RuntimeError("database password is hunter2")

    world.gateway.image = explode  # type: ignore[assignment,method-assign]
    response = await get(world, f"/api/v1/images/{BEACH}")
    assert response.status_code == 500
    assert response.json() == {"error": "ImgSearchError", "message": "internal error: see the gateway log"}


async def test_openapi_is_published(world: GatewayWorld) -> None:
    schema = (await get(world, "/openapi.json")).json()
    assert {"/api/v1/search", "/api/v1/ingest", "/readyz"} <= set(schema["paths"])
    assert (await get(world, "/docs")).status_code == 200


async def test_the_docs_page_loads_nothing_from_another_host(world: GatewayWorld) -> None:
    page = (await get(world, "/docs")).text
    sources = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]+)['"]""", page) + re.findall(
        r"""url:\s*['"]([^'"]+)['"]""", page)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    for asset in (s for s in sources if s.startswith("/docs/assets/")):
        assert (await get(world, asset)).status_code == 200
    assert (await get(world, "/redoc")).status_code == 404  # redoc would load from a CDN
