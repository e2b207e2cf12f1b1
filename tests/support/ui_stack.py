"""The real stack the browser tests drive: ``python -m imgsearch.runner`` with auth on (dlib faces, the tiny
trained CLIP, free ports), an API key made by the real CLI (``imgsearch keys create``), a library of LFW
portraits of two people and a few scenes that the runner imports at start, and a folder ``incoming/`` it
does not (the import test starts that one from the UI). Ready once every photo is searchable, every
session is done (faces detected) and clustering found the two people."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from imgsearch.common.infra.nats_server import free_port
from tests.support.runner_env import runner_env
from tests.support.tiny_clip import TinyClip

PEOPLE = ("Harrison_Ford", "Condoleezza_Rice")
PORTRAITS = 6  # photos copied of each person
SCENES = 2  # scene photos (no people) imported at start
INCOMING = 6  # scene photos in incoming/, imported by the import test
PHOTOS = len(PEOPLE) * PORTRAITS + SCENES  # imported at start
KEY_NAME = "ui-tests"

Json = dict[str, Any]


def auth_headers(key: str) -> dict[str, str]:
    """How a REST client presents an API key."""
    return {"Authorization": f"Bearer {key}"}


@dataclass
class UiStack:
    proc: subprocess.Popen[bytes]
    url: str
    library: Path
    log: Path
    env: dict[str, str]
    key: str = ""
    client: httpx.Client | None = None  # REST with the key, once the key exists

    @property
    def photos(self) -> Path:
        return self.library / "photos"

    @property
    def incoming(self) -> Path:
        return self.library / "incoming"

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def api(self) -> httpx.Client:
        assert self.client is not None, "no API key yet"
        return self.client

    def get(self, path: str, **params: Any) -> Any:
        reply = self.api().get(path, params=params)
        assert reply.status_code == 200, f"GET {path} {params} → {reply.status_code} {reply.text[:500]}"
        return reply.json()

    def wait(self, check: Callable[[], bool], timeout_s: float, what: str, every_s: float = 0.5,
             detail: Callable[[], str] = lambda: "") -> None:
        """Until ``check`` holds; fails with ``detail`` and the runner's log tail."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the runner exited ({self.proc.returncode}) waiting for {what}:\n"
                                     f"{self.tail()}")
            if check():
                return
            time.sleep(every_s)
        raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}. {detail()}\n"
                             f"log:\n{self.tail()}")


def scene_photos(shared_data: Path, count: int) -> list[Path]:
    """COCO photos without people in them (so dlib finds no faces), in manifest order."""
    manifest = shared_data / "scenes" / "MANIFEST.tsv"
    chosen: list[Path] = []
    for line in manifest.read_text().splitlines()[1:]:
        path, caption = line.split("\t")[:2]
        objects = caption.rpartition("objects:")[2]
        if path.startswith("coco/") and "person" not in objects:
            chosen.append(shared_data / "scenes" / path)
        if len(chosen) == count:
            return chosen
    raise AssertionError(f"only {len(chosen)} COCO photos without people in {manifest}")


def copy_library(shared_data: Path, library: Path) -> None:
    for person in PEOPLE:
        target = library / "photos" / person
        target.mkdir(parents=True)
        for photo in sorted((shared_data / "faces" / "lfw" / person).glob("*.jpg"))[:PORTRAITS]:
            shutil.copy2(photo, target / photo.name)
    scenes = scene_photos(shared_data, SCENES + INCOMING)
    for folder, photos in (("photos/scenes", scenes[:SCENES]), ("incoming", scenes[SCENES:])):
        (library / folder).mkdir(parents=True)
        for photo in photos:
            shutil.copy2(photo, library / folder / photo.name)


def create_key(env: dict[str, str], name: str = KEY_NAME) -> str:
    """``imgsearch keys create NAME`` (the real CLI, same data dir): the key is its only stdout line."""
    command = [str(Path(sys.executable).with_name("imgsearch")), "keys", "create", name]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and len(lines) == 1 and lines[0].strip(), (
        f"{' '.join(command)} → {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}")
    return lines[0].strip()


@contextmanager
def ui_stack(tiny_clip: TinyClip, shared_data: Path, root: Path) -> Iterator[UiStack]:
    library = root / "library"
    copy_library(shared_data, library)
    http_port = free_port()
    env = runner_env(
        tiny_clip, root / "data", library, http_port=http_port, grpc_port=free_port(),
        nats_port=free_port(), batch_size=8, IMGSEARCH_FACES__BACKEND="dlib",
        IMGSEARCH_CLUSTERING__INTERVAL_S="0", IMGSEARCH_AUTH__MODE="on",
    )
    log = root / "runner.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "imgsearch.runner", "--ingest", str(library / "photos")],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    stack = UiStack(proc, f"http://127.0.0.1:{http_port}", library, log, env)
    try:
        _start(stack)
        yield stack
    finally:
        if stack.client is not None:
            stack.client.close()
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _start(stack: UiStack) -> None:
    stack.wait(lambda: _answers(stack.url), 180, "the gateway to answer HTTP", every_s=0.3)
    stack.key = create_key(stack.env)
    stack.client = httpx.Client(base_url=stack.url, timeout=30, headers=auth_headers(stack.key))
    client = stack.client
    stack.wait(lambda: client.get("/readyz").status_code == 200, 120, "/readyz")
    stack.wait(lambda: _searchable(client) >= PHOTOS, 180, f"{PHOTOS} searchable photos")
    stack.wait(lambda: _sessions_done(client), 180, "the start-up import to finish (faces detected)",
               detail=lambda: client.get("/api/v1/sessions").text[:2000])
    asked = [-1e9]

    def two_clusters() -> bool:
        if time.monotonic() > asked[0] + 10:  # ask again now and then: faces may have come in since
            reply = client.post("/api/v1/clusters/run", json={"full": True})
            assert reply.status_code == 202, reply.text
            asked[0] = time.monotonic()
        clusters: list[Json] = client.get("/api/v1/clusters", params={"limit": 50}).json()["clusters"]
        return len([c for c in clusters if c["size"] >= 3]) >= len(PEOPLE)

    stack.wait(two_clusters, 120, "a cluster for each person", every_s=1.0,
               detail=lambda: client.get("/api/v1/clusters").text[:2000])


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/healthz", timeout=2)
    except httpx.HTTPError:
        return False
    return True


def _searchable(client: httpx.Client) -> int:
    reply = client.get("/api/v1/search", params={"q": "a photo", "limit": 200})
    return len(reply.json()["hits"]) if reply.status_code == 200 else 0


def _sessions_done(client: httpx.Client) -> bool:
    reply = client.get("/api/v1/sessions")
    if reply.status_code != 200:
        return False
    sessions: list[Json] = reply.json()["sessions"]
    return bool(sessions) and all(s["state"] == "done" for s in sessions)
