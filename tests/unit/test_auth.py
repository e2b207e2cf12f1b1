"""Authentication parts without a database: key format and hashing, the post-sign-in path, when auth is on,
the authenticator's short cache, and reading a key from gRPC metadata."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from imgsearch.common.db.api_keys import ApiKeyRecord, check_name, digest, new_key, parse_key
from imgsearch.common.errors import InvalidInput, Unauthenticated
from imgsearch.common.settings import AuthSettings, GrpcSettings, HttpSettings, Settings
from imgsearch.gateway.api.grpc_auth import metadata_key
from imgsearch.gateway.auth import Authenticator, auth_decision, is_loopback
from imgsearch.gateway.ui.login_pages import local_path


def test_a_new_key_has_the_documented_shape_and_parses_back() -> None:
    lookup, secret, key = new_key()
    assert re.fullmatch(r"isk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", key)
    assert key == f"isk_{lookup}_{secret}"
    assert parse_key(key) == (lookup, secret)
    assert parse_key(f"  {key}\n") == (lookup, secret)
    assert new_key()[2] != key  # random every time


@pytest.mark.parametrize("bad", [
    "", "isk_", "isk_0123456789abcdef_", "xsk_0123456789abcdef_" + "a" * 43,
    "isk_0123456789ABCDEF_" + "a" * 43, "isk_0123456789abcdef_" + "a" * 42,
    "isk_0123456789abcdef_" + "a" * 44,
    "isk_0123456789abcdef_" + "a" * 42 + "=", "Bearer isk_0123456789abcdef_" + "a" * 43, "x" * 10_000,
])
def test_malformed_keys_do_not_parse(bad: str) -> None:
    assert parse_key(bad) is None


def test_only_a_sha256_of_the_secret_is_kept() -> None:
    _, secret, key = new_key()
    assert digest(secret) == hashlib.sha256(secret.encode()).digest()
    assert secret.encode() not in digest(secret) and key.encode() not in digest(secret)


def test_key_names_are_one_printable_line() -> None:
    assert check_name("  laptop  ") == "laptop"
    for bad in ("", "   ", "a\nb", "tab\there", "x" * 101):
        with pytest.raises(InvalidInput):
            check_name(bad)


@pytest.mark.parametrize(("target", "expected"), [
    ("/", "/"), ("/people?offset=20", "/people?offset=20"), ("/photos/abc", "/photos/abc"),
    (None, "/"), ("", "/"), ("people", "/"), ("//evil.example/x", "/"), ("/\\evil.example", "/"),
    ("https://evil.example/", "/"), ("javascript:alert(1)", "/"), ("/a\r\nSet-Cookie: x=1", "/"),
    ("/" + "a" * 3000, "/"),
])
def test_after_sign_in_only_a_local_path(target: str | None, expected: str) -> None:
    assert local_path(target) == expected


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST", True), ("0.0.0.0", False), ("::", False), ("", False), ("192.168.1.5", False),
    ("gateway.example", False), ("10.0.0.1", False),
])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def settings(mode: str = "auto", http: str = "127.0.0.1", grpc: str = "127.0.0.1") -> Settings:
    return Settings(auth=AuthSettings(mode=mode), http=HttpSettings(host=http),  # type: ignore[arg-type]
                    grpc=GrpcSettings(host=grpc))


def test_auto_turns_auth_on_as_soon_as_a_listener_leaves_loopback() -> None:
    assert auth_decision(settings())[0] is False
    on, why = auth_decision(settings(grpc="0.0.0.0"))
    assert on and "IMGSEARCH_GRPC__HOST=0.0.0.0" in why
    on, why = auth_decision(settings(http="::"))
    assert on and "IMGSEARCH_HTTP__HOST=::" in why
    assert auth_decision(settings("on")) == (True, "IMGSEARCH_AUTH__MODE=on")
    assert auth_decision(settings("off", http="0.0.0.0")) == (False, "IMGSEARCH_AUTH__MODE=off")


def test_the_mode_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGSEARCH_AUTH__MODE", "on")
    monkeypatch.setenv("IMGSEARCH_HTTP__CORS_ORIGINS", '["https://photos.example"]')
    loaded = Settings()
    assert loaded.auth.mode == "on" and loaded.http.cors_origins == ["https://photos.example"]
    assert loaded.auth.session_ttl_s == 30 * 24 * 3600


def test_unauthenticated_is_401_and_grpc_unauthenticated() -> None:
    error = Unauthenticated("no key")
    assert (error.http_status, error.grpc_code, error.kind) == (401, "UNAUTHENTICATED", "Unauthenticated")


@dataclass
class FakeKeys:
    """KeyStore over a dict; counts lookups."""

    keys: dict[str, ApiKeyRecord] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    lookups: int = 0

    def add(self, key: str, key_id: int, name: str) -> None:
        self.keys[key] = ApiKeyRecord(key_id, name, "lookup", datetime.now(UTC), None, None)

    async def verify(self, key: str) -> ApiKeyRecord | None:
        self.lookups += 1
        return self.keys.get(key)

    async def verify_session(self, token: str) -> ApiKeyRecord | None:
        self.lookups += 1
        key_id = self.sessions.get(token)
        return next((r for r in self.keys.values() if r.id == key_id), None)

    async def create_session(self, key_id: int, ttl_s: float) -> str:
        token = f"token-{len(self.sessions)}"
        self.sessions[token] = key_id
        return token

    async def delete_session(self, token: str) -> None:
        self.sessions.pop(token, None)

    async def active_count(self) -> int:
        return len(self.keys)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_verified_key_is_remembered_for_a_few_seconds_only() -> None:
    keys, clock = FakeKeys(), Clock()
    keys.add("k1", 1, "laptop")
    auth = Authenticator(keys, cache_s=5.0, clock=clock)
    first = await auth.for_key("k1")
    assert first is not None and (first.key_id, first.name, first.via) == (1, "laptop", "key")
    assert await auth.for_key("k1") == first
    assert keys.lookups == 1  # the second call came from the cache
    del keys.keys["k1"]  # revoked
    clock.now += 4.9
    assert await auth.for_key("k1") == first
    clock.now += 0.2  # past the cache: the revocation is seen
    assert await auth.for_key("k1") is None


async def test_a_wrong_key_is_asked_every_time_so_a_new_key_works_at_once() -> None:
    keys = FakeKeys()
    auth = Authenticator(keys, clock=Clock())
    assert await auth.for_key("k2") is None
    keys.add("k2", 2, "script")
    principal = await auth.for_key("k2")
    assert principal is not None and principal.key_id == 2


async def test_login_makes_a_session_and_logout_ends_it_at_once() -> None:
    keys = FakeKeys()
    keys.add("k1", 1, "laptop")
    auth = Authenticator(keys, clock=Clock())
    assert await auth.login("wrong") is None
    signed_in = await auth.login("k1")
    assert signed_in is not None
    principal, token = signed_in
    assert (principal.key_id, principal.via) == (1, "session")
    session = await auth.for_session(token)
    assert session is not None and session.via == "session"
    await auth.logout(token)
    assert await auth.for_session(token) is None  # not served from the cache
    assert await auth.has_keys()


@pytest.mark.parametrize(("metadata", "key"), [
    ((("authorization", "Bearer isk_a"),), "isk_a"),
    ((("authorization", "bearer  isk_a "),), "isk_a"),
    ((("x-api-key", "isk_b"),), "isk_b"),
    ((("authorization", "Basic dXNlcg=="), ("x-api-key", "isk_c")), "isk_c"),
    ((("authorization", "Bearer "),), None),
    ((("user-agent", "grpc-python"),), None),
    ((), None),
])
def test_the_key_in_grpc_metadata(metadata: tuple[tuple[str, str], ...], key: str | None) -> None:
    assert metadata_key(metadata) == key
