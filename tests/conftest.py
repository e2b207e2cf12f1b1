"""Fixtures that start real infrastructure from wheels on free ports / private sockets, and stop it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from imgsearch.common.infra.nats_server import NatsServer
from imgsearch.common.infra.postgres import EmbeddedPostgres
from tests.support.tiny_clip import TinyClip, ensure_tiny_clip

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # grpc core's INFO lines (GOAWAY on shutdown) are noise


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"test photos not found at {SHARED_DATA} (../shared/data beside the checkout)")
    return SHARED_DATA


@pytest.fixture
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A fresh nats-server (JetStream) per test: it starts in milliseconds and isolates streams."""
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def pg_url(postgres_server: EmbeddedPostgres) -> AsyncIterator[str]:
    """A fresh, empty database for one test (migrations are applied by whoever opens the pool)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = postgres_server.url
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.replace("/postgres?", f"/{name}?")
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def tiny_clip() -> TinyClip:
    """The tiny CLIP trained on captioned shapes (trained once, cached in REPO/.cache/tiny-clip)."""
    return ensure_tiny_clip(REPO / ".cache" / "tiny-clip")
