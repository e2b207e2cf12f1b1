"""What a caller without a key can make the gateway do: the open sign-in POSTs (/login, /api/v1/auth/login)
read a bounded body, whether it declares its length or streams it in chunks; and what a shared cache (a
proxy between the browsers and the gateway) may keep: no thumbnail or face crop for another user. With
auth off (a gateway on loopback), a page on another site still cannot post the UI's forms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from imgsearch.common.db.api_keys import ApiKeyRecord
from imgsearch.common.subjects import COMMANDS_CLUSTERING
from imgsearch.gateway.api.http import create_app
from imgsearch.gateway.api.http_auth import MAX_OPEN_BODY
from imgsearch.gateway.auth import Authenticator
from tests.support.gateway_world import GatewayWorld, build_world
from tests.support.people_fakes import seed_people
from tests.support.search_fakes import image_id


class NoKeys:
    """A key store that knows no key (every sign-in is wrong)."""

    async def verify(self, key: str) -> ApiKeyRecord | None:
        return None

    async def verify_session(self, token: str) -> ApiKeyRecord | None:
        return None

    async def create_session(self, key_id: int, ttl_s: float) -> str:
        raise AssertionError("no key, no session")

    async def delete_session(self, token: str) -> None:
        return None

    async def active_count(self) -> int:
        return 0


@pytest.fixture
async def http(tmp_path: Path, executor: ThreadPoolExecutor) -> AsyncIterator[httpx.AsyncClient]:
    world: GatewayWorld = await build_world(tmp_path, executor)
    app = create_app(world.gateway, Authenticator(NoKeys()))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def chunks(total: int) -> AsyncIterator[bytes]:
    """A body without Content-Length (chunked), MAX_OPEN_BODY / 4 at a time."""
    sent = 0
    while sent < total:
        piece = min(MAX_OPEN_BODY // 4, total - sent)
        yield b"k" * piece
        sent += piece


async def test_a_huge_sign_in_body_is_refused_unread(http: httpx.AsyncClient) -> None:
    big = "x" * (4 * MAX_OPEN_BODY)
    api = await http.post("/api/v1/auth/login", json={"key": big})
    assert api.status_code == 413 and api.json()["error"] == "InvalidInput", api.text
    page = await http.post("/login", data={"key": big, "next": "/"})
    assert page.status_code == 413 and "text/html" in page.headers["content-type"]
    streamed = await http.post("/api/v1/auth/login", content=chunks(4 * MAX_OPEN_BODY),
                               headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413, streamed.text


async def test_a_sign_in_of_normal_size_still_reaches_the_routes(http: httpx.AsyncClient) -> None:
    api = await http.post("/api/v1/auth/login", json={"key": "isk_0123456789abcdef_" + "a" * 43})
    assert api.status_code == 401 and api.json()["error"] == "Unauthenticated"
    page = await http.post("/login", data={"key": "isk_wrong", "next": "/people"})
    assert page.status_code == 401 and "not a valid API key" in page.text
    streamed = await http.post("/api/v1/auth/login", content=chunks(MAX_OPEN_BODY // 2),
                               headers={"Content-Type": "application/json"})
    assert streamed.status_code == 400  # read whole (not JSON), answered by the route's validation


async def test_thumbnails_and_crops_are_not_for_shared_caches(tmp_path: Path, executor: ThreadPoolExecutor
                                                              ) -> None:
    world = await build_world(tmp_path, executor)
    seed = seed_people(world.people, world.crops, image_id)
    transport = httpx.ASGITransport(app=create_app(world.gateway), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        for url in (f"/api/v1/images/{image_id('beach')}/thumbnail",
                    f"/api/v1/faces/{seed.alice_beach}/crop"):
            response = await client.get(url)
            assert response.status_code == 200, url
            directives = {d.strip() for d in response.headers["cache-control"].split(",")}
            assert "private" in directives and "public" not in directives, url


async def test_with_auth_off_another_site_cannot_post_the_forms(tmp_path: Path, executor: ThreadPoolExecutor
                                                                ) -> None:
    world = await build_world(tmp_path, executor)
    transport = httpx.ASGITransport(app=create_app(world.gateway), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"},
                        {"Origin": "null"}):
            refused = await client.post("/people/clusters/run", headers=headers)
            assert refused.status_code == 403 and "cross-site" in refused.text, headers
            api = await client.post("/api/v1/clusters/run", headers=headers)
            assert api.status_code == 403 and api.json()["error"] == "Forbidden", headers
        assert world.published.on(COMMANDS_CLUSTERING) == []
        assert (await client.get("/people", headers={"Origin": "https://evil.example"})).status_code == 200
        same_site = await client.post("/people/clusters/run", headers={"Origin": "http://gateway"})
        assert same_site.status_code == 303
        assert (await client.post("/api/v1/clusters/run")).status_code == 202  # a script: no Origin
        assert len(world.published.on(COMMANDS_CLUSTERING)) == 2
