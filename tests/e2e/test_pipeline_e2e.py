"""Folder → ingest → JetStream → embed → qdrant-edge → search, over REST and gRPC, through the real
``python -m imgsearch.runner`` process, with a tiny CLIP trained on captioned shapes (tests/support)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest

from imgsearch.api.v1 import search_pb2, search_pb2_grpc
from imgsearch.common.bus import Bus
from imgsearch.common.infra.nats_server import free_port
from imgsearch.common.subjects import EVENTS, IMAGES_INGESTED
from tests.support.runner_env import runner_env
from tests.support.tiny_clip import TinyClip, render_shape

pytestmark = pytest.mark.e2e

SHAPES = [("red", "circle"), ("blue", "square"), ("green", "triangle"), ("yellow", "circle")]


@dataclass
class Stack:
    proc: subprocess.Popen[bytes]
    http: str
    grpc_target: str
    library: Path
    log: Path
    env: dict[str, str]


def _start(env: dict[str, str], library: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "imgsearch.runner", "--ingest", str(library)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )


def _wait_ready(http: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"runner exited {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{http}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"runner not ready in {timeout_s}s:\n{log.read_text()[-4000:]}")


def _wait_indexed(http: str, expected: int, log: Path, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    found = 0
    while time.monotonic() < deadline:
        reply = httpx.get(f"{http}/api/v1/search", params={"q": "a photo", "limit": 200}, timeout=10)
        if reply.status_code == 200:
            found = len(reply.json()["hits"])
            if found >= expected:
                return
        time.sleep(0.5)
    pytest.fail(f"only {found}/{expected} images searchable after {timeout_s}s:\n{log.read_text()[-4000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


@pytest.fixture(scope="module")
def stack(tiny_clip: TinyClip, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("e2e")
    library = root / "library"
    for index, (color, shape) in enumerate(SHAPES):
        folder = library / ("warm" if color in ("red", "yellow") else "cool")
        folder.mkdir(parents=True, exist_ok=True)
        render_shape(color, shape, size=160, seed=index).save(folder / f"{color}_{shape}.jpg", quality=92)
    http_port, grpc_port = free_port(), free_port()
    env = runner_env(tiny_clip, root / "data", library, http_port=http_port, grpc_port=grpc_port,
                     nats_port=free_port())
    log = root / "runner.log"
    proc = _start(env, library, log)
    stack = Stack(proc, f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", library, log, env)
    try:
        _wait_ready(stack.http, proc, log)
        _wait_indexed(stack.http, len(SHAPES), log)
        yield stack
    finally:
        if stack.proc.poll() is None:
            stack.proc.kill()
            stack.proc.wait()


def test_text_search_over_rest_finds_the_described_image(stack: Stack) -> None:
    for color, shape in SHAPES:
        reply = httpx.get(f"{stack.http}/api/v1/search", params={"q": f"a {color} {shape}", "limit": 4})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        top = body["hits"][0]
        assert Path(top["path"]).name == f"{color}_{shape}.jpg", body
        assert top["thumbnail_url"].endswith("/thumbnail")
        assert body["model"]["random_weights"] is False


def test_text_search_over_grpc_finds_the_described_image(stack: Stack) -> None:
    with grpc.insecure_channel(stack.grpc_target) as channel:
        stub = search_pb2_grpc.ImageSearchStub(channel)
        reply = stub.SearchText(search_pb2.TextSearchRequest(query="a blue square", limit=3), timeout=30)
    assert Path(reply.hits[0].path).name == "blue_square.jpg"
    assert reply.hits[0].score >= reply.hits[-1].score


def test_folder_filter_and_similar_and_files(stack: Stack) -> None:
    cool = str(stack.library / "cool")
    reply = httpx.get(f"{stack.http}/api/v1/search", params={"q": "a red circle", "folder": cool})
    names = {Path(h["path"]).name for h in reply.json()["hits"]}
    assert names == {"blue_square.jpg", "green_triangle.jpg"}

    red = httpx.get(f"{stack.http}/api/v1/search", params={"q": "a red circle", "limit": 1}).json()["hits"][0]
    similar = httpx.get(f"{stack.http}/api/v1/images/{red['image_id']}/similar").json()["hits"]
    assert red["image_id"] not in {h["image_id"] for h in similar}
    assert len(similar) == len(SHAPES) - 1

    meta = httpx.get(f"{stack.http}/api/v1/images/{red['image_id']}").json()
    assert meta["width"] == 160 and meta["embed_status"] == "embedded"
    thumb = httpx.get(f"{stack.http}{red['thumbnail_url']}")
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    original = httpx.get(f"{stack.http}/api/v1/images/{red['image_id']}/original")
    assert original.content == (stack.library / "warm" / "red_circle.jpg").read_bytes()


def test_api_refuses_paths_outside_the_library(stack: Stack) -> None:
    reply = httpx.post(f"{stack.http}/api/v1/ingest", json={"path": "/etc"})
    assert reply.status_code == 403 and "message" in reply.json()
    reply = httpx.post(f"{stack.http}/api/v1/ingest", json={"path": str(stack.library / ".." / "..")})
    assert reply.status_code == 403


def test_the_ingest_is_a_session_whose_progress_reaches_every_stage(stack: Stack) -> None:
    deadline = time.monotonic() + 120
    while True:
        sessions = httpx.get(f"{stack.http}/api/v1/sessions", timeout=10).json()["sessions"]
        runner = [s for s in sessions if s["origin"] == "user" and s["path"] == str(stack.library)]
        assert len(runner) == 1, sessions
        session = runner[0]
        if session["progress"]["percent"] == 100.0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    progress = session["progress"]
    assert session["state"] == "done" and session["priority"] == "normal", session
    counts = (progress["discovered"], progress["ingested"], progress["embedded"], progress["failed"])
    assert counts == (len(SHAPES),) * 3 + (0,)
    assert progress["percent"] == 100.0 and progress["eta_s"] == 0.0
    failures = httpx.get(f"{stack.http}/api/v1/sessions/{session['id']}/failures").json()
    assert failures == {"files": [], "total": 0}


async def _ingested_messages(nats_url: str) -> int:
    bus = await Bus.connect(nats_url, name="e2e-probe")
    try:
        info = await bus.js.stream_info(EVENTS.name, subjects_filter=IMAGES_INGESTED)
        return int((info.state.subjects or {}).get(IMAGES_INGESTED, 0))
    finally:
        await bus.drain()


def test_sigterm_drains_and_a_restart_resumes_without_new_work(stack: Stack) -> None:
    nats_url = f"nats://127.0.0.1:{stack.env['IMGSEARCH_NATS__EMBEDDED_PORT']}"
    before = asyncio.run(_ingested_messages(nats_url))
    assert before == len(SHAPES)
    assert _stop(stack.proc) == 0, stack.log.read_text()[-4000:]

    stack.proc = _start(stack.env, stack.library, stack.log)  # same data dir, same folder again
    _wait_ready(stack.http, stack.proc, stack.log)
    hits = httpx.get(f"{stack.http}/api/v1/search", params={"q": "a green triangle"}).json()["hits"]
    assert Path(hits[0]["path"]).name == "green_triangle.jpg"  # vectors and metadata survived
    time.sleep(3)  # give the re-requested scan time to (not) publish
    assert asyncio.run(_ingested_messages(nats_url)) == before
    assert _stop(stack.proc) == 0
