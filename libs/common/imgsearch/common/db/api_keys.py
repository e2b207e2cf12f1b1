"""API keys and UI sessions (migration 0009_api_keys.sql). Only hashes are stored.

A key reads ``isk_<lookup>_<secret>``: ``lookup`` (64 random bits, hex) finds the row, ``secret`` (256
random bits, URL-safe base64) is checked against its sha256 in constant time. A UI session is a random
token (256 bits) whose sha256 is the row's key; it lives until it expires, is deleted (sign out) or its key
is revoked."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from imgsearch.common.errors import InvalidInput, NotFound

KEY_PREFIX = "isk"
MAX_NAME = 100
_KEY = re.compile(r"isk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_COLUMNS = "k.id, k.name, k.lookup, k.created_at, k.last_used_at, k.revoked_at"
# last_used_at is written at most once a minute per key: verifying stays a read on busy keys.
_STALE = "(k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')"


@dataclass(frozen=True)
class ApiKeyRecord:
    id: int
    name: str
    lookup: str  # the public part of the key (isk_<lookup>_...), safe to show
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def new_key() -> tuple[str, str, str]:
    """(lookup, secret, the whole key as the user gets it)."""
    lookup, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    return lookup, secret, f"{KEY_PREFIX}_{lookup}_{secret}"


def parse_key(key: str) -> tuple[str, str] | None:
    """(lookup, secret) of a well-formed key, None for anything else."""
    match = _KEY.fullmatch(key.strip()) if len(key) < 200 else None
    return (match.group(1), match.group(2)) if match else None


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidInput(f"a key name is 1 to {MAX_NAME} printable characters on one line")
    return name


class ApiKeyRepository:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create(self, name: str) -> tuple[ApiKeyRecord, str]:
        """The new key's record and the key itself: shown once, only its hash is kept."""
        name = check_name(name)
        lookup, secret, key = new_key()
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO api_keys AS k (name, lookup, secret_hash) VALUES (%s, %s, %s)"
                f" RETURNING {_COLUMNS}", (name, lookup, digest(secret)),
            )
            row = await cur.fetchone()
        assert row is not None
        return _record(row), key

    async def list_all(self) -> list[ApiKeyRecord]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(f"SELECT {_COLUMNS} FROM api_keys k ORDER BY k.id")
            return [_record(row) for row in await cur.fetchall()]

    async def active_count(self) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL")
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def revoke(self, key_id: int) -> ApiKeyRecord:
        """Revoke a key (again: no change) and end its UI sessions."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE api_keys AS k SET revoked_at = coalesce(k.revoked_at, now()) WHERE k.id = %s"
                f" RETURNING {_COLUMNS}", (key_id,),
            )
            row = await cur.fetchone()
            if row is None:
                raise NotFound(f"no API key with id {key_id}")
            await conn.execute("DELETE FROM ui_sessions WHERE key_id = %s", (key_id,))
        return _record(row)

    async def verify(self, key: str) -> ApiKeyRecord | None:
        """The key's record when it is well formed, known and not revoked; None otherwise."""
        parsed = parse_key(key)
        if parsed is None:
            return None
        lookup, secret = parsed
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS}, k.secret_hash, {_STALE} FROM api_keys k"
                " WHERE k.lookup = %s AND k.revoked_at IS NULL", (lookup,),
            )
            row = await cur.fetchone()
            if row is None or not hmac.compare_digest(bytes(row[6]), digest(secret)):
                return None
            if row[7]:
                await _touch(conn, row[0])
        return _record(row)

    async def create_session(self, key_id: int, ttl_s: float) -> str:
        """A new session token for a (not revoked) key; expired sessions are swept on the way."""
        token = secrets.token_urlsafe(32)
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM ui_sessions WHERE expires_at < now()")
            cur = await conn.execute(
                "INSERT INTO ui_sessions (token_hash, key_id, expires_at)"
                " SELECT %s, id, now() + make_interval(secs => %s) FROM api_keys"
                " WHERE id = %s AND revoked_at IS NULL RETURNING key_id",
                (digest(token), ttl_s, key_id),
            )
            if await cur.fetchone() is None:
                raise NotFound(f"no usable API key with id {key_id}")
        return token

    async def verify_session(self, token: str) -> ApiKeyRecord | None:
        """The key behind a live session; None when unknown, expired, or its key is revoked."""
        if not _TOKEN.fullmatch(token):
            return None
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS}, {_STALE} FROM ui_sessions s JOIN api_keys k ON k.id = s.key_id"
                " WHERE s.token_hash = %s AND s.expires_at > now() AND k.revoked_at IS NULL",
                (digest(token),),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            if row[6]:
                await _touch(conn, row[0])
        return _record(row)

    async def delete_session(self, token: str) -> None:
        if _TOKEN.fullmatch(token):
            async with self.pool.connection() as conn:
                await conn.execute("DELETE FROM ui_sessions WHERE token_hash = %s", (digest(token),))


async def _touch(conn: Any, key_id: int) -> None:
    await conn.execute(
        "UPDATE api_keys k SET last_used_at = now() WHERE k.id = %s AND " + _STALE, (key_id,)
    )


def _record(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(id=row[0], name=row[1], lookup=row[2], created_at=row[3], last_used_at=row[4],
                        revoked_at=row[5])
