"""Real photos with EXIF GPS and camera tags → ``python -m imgsearch.runner`` (ingest → ImageIngested →
embed → qdrant-edge payload → search) → the GPS-radius and camera filters and GET /api/v1/cameras, over
REST and gRPC."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from imgsearch.api.v1 import search_pb2, search_pb2_grpc
from imgsearch.common.infra.nats_server import free_port
from tests.support.runner_env import runner_env
from tests.support.tiny_clip import TinyClip

pytestmark = pytest.mark.e2e

# name: (source under ../shared/data, GPS position or None, camera or None) — as the EXIF says.
PHOTOS: dict[str, tuple[str, tuple[float, float] | None, str | None]] = {
    "building_mono.jpg": ("scenes/photoprism/building_mono.jpg", (52.5108694, 13.442275), "Apple iPhone SE"),
    "ephedra_green_lime.jpg": ("scenes/photoprism/ephedra_green_lime.jpg", (52.454615, 13.30406),
                               "Canon EOS 6D"),
    "ferriswheel_colorful.jpg": ("scenes/photoprism/ferriswheel_colorful.jpg", (34.0081433, -118.498125),
                                 "Canon EOS 6D"),
    "cat_black.jpg": ("scenes/photoprism/cat_black.jpg", None, None),
    "DSCN0010.jpg": ("robustness/exif_gps_date/exifsamples_DSCN0010.jpg", (43.4674483, 11.8851267),
                     "NIKON COOLPIX P6000"),
}


@dataclass
class Stack:
    proc: subprocess.Popen[bytes]
    http: str
    grpc_target: str
    log: Path


@pytest.fixture(scope="module")
def stack(tiny_clip: TinyClip, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("metadata-e2e")
    library = root / "library"
    library.mkdir()
    for name, (source, _, _) in PHOTOS.items():
        shutil.copyfile(shared_data / source, library / name)
    http_port, grpc_port = free_port(), free_port()
    env = runner_env(tiny_clip, root / "data", library, http_port=http_port, grpc_port=grpc_port,
                     nats_port=free_port())
    log = root / "runner.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "imgsearch.runner", "--ingest", str(library)],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    stack = Stack(proc, f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", log)
    try:
        _wait_indexed(stack, len(PHOTOS))
        yield stack
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_indexed(stack: Stack, expected: int, timeout_s: float = 180) -> None:
    deadline, found = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline:
        if stack.proc.poll() is not None:
            pytest.fail(f"runner exited {stack.proc.returncode}:\n{stack.log.read_text()[-4000:]}")
        try:
            reply = httpx.get(f"{stack.http}/api/v1/search", params={"q": "a photo", "limit": 50}, timeout=5)
            found = len(reply.json()["hits"]) if reply.status_code == 200 else 0
        except httpx.HTTPError:
            found = 0
        if found >= expected:
            return
        time.sleep(0.3)
    pytest.fail(f"only {found}/{expected} searchable after {timeout_s}s:\n{stack.log.read_text()[-4000:]}")


def _names(stack: Stack, **params: Any) -> set[str]:
    query = {"q": "a photo", "limit": 50, **params}
    reply = httpx.get(f"{stack.http}/api/v1/search", params=query, timeout=10)
    assert reply.status_code == 200, reply.text
    return {Path(hit["path"]).name for hit in reply.json()["hits"]}


def _image_id(stack: Stack, name: str) -> str:
    hits = httpx.get(f"{stack.http}/api/v1/search", params={"q": "a photo", "limit": 50}).json()["hits"]
    return str(next(h["image_id"] for h in hits if Path(h["path"]).name == name))


def test_a_photo_is_found_within_a_radius_of_where_it_was_taken_and_not_elsewhere(stack: Stack) -> None:
    for name, (_, position, _) in PHOTOS.items():
        if position is None:
            continue
        near = f"{position[0]},{position[1]}"
        assert name in _names(stack, near=near, radius_km=1), name
        far = f"{position[0] - 10},{position[1]}"  # about 1100 km further south
        assert name not in _names(stack, near=far, radius_km=500), name
    berlin = "52.5108694,13.442275"
    assert _names(stack, near=berlin, radius_km=2) == {"building_mono.jpg"}
    assert _names(stack, near=berlin, radius_km=20) == {"building_mono.jpg", "ephedra_green_lime.jpg"}
    assert _names(stack, near=berlin, radius_km=20_000) == {n for n, (_, p, _) in PHOTOS.items() if p}


def test_camera_filter_and_the_camera_list(stack: Stack) -> None:
    for camera in {c for _, _, c in PHOTOS.values() if c}:
        assert _names(stack, camera=camera) == {n for n, (_, _, c) in PHOTOS.items() if c == camera}
    assert _names(stack, camera="Canon EOS 6D", near="52.5,13.4", radius_km=30) == {"ephedra_green_lime.jpg"}
    assert _names(stack, camera="Canon") == set()
    cameras = httpx.get(f"{stack.http}/api/v1/cameras", timeout=10).json()["cameras"]
    assert cameras == [
        {"camera": "Canon EOS 6D", "images": 2},
        {"camera": "Apple iPhone SE", "images": 1},
        {"camera": "NIKON COOLPIX P6000", "images": 1},
    ]


def test_similar_search_and_grpc_take_the_same_filters(stack: Stack) -> None:
    cat = _image_id(stack, "cat_black.jpg")
    similar = httpx.get(f"{stack.http}/api/v1/images/{cat}/similar",
                        params={"near": "43.4674,11.8851", "radius_km": 5}).json()["hits"]
    assert [Path(h["path"]).name for h in similar] == ["DSCN0010.jpg"]
    bad = httpx.get(f"{stack.http}/api/v1/search", params={"q": "a photo", "near": "91,0", "radius_km": 5})
    assert bad.status_code == 400 and bad.json()["error"] == "InvalidInput"

    with grpc.insecure_channel(stack.grpc_target) as channel:
        stub = search_pb2_grpc.ImageSearchStub(channel)  # type: ignore[no-untyped-call]
        filters = search_pb2.SearchFilters(near=search_pb2.GeoRadius(lat=34.0, lon=-118.5, radius_km=5),
                                           camera="Canon EOS 6D")
        reply = stub.SearchText(search_pb2.TextSearchRequest(query="a photo", filters=filters), timeout=30)
        assert [Path(h.path).name for h in reply.hits] == ["ferriswheel_colorful.jpg"]
        nikon = _image_id(stack, "DSCN0010.jpg")
        image = stub.GetImage(search_pb2.GetImageRequest(image_id=nikon), timeout=30)
        assert (image.camera, image.taken_at_source) == ("NIKON COOLPIX P6000", "exif:DateTimeOriginal:local")
        cameras = stub.ListCameras(search_pb2.ListCamerasRequest(), timeout=30)
        assert {(c.camera, c.images) for c in cameras.cameras} >= {("Canon EOS 6D", 2)}
        with pytest.raises(grpc.RpcError) as refused:
            stub.SearchText(search_pb2.TextSearchRequest(query="a photo", filters=search_pb2.SearchFilters(
                near=search_pb2.GeoRadius(lat=0, lon=0, radius_km=30_000))), timeout=30)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
