"""Who may call the gateway: API keys (REST headers, gRPC metadata) and the UI's session cookie.

Keys and sessions live in PostgreSQL as hashes (imgsearch.common.db.api_keys). A verified credential is
remembered for a few seconds so that a page with fifty thumbnails costs one lookup, not fifty; a revoked
key therefore stops working within CACHE_S."""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from imgsearch.common.db.api_keys import ApiKeyRecord, digest
from imgsearch.common.db.outage import as_unavailable
from imgsearch.common.settings import Settings

log = logging.getLogger(__name__)
CACHE_S = 5.0
MAX_CACHED = 4096
SESSION_COOKIE = "imgsearch_session"
CREATE_KEY_HINT = "create one with `imgsearch keys create NAME` on the gateway's machine"


@dataclass(frozen=True)
class Principal:
    """The caller, as request.state.principal (REST / UI) sees it."""

    key_id: int
    name: str
    via: str  # "key" | "session"


class KeyStore(Protocol):
    """What the authenticator needs of ApiKeyRepository."""

    async def verify(self, key: str) -> ApiKeyRecord | None: ...
    async def verify_session(self, token: str) -> ApiKeyRecord | None: ...
    async def create_session(self, key_id: int, ttl_s: float) -> str: ...
    async def delete_session(self, token: str) -> None: ...
    async def active_count(self) -> int: ...


class Authenticator:
    def __init__(self, keys: KeyStore, *, enabled: bool = True, session_ttl_s: float = 30 * 24 * 3600.0,
                 cache_s: float = CACHE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.keys = keys
        self.enabled = enabled
        self.session_ttl_s = session_ttl_s
        self.cache_s = cache_s
        self._clock = clock
        self._cache: dict[tuple[str, bytes], tuple[float, Principal]] = {}

    async def for_key(self, key: str) -> Principal | None:
        """The principal of a valid (known, unrevoked) API key; None otherwise."""
        return await self._cached("key", key)

    async def for_session(self, token: str) -> Principal | None:
        """The principal of a live UI session; None when unknown, expired or its key was revoked."""
        return await self._cached("session", token)

    async def login(self, key: str) -> tuple[Principal, str] | None:
        """A new session token for a valid key (the cookie's value); None for a wrong key."""
        record = await self.keys.verify(key)
        if record is None:
            return None
        token = await self.keys.create_session(record.id, self.session_ttl_s)
        return Principal(record.id, record.name, "session"), token

    async def logout(self, token: str) -> None:
        self._cache.pop(("session", digest(token)), None)
        await self.keys.delete_session(token)

    async def has_keys(self) -> bool:
        return await self.keys.active_count() > 0

    async def _cached(self, kind: str, credential: str) -> Principal | None:
        slot = (kind, digest(credential))
        now = self._clock()
        hit = self._cache.get(slot)
        if hit is not None and hit[0] > now:
            return hit[1]
        verify = self.keys.verify if kind == "key" else self.keys.verify_session
        record = await verify(credential)
        if record is None:  # not remembered: a key created a moment ago works at once
            self._cache.pop(slot, None)
            return None
        principal = Principal(record.id, record.name, kind)
        if len(self._cache) >= MAX_CACHED:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
        self._cache[slot] = (now + self.cache_s, principal)
        return principal


def presented_key(authorization: str, api_key: str) -> str | None:
    """The key a caller sent: ``Authorization: Bearer <key>``, else ``X-API-Key: <key>`` (HTTP headers and
    gRPC metadata alike); None without either."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return api_key.strip() or None


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost; anything else (0.0.0.0, ::, a name, an interface address) is not."""
    host = host.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_decision(settings: Settings) -> tuple[bool, str]:
    """(on, why) for IMGSEARCH_AUTH__MODE; auto: on as soon as a listener is reachable beyond loopback."""
    mode = settings.auth.mode
    if mode != "auto":
        return mode == "on", f"IMGSEARCH_AUTH__MODE={mode}"
    exposed = [
        f"{name}={host}" for name, host in (("IMGSEARCH_HTTP__HOST", settings.http.host),
                                            ("IMGSEARCH_GRPC__HOST", settings.grpc.host))
        if not is_loopback(host)
    ]
    if exposed:
        return True, f"IMGSEARCH_AUTH__MODE=auto and {', '.join(exposed)} is beyond loopback"
    return False, "IMGSEARCH_AUTH__MODE=auto and the gateway listens on loopback only"


def authenticator_for(settings: Settings, keys: KeyStore) -> Authenticator | None:
    """The gateway's authenticator when auth is on (None: off), saying which and why in the log."""
    enabled, why = auth_decision(settings)
    log.info("authentication %s (%s)", "on" if enabled else "off", why)
    if not enabled:
        return None
    return Authenticator(keys, enabled=True, session_ttl_s=settings.auth.session_ttl_s)


async def warn_without_keys(auth: Authenticator | None) -> None:
    """Authentication is on and no key exists yet: nobody can call the gateway; say how to fix that."""
    if auth is None or not auth.enabled:
        return
    try:
        if await auth.has_keys():
            return
    except Exception as exc:
        outage = as_unavailable(exc)
        if outage is None:
            raise
        log.warning("could not count API keys: %s", outage.message)
        return
    log.warning("authentication is on and there is no API key yet: every call is refused until you run "
                "`imgsearch keys create NAME` (same IMGSEARCH_DATA_DIR / IMGSEARCH_POSTGRES__URL as the "
                "gateway), or set IMGSEARCH_AUTH__MODE=off on a trusted network")
