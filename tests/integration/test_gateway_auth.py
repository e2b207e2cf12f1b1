"""Authentication on the real gateway (build_gateway over real NATS, PostgreSQL and qdrant-edge; REST and
gRPC on free ports): every REST operation in the OpenAPI and every method of every gRPC service the
server reflects refuses a call without a key and takes it with one; health stays open; the UI signs in
with a key (cookie), signs out, refuses revoked keys and cross-site forms; CORS follows the settings."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc
import httpx
import pytest
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.bus import Bus
from imgsearch.common.db.api_keys import ApiKeyRepository
from imgsearch.common.db.pool import open_pool
from imgsearch.common.deps import Deps
from imgsearch.common.settings import AuthSettings, GrpcSettings, HttpSettings, Settings
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.gateway.auth import SESSION_COOKIE, Authenticator
from imgsearch.gateway.bootstrap import GatewayServers, build_gateway

pytestmark = pytest.mark.integration

ALLOWED_ORIGIN = "https://photos.example"
OPEN_GRPC = ("grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection")
DUMMY = {"integer": "1", "number": "1", "boolean": "true"}


@dataclass
class Running:
    url: str
    grpc_target: str
    keys: ApiKeyRepository
    key: str
    key_id: int
    app_paths: dict[str, Any]

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30, follow_redirects=False, **kwargs)


@pytest.fixture
async def running(nats_url: str, pg_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    library = tmp_path / "library"
    library.mkdir()
    settings = Settings(
        data_dir=tmp_path / "data", library_roots=[library], auth=AuthSettings(mode="on"),
        http=HttpSettings(port=0, cors_origins=[ALLOWED_ORIGIN]), grpc=GrpcSettings(port=0),
    )
    bus = await Bus.connect(nats_url, name="gateway", request_timeout_s=0.5)
    await bus.ensure_streams()
    pool: AsyncConnectionPool = await open_pool(pg_url)
    deps = Deps(bus=bus, pool=pool, vectors=QdrantEdgeStore(settings.vectors_dir, background_optimize=False))
    keys = ApiKeyRepository(pool)
    record, key = await keys.create("tests")
    # No cache: a revocation shows on the next call (the cache itself is a unit test).
    auth = Authenticator(keys, session_ttl_s=settings.auth.session_ttl_s, cache_s=0.0)
    servers = GatewayServers(build_gateway(settings, deps), settings, auth)
    await servers.start()
    try:
        url = f"http://127.0.0.1:{servers.http_port}"
        async with httpx.AsyncClient(base_url=url, headers=bearer(key)) as client:
            schema = (await client.get("/openapi.json")).json()
        yield Running(url, f"127.0.0.1:{servers.grpc_port}", keys, key, record.id, schema["paths"])
    finally:
        await servers.stop()
        await deps.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def operations(paths: dict[str, Any]) -> list[tuple[str, str]]:
    """(METHOD, concrete path) of every operation, path parameters filled with dummy values."""
    found = []
    for template, methods in paths.items():
        for method, operation in methods.items():
            path = template
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    kind = parameter.get("schema", {}).get("type", "string")
                    path = path.replace("{" + parameter["name"] + "}", DUMMY.get(kind, "0" * 64))
            assert "{" not in path, f"unfilled parameter in {template}"
            found.append((method.upper(), path))
    return found


async def test_every_rest_operation_refuses_a_call_without_a_key(running: Running) -> None:
    calls = operations(running.app_paths)
    assert len(calls) > 30 and ("POST", "/api/v1/auth/login") in calls
    assert running.app_paths["/healthz"]["get"]["security"] == []  # the rest: the global bearer / apiKey
    assert "security" not in running.app_paths["/api/v1/search"]["get"]
    open_ = {("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/api/v1/auth/login")}
    async with running.client() as anonymous, running.client(headers=bearer(running.key)) as keyed:
        for method, path in calls:
            if (method, path) in open_:
                continue
            refused = await anonymous.request(method, path)
            assert refused.status_code == 401, f"{method} {path}: {refused.status_code} {refused.text[:200]}"
            assert refused.json()["error"] == "Unauthenticated", f"{method} {path}"
            assert refused.headers["www-authenticate"] == "Bearer"
            wrong = await anonymous.request(method, path, headers=bearer("isk_0123456789abcdef_" + "x" * 43))
            assert wrong.status_code == 401 and "not valid" in wrong.json()["message"], f"{method} {path}"
            taken = await keyed.request(method, path)
            assert taken.status_code not in (401, 403), f"{method} {path} with a key: {taken.text[:300]}"
        assert (await anonymous.get("/api/v1/auth/me", headers={"X-API-Key": running.key})).json() == {
            "auth_enabled": True, "key_id": running.key_id, "name": "tests", "via": "key"}
        for path in ("/healthz", "/readyz", "/static/app.css", "/login"):
            assert (await anonymous.get(path)).status_code in (200, 503), path  # readyz: no search service
        assert (await anonymous.get("/docs")).status_code == 401


async def grpc_methods(target: str) -> list[tuple[str, Any]]:
    """(service, method descriptor) of every method the server reflects, health and reflection aside;
    reflection itself answers without a key."""

    def reflect() -> list[tuple[str, Any]]:
        with grpc.insecure_channel(target) as channel:
            database = ProtoReflectionDescriptorDatabase(channel)
            pool = descriptor_pool.DescriptorPool(database)
            return [(name, method) for name in database.get_services() if name not in OPEN_GRPC
                    for method in pool.FindServiceByName(name).methods]

    return await asyncio.to_thread(reflect)


async def call(channel: grpc.aio.Channel, service: str, method: Any, metadata: tuple[tuple[str, str], ...]
               ) -> grpc.StatusCode:
    """Call with an empty request (valid for every proto3 message); the status code it ends with."""
    path = f"/{service}/{method.name}"
    assert not method.client_streaming, path
    kind = channel.unary_stream if method.server_streaming else channel.unary_unary
    rpc = kind(path, request_serializer=lambda _: b"", response_deserializer=lambda raw: raw)
    try:
        answer = rpc(b"", metadata=metadata, timeout=30)
        if method.server_streaming:
            async for _ in answer:
                pass
        else:
            await answer
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


async def test_every_grpc_method_refuses_a_call_without_a_key(running: Running) -> None:
    methods = await grpc_methods(running.grpc_target)
    services = {service for service, _ in methods}
    assert {"imgsearch.api.v1.ImageSearch", "imgsearch.api.v1.People"} <= services and len(methods) > 20
    async with grpc.aio.insecure_channel(running.grpc_target) as channel:
        for service, method in methods:
            for metadata in ((), (("authorization", "Bearer isk_0123456789abcdef_" + "x" * 43),)):
                code = await call(channel, service, method, metadata)
                assert code == grpc.StatusCode.UNAUTHENTICATED, f"{service}/{method.name}: {code}"
            for metadata in ((("authorization", f"Bearer {running.key}"),), (("x-api-key", running.key),)):
                code = await call(channel, service, method, metadata)
                assert code != grpc.StatusCode.UNAUTHENTICATED, f"{service}/{method.name} with a key"
        health = health_pb2_grpc.HealthStub(channel)  # type: ignore[no-untyped-call]
        reply = await health.Check(health_pb2.HealthCheckRequest(service=""))
        statuses = health_pb2.HealthCheckResponse
        assert reply.status in (statuses.SERVING, statuses.NOT_SERVING)


def session_cookie(response: httpx.Response) -> tuple[str, str]:
    """(token, the whole Set-Cookie header) of the session cookie the response sets."""
    header = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    return header.split(";")[0].split("=", 1)[1], header


async def test_ui_sign_in_with_a_key_and_sign_out(running: Running) -> None:
    async with running.client() as browser:
        first = await browser.get("/people", params={"offset": "20"})
        assert first.status_code == 303
        target = urlsplit(first.headers["location"])
        assert target.path == "/login" and parse_qs(target.query) == {"next": ["/people?offset=20"]}
        page = await browser.get(first.headers["location"])
        assert page.status_code == 200
        html = page.text
        assert '<label for="api-key">API key</label>' in html
        assert 'type="password" id="api-key" name="key"' in html
        assert '<input type="hidden" name="next" value="/people?offset=20">' in html
        assert '<button type="submit">Sign in</button>' in html and "Sign out" not in html

        wrong = await browser.post("/login", data={"key": "isk_nope", "next": "/people?offset=20"})
        assert wrong.status_code == 401 and SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
        assert re.search(r'role="alert"[^>]*>[^<]*not a valid API key', wrong.text)

        right = await browser.post("/login", data={"key": running.key, "next": "/people?offset=20"})
        assert right.status_code == 303 and right.headers["location"] == "/people?offset=20"
        token, header = session_cookie(right)
        attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
        assert {"httponly", "path", "max-age", "samesite"} <= attributes and "secure" not in attributes
        assert "samesite=strict" in header.lower() and "path=/" in header.lower()
        assert running.key not in header

        signed_in = await browser.get("/people", cookies={SESSION_COOKIE: token})
        assert signed_in.status_code == 200 and "Sign out" in signed_in.text
        me = await browser.get("/api/v1/auth/me", cookies={SESSION_COOKIE: token})
        assert me.json() == {"auth_enabled": True, "key_id": running.key_id, "name": "tests",
                             "via": "session"}
        for thumbnail in ("/api/v1/images/" + "0" * 64 + "/thumbnail",):  # images load with the cookie
            assert (await browser.get(thumbnail, cookies={SESSION_COOKIE: token})).status_code == 404

        out = await browser.post("/logout", cookies={SESSION_COOKIE: token})
        assert out.status_code == 303 and out.headers["location"].startswith("/login")
        assert 'max-age=0' in session_cookie(out)[1].lower() or "expires=" in session_cookie(out)[1].lower()
        assert (await browser.get("/people", cookies={SESSION_COOKIE: token})).status_code == 303
        assert (await browser.get("/api/v1/auth/me", cookies={SESSION_COOKIE: token})).status_code == 401


async def test_after_sign_in_only_a_local_page(running: Running) -> None:
    async with running.client() as browser:
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
            reply = await browser.post("/login", data={"key": running.key, "next": target})
            assert reply.status_code == 303 and reply.headers["location"] == "/", target
        page = await browser.get("/login", params={"next": "//evil.example/"})
        assert '<input type="hidden" name="next" value="/">' in page.text


async def test_rest_login_logout_and_me(running: Running) -> None:
    async with running.client() as browser:
        wrong = await browser.post("/api/v1/auth/login", json={"key": "isk_nope"})
        assert wrong.status_code == 401 and wrong.json()["error"] == "Unauthenticated"
        assert (await browser.post("/api/v1/auth/login", json={})).status_code == 400
        login = await browser.post("/api/v1/auth/login", json={"key": running.key})
        assert login.status_code == 200 and login.json()["name"] == "tests"
        token, _ = session_cookie(login)
        assert (await browser.get("/api/v1/auth/me", cookies={SESSION_COOKIE: token})).status_code == 200
        out = await browser.post("/api/v1/auth/logout", cookies={SESSION_COOKIE: token})
        assert out.status_code == 204
        assert (await browser.get("/api/v1/auth/me", cookies={SESSION_COOKIE: token})).status_code == 401


async def test_a_revoked_key_and_its_sessions_are_refused(running: Running) -> None:
    record, key = await running.keys.create("short-lived")
    async with running.client() as client:
        assert (await client.get("/api/v1/auth/me", headers=bearer(key))).status_code == 200
        token, _ = session_cookie(await client.post("/api/v1/auth/login", json={"key": key}))
        assert (await client.get("/api/v1/auth/me", cookies={SESSION_COOKIE: token})).status_code == 200
        await running.keys.revoke(record.id)
        refused = await client.get("/api/v1/auth/me", headers=bearer(key))
        assert refused.status_code == 401 and "not valid" in refused.json()["message"]
        assert (await client.get("/api/v1/auth/me", cookies={SESSION_COOKIE: token})).status_code == 401
        assert (await client.post("/api/v1/auth/login", json={"key": key})).status_code == 401
        assert (await client.get("/api/v1/auth/me", headers=bearer(running.key))).status_code == 200
    async with grpc.aio.insecure_channel(running.grpc_target) as channel:
        health_only = await grpc_methods(running.grpc_target)
        service, method = next((s, m) for s, m in health_only if m.name == "GetSystemInfo")
        code = await call(channel, service, method, (("x-api-key", key),))
        assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_a_cross_site_form_cannot_use_the_session(running: Running) -> None:
    async with running.client() as browser:
        token, _ = session_cookie(await browser.post("/api/v1/auth/login", json={"key": running.key}))
        cookies = {SESSION_COOKIE: token}
        host = urlsplit(running.url).netloc
        for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"},
                        {"Origin": "null"}):
            api = await browser.post("/api/v1/reconcile", json={"repair": False}, cookies=cookies,
                                     headers=headers)
            assert api.status_code == 403 and "cross-site" in api.json()["message"], headers
            page = await browser.post("/logout", cookies=cookies, headers=headers)
            assert page.status_code == 403 and "text/html" in page.headers["content-type"], headers
            login = await browser.post("/login", data={"key": running.key}, headers=headers)
            assert login.status_code == 403, headers
        same = await browser.post("/api/v1/reconcile", json={"repair": False}, cookies=cookies,
                                  headers={"Origin": f"http://{host}"})
        assert same.status_code == 200, same.text
        listed = await browser.post("/api/v1/reconcile", json={"repair": False}, cookies=cookies,
                                    headers={"Origin": ALLOWED_ORIGIN})
        assert listed.status_code == 200
        # A key is no ambient credential: a script may send it from anywhere.
        keyed = await browser.post("/api/v1/reconcile", json={"repair": False}, headers={
            "Origin": "https://evil.example", **bearer(running.key)})
        assert keyed.status_code == 200
        assert (await browser.get("/api/v1/auth/me", cookies=cookies,
                                  headers={"Origin": "https://evil.example"})).status_code == 200


async def test_cors_preflight_for_listed_origins_only(running: Running) -> None:
    async with running.client() as browser:
        ask = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
        allowed = await browser.options("/api/v1/search", headers={"Origin": ALLOWED_ORIGIN, **ask})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert allowed.headers["access-control-allow-credentials"] == "true"
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        other = await browser.options("/api/v1/search", headers={"Origin": "https://evil.example", **ask})
        assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
        refused = await browser.get("/api/v1/cameras", headers={"Origin": ALLOWED_ORIGIN})
        assert refused.status_code == 401  # readable by the listed page: it carries the CORS headers
        assert refused.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        served = await browser.get("/api/v1/cameras",
                                   headers={"Origin": ALLOWED_ORIGIN, **bearer(running.key)})
        assert served.status_code == 200 and served.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
