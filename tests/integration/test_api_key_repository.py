"""API keys and UI sessions in a real PostgreSQL: only hashes stored, verify, revoke, last use, session
expiry and the end of a revoked key's sessions."""

from __future__ import annotations

import hashlib

import pytest
from psycopg_pool import AsyncConnectionPool

from imgsearch.common.db.api_keys import ApiKeyRepository, parse_key
from imgsearch.common.errors import InvalidInput, NotFound

pytestmark = pytest.mark.integration


async def test_a_key_is_stored_as_a_hash_and_verifies(pool: AsyncConnectionPool) -> None:
    keys = ApiKeyRepository(pool)
    record, key = await keys.create("  laptop ")
    parsed = parse_key(key)
    assert parsed is not None and record.name == "laptop" and record.lookup == parsed[0]
    assert record.last_used_at is None and not record.revoked
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT lookup, secret_hash FROM api_keys")
        rows = await cur.fetchall()
    assert rows == [(parsed[0], hashlib.sha256(parsed[1].encode()).digest())]  # the secret itself nowhere

    verified = await keys.verify(key)
    assert verified is not None and verified.id == record.id and verified.last_used_at is None
    [listed] = await keys.list_all()
    assert listed.last_used_at is not None  # written on first use
    lookup, secret = parsed
    assert await keys.verify(f"isk_{lookup}_{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}") is None
    assert await keys.verify(key.replace(lookup, "0" * 16)) is None
    assert await keys.verify("not a key") is None
    assert await keys.active_count() == 1


async def test_last_use_is_written_at_most_once_a_minute(pool: AsyncConnectionPool) -> None:
    keys = ApiKeyRepository(pool)
    _, key = await keys.create("script")
    await keys.verify(key)
    [first] = await keys.list_all()
    await keys.verify(key)
    [second] = await keys.list_all()
    assert second.last_used_at == first.last_used_at
    async with pool.connection() as conn:
        await conn.execute("UPDATE api_keys SET last_used_at = now() - interval '2 minutes'")
    await keys.verify(key)
    [third] = await keys.list_all()
    assert third.last_used_at is not None and first.last_used_at is not None
    assert third.last_used_at >= first.last_used_at


async def test_revoking_refuses_the_key_and_ends_its_sessions(pool: AsyncConnectionPool) -> None:
    keys = ApiKeyRepository(pool)
    kept, kept_key = await keys.create("kept")
    gone, gone_key = await keys.create("gone")
    token = await keys.create_session(gone.id, 3600)
    other = await keys.create_session(kept.id, 3600)
    session = await keys.verify_session(token)
    assert session is not None and session.id == gone.id

    revoked = await keys.revoke(gone.id)
    assert revoked.revoked and revoked.revoked_at is not None
    again = await keys.revoke(gone.id)
    assert again.revoked_at == revoked.revoked_at  # revoking twice changes nothing
    assert await keys.verify(gone_key) is None
    assert await keys.verify_session(token) is None
    assert (await keys.verify_session(other)) is not None and await keys.verify(kept_key) is not None
    with pytest.raises(NotFound):
        await keys.create_session(gone.id, 3600)
    with pytest.raises(NotFound):
        await keys.revoke(999_999)
    assert [(r.name, r.revoked) for r in await keys.list_all()] == [("kept", False), ("gone", True)]
    assert await keys.active_count() == 1


async def test_sessions_expire_and_can_be_deleted(pool: AsyncConnectionPool) -> None:
    keys = ApiKeyRepository(pool)
    record, _ = await keys.create("browser")
    expired = await keys.create_session(record.id, 3600)
    async with pool.connection() as conn:
        await conn.execute("UPDATE ui_sessions SET expires_at = now() - interval '1 second'")
    assert await keys.verify_session(expired) is None
    live = await keys.create_session(record.id, 3600)  # sweeps the expired one
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM ui_sessions")
        assert await cur.fetchone() == (1,)
        cur = await conn.execute("SELECT expires_at - created_at FROM ui_sessions")
        row = await cur.fetchone()
    assert row is not None and row[0].total_seconds() == 3600
    assert await keys.verify_session(live) is not None
    await keys.delete_session(live)
    assert await keys.verify_session(live) is None
    assert await keys.verify_session("x" * 43) is None and await keys.verify_session("short") is None
    await keys.delete_session("not-a-token")  # nothing to do, no error


async def test_a_bad_name_is_refused(pool: AsyncConnectionPool) -> None:
    for name in ("", "two\nlines", "x" * 101):
        with pytest.raises(InvalidInput):
            await ApiKeyRepository(pool).create(name)
