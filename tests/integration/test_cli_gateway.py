"""The ``imgsearch`` command against a real gateway (REST on a free port) over real NATS, PostgreSQL and
qdrant-edge: reconcile reports drift, repairs it, and readiness is shown; no search service runs."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from imgsearch.cli.app import main
from imgsearch.common.bus import Bus
from imgsearch.common.db.pool import open_pool
from imgsearch.common.deps import Deps
from imgsearch.common.ids import point_id
from imgsearch.common.settings import GrpcSettings, HttpSettings, Settings
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.common.vectors.port import IMAGES_COLLECTION, CollectionSpec, VectorPoint
from imgsearch.gateway.bootstrap import GatewayServers, build_gateway

pytestmark = pytest.mark.integration


@pytest.fixture
async def gateway(nats_url: str, pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, Deps]]:
    library = tmp_path / "library"
    library.mkdir()
    settings = Settings(data_dir=tmp_path / "data", library_roots=[library],
                        http=HttpSettings(port=0), grpc=GrpcSettings(port=0))
    bus = await Bus.connect(nats_url, name="gateway", request_timeout_s=2)
    await bus.ensure_streams()
    deps = Deps(bus=bus, pool=await open_pool(pg_url),
                vectors=QdrantEdgeStore(settings.vectors_dir, background_optimize=False))
    servers = GatewayServers(build_gateway(settings, deps), settings)
    await servers.start()
    try:
        yield f"http://127.0.0.1:{servers.http_port}", deps
    finally:
        await servers.stop()
        await deps.close()


async def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(main, list(argv), out=out, err=err, env={})
    return code, out.getvalue(), err.getvalue()


async def test_reconcile_and_status_through_the_gateway(gateway: tuple[str, Deps], tmp_path: Path) -> None:
    url, deps = gateway
    image_id = hashlib.sha256(b"lost").hexdigest()
    ghost = hashlib.sha256(b"ghost").hexdigest()
    library = tmp_path / "library"
    async with deps.pool.connection() as conn:
        await conn.execute("INSERT INTO images (id, size_bytes, embed_status) VALUES (%s, 10, 'embedded')",
                           (image_id,))
        await conn.execute("INSERT INTO files (path, library_root, image_id, status)"
                           " VALUES (%s, %s, %s, 'ingested')",
                           (str(library / "lost.jpg"), str(library), image_id))
        await conn.execute("INSERT INTO image_hashes (image_id, slot, hash) VALUES (%s, 0, 7)", (image_id,))
    await deps.vectors.ensure_collection(IMAGES_COLLECTION, CollectionSpec("tiny", "test", 4))
    orphan = VectorPoint(point_id(ghost), [1, 0, 0, 0], {"image_id": ghost})
    await deps.vectors.upsert(IMAGES_COLLECTION, [orphan])

    code, out, err = await cli("--url", url, "reconcile", "--dry-run", "--json")
    assert (code, err) == (0, "")
    dry = json.loads(out)
    assert (dry["drift"], dry["repaired"], dry["repair"]) == (2, 0, False)
    assert (dry["images"]["embedded_without_vector"], dry["images"]["orphans"]) == (1, 1)

    code, out, err = await cli("--url", url, "reconcile")
    assert (code, err) == (0, "")
    assert out.splitlines()[0].endswith("(repair): drift 2, repaired 2")
    assert await deps.vectors.count(IMAGES_COLLECTION) == 0

    # Re-published: now pending with its message in the stream (no embed consumer yet), so no drift.
    code, out, _ = await cli("--url", url, "reconcile", "--dry-run", "--json")
    again = json.loads(out)
    assert code == 0 and again["drift"] == 0 and again["images"]["pending_queued"] == 1

    code, out, err = await cli("--url", url, "status")
    assert code == 2 and err == ""  # no search service: not ready
    assert out.splitlines()[0] == f"gateway {url}: NOT READY"
    lines = out.splitlines()
    assert "  ok   postgres" in lines and any(line.startswith("  FAIL search") for line in lines)



async def test_sessions_through_the_gateway(gateway: tuple[str, Deps], tmp_path: Path) -> None:
    """Created, listed, paused, cancelled and followed to its end (no ingest service runs)."""
    url, _ = gateway
    (tmp_path / "library" / "2021").mkdir()
    code, out, err = await cli("--url", url, "ingest", str(tmp_path / "library"), "--subdir", "2021",
                               "--priority", "high", "--detach")
    assert (code, err) == (0, "")
    created, hint = out.splitlines()
    session_id = created.split()[1]
    assert created == f"session {session_id} created for {tmp_path / 'library'} (high priority)"
    assert hint == f"follow it with `imgsearch watch {session_id}`"
    code, out, _ = await cli("--url", url, "sessions")
    rows = [line.split() for line in out.splitlines()[1:]]
    assert code == 0 and [row[0] for row in rows] == [session_id] and rows[0][2] == "high"
    code, out, _ = await cli("--url", url, "pause", session_id)
    assert code == 0 and out.startswith(f"session {session_id} paused:")
    code, out, _ = await cli("--url", url, "cancel", session_id)
    assert code == 0 and out.startswith(f"session {session_id} cancelled:")
    code, out, _ = await cli("--url", url, "watch", session_id)  # ends at once: cancelled
    assert code == 0 and out.splitlines()[-1].startswith(f"session {session_id} cancelled:")
    code, out, err = await cli("--url", url, "ingest", "/etc", "--detach")
    assert code == 1 and out == "" and err.startswith("imgsearch: ") and "403" in err
    code, _, err = await cli("--url", url, "pause", "999999")
    assert code == 1 and "404" in err
    (tmp_path / "library" / "2021" / "a.jpg").write_bytes(b"not read by browse, counted by extension")
    code, out, _ = await cli("--url", url, "browse", str(tmp_path / "library"))
    assert code == 0 and out.splitlines() == [f"{tmp_path / 'library'}: 1 image file",
                                              f"         1  {tmp_path / 'library' / '2021'}"]
    code, _, err = await cli("--url", url, "browse", "/etc")
    assert code == 1 and "403" in err
