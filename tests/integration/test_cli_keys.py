"""``imgsearch keys`` against a real PostgreSQL, and the CLI's REST calls against a real gateway with
authentication on: the key from ``keys create`` is what IMGSEARCH_API_KEY takes."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from imgsearch.cli.app import main
from imgsearch.cli.keys import main as keys_main
from imgsearch.common.bus import Bus
from imgsearch.common.db.pool import open_pool
from imgsearch.common.deps import Deps
from imgsearch.common.infra.postgres import EmbeddedPostgres
from imgsearch.common.settings import load_settings
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.gateway.bootstrap import GatewayServers, serve
from tests.support.api_keys import create_api_key

pytestmark = pytest.mark.integration
KEY = re.compile(r"isk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


async def cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(main, list(argv), out=out, err=err, env=env or {})
    return code, out.getvalue(), err.getvalue()


async def test_keys_create_list_revoke(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGSEARCH_POSTGRES__URL", pg_url)  # an empty database: the CLI migrates it
    code, out, err = await cli("keys", "list")
    assert (code, out, err) == (0, "no API keys yet: create one with `imgsearch keys create NAME`\n", "")

    code, out, err = await cli("keys", "create", "laptop")
    assert code == 0 and KEY.fullmatch(out.rstrip("\n")) and out.count("\n") == 1  # the key alone
    assert "shown only this once" in err and out.strip() not in err
    code, _, _ = await cli("keys", "create", "backup script")
    assert code == 0

    code, out, _ = await cli("keys", "list")
    header, *rows = out.splitlines()
    assert code == 0 and header.split() == ["ID", "NAME", "CREATED", "LAST", "USED", "REVOKED"]
    assert [row.split()[:2] for row in rows] == [["1", "laptop"], ["2", "backup"]]
    assert all(row.split()[-1] == "-" and "never" in row for row in rows)

    code, out, err = await cli("keys", "revoke", "1")
    assert code == 0 and out.startswith("API key 1 (laptop) revoked at ") and err == ""
    code, out, _ = await cli("keys", "list")
    assert out.splitlines()[1].split()[-1] != "-" and out.splitlines()[2].split()[-1] == "-"

    code, out, err = await cli("keys", "revoke", "99")
    assert (code, out, err) == (1, "", "imgsearch: no API key with id 99\n")
    code, out, err = await cli("keys", "create", "two\nlines")
    assert code == 1 and out == "" and "printable" in err


async def test_keys_need_a_running_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMGSEARCH_POSTGRES__URL", raising=False)
    monkeypatch.setenv("IMGSEARCH_DATA_DIR", str(tmp_path / "data"))
    code, out, err = await cli("keys", "list")
    assert code == 2 and out == ""
    assert "embedded PostgreSQL" in err and "is not running" in err and "IMGSEARCH_POSTGRES__URL" in err
    monkeypatch.setenv("IMGSEARCH_POSTGRES__URL", "postgresql://nobody@127.0.0.1:1/none")
    code, out, err = await cli("keys", "list")
    assert code == 2 and out == "" and "not reachable" in err and err.count("\n") == 1


async def test_keys_use_the_embedded_database_under_the_data_dir(
    postgres_server: EmbeddedPostgres, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No URL set: the socket under IMGSEARCH_DATA_DIR/postgres, as the runner lays it out."""
    monkeypatch.delenv("IMGSEARCH_POSTGRES__URL", raising=False)
    monkeypatch.setenv("IMGSEARCH_DATA_DIR", str(postgres_server.pgdata.parent))
    assert postgres_server.pgdata.name == "data"  # the fixture's layout: <tmp>/data, not <tmp>/postgres
    link = postgres_server.pgdata.parent / "postgres"
    link.symlink_to(postgres_server.pgdata)
    try:
        assert load_settings().postgres.url is None
        code, out, _ = await cli("keys", "create", "embedded")
        assert code == 0 and KEY.fullmatch(out.strip())
    finally:
        link.unlink()


@pytest.fixture
async def gateway_with_auth(nats_url: str, pg_url: str, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The gateway as `python -m imgsearch.gateway` builds it (serve), with IMGSEARCH_AUTH__MODE=on."""
    library = tmp_path / "library"
    library.mkdir()
    for name, value in {"AUTH__MODE": "on", "HTTP__PORT": "0", "GRPC__PORT": "0", "POSTGRES__URL": pg_url,
                        "DATA_DIR": str(tmp_path / "data"), "LIBRARY_ROOTS": f'["{library}"]'}.items():
        monkeypatch.setenv(f"IMGSEARCH_{name}", value)
    settings = load_settings()
    bus = await Bus.connect(nats_url, name="gateway", request_timeout_s=0.5)
    await bus.ensure_streams()
    deps = Deps(bus=bus, pool=await open_pool(pg_url),
                vectors=QdrantEdgeStore(settings.vectors_dir, background_optimize=False))
    stop, started = asyncio.Event(), asyncio.Event()
    ports: list[int] = []

    def on_started(servers: GatewayServers) -> None:
        ports.append(servers.http_port)
        started.set()

    task = asyncio.create_task(serve(settings, deps, stop, on_started=on_started))
    try:
        await asyncio.wait_for(started.wait(), 30)
        yield f"http://127.0.0.1:{ports[0]}"
    finally:
        stop.set()
        await task
        await deps.close()


async def test_the_cli_sends_the_key_it_made(gateway_with_auth: str, pg_url: str) -> None:
    url = gateway_with_auth
    code, out, err = await cli("--url", url, "sessions")
    assert code == 1 and out == ""
    assert err == ("imgsearch: the gateway needs an API key: set IMGSEARCH_API_KEY (or --api-key) to a key"
                   " from `imgsearch keys create NAME`\n")
    code, _, err = await cli("--url", url, "--api-key", "isk_0123456789abcdef_" + "x" * 43, "sessions")
    assert code == 1 and "refused the API key" in err
    key = create_api_key(pg_url, "cli")
    code, out, err = await cli("--url", url, "sessions", env={"IMGSEARCH_API_KEY": key})
    assert (code, err) == (0, "")
    code, _, err = await cli("--url", url, "--api-key", key, "browse")
    assert (code, err) == (0, "")


async def test_keys_as_a_module_without_the_rest_client(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m imgsearch.cli.keys` (the gateway's image has no httpx) does the same."""
    monkeypatch.setenv("IMGSEARCH_POSTGRES__URL", pg_url)
    assert await asyncio.to_thread(keys_main, ["create", "pod"]) == 0
    assert KEY.fullmatch(capsys.readouterr().out.strip())
    assert await asyncio.to_thread(keys_main, ["list"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:2] == ["1", "pod"]
