"""A gateway wired to fakes: a library on disk (with a symlink out), the search handlers over fake ports,
the People API over an in-memory people store (search's people filters too) and a recording publisher."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import grpc

from imgsearch.api.v1 import people_pb2_grpc, search_pb2_grpc
from imgsearch.common.errors import Unavailable
from imgsearch.common.ids import point_id
from imgsearch.common.vectors.port import IMAGES_COLLECTION, CollectionSpec, VectorPoint
from imgsearch.gateway.files import LibraryRoots
from imgsearch.gateway.people import PeopleService
from imgsearch.gateway.service import Gateway, Probe
from imgsearch.search.handlers import SearchHandlers
from tests.support.people_fakes import FakePeopleStore, FakePublisher
from tests.support.search_fakes import (
    SPEC,
    FakeImages,
    FakeTextEncoder,
    FakeVectorStore,
    image_id,
    in_process_client,
    make_record,
    unit,
)

JUNE_2020 = datetime(2020, 6, 1, tzinfo=UTC)
ORIGINAL_BYTES = b"\xff\xd8original-jpeg-bytes" * 5000  # ~100 KB: more than one streamed chunk
THUMBNAIL_BYTES = b"\xff\xd8thumbnail"


@dataclass
class IngestRecorder:
    calls: list[tuple[Path, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)

    async def __call__(self, path: Path, include: Sequence[str], exclude: Sequence[str]) -> str:
        self.calls.append((path, tuple(include), tuple(exclude)))
        return f"req-{len(self.calls)}"


@dataclass
class GatewayWorld:
    gateway: Gateway
    library: Path
    outside: Path
    store: FakeVectorStore
    images: FakeImages
    ingest: IngestRecorder
    people: FakePeopleStore
    published: FakePublisher
    crops: Path


async def build_world(
    tmp_path: Path, executor: ThreadPoolExecutor, *, spec: CollectionSpec = SPEC,
    random_weights: bool = False, search_up: bool = True, probes: dict[str, Probe] | None = None,
) -> GatewayWorld:
    library, outside, thumbs = tmp_path / "library", tmp_path / "outside", tmp_path / "thumbs"
    crops = tmp_path / "face-crops"
    for folder in (library / "2020", outside / "secret", thumbs, crops):
        folder.mkdir(parents=True)
    (library / "2020" / "beach.jpg").write_bytes(ORIGINAL_BYTES)
    (library / "2020" / "street.jpg").write_bytes(b"street")
    (library / "not-a-folder.txt").write_text("x")
    (outside / "secret.jpg").write_bytes(b"secret")
    (library / "escape").symlink_to(outside / "secret")  # a link inside the root that leads out
    (library / "escape.jpg").symlink_to(outside / "secret.jpg")
    (thumbs / "beach.jpg").write_bytes(THUMBNAIL_BYTES)

    images = FakeImages([
        make_record("beach", str(library / "2020" / "beach.jpg"), JUNE_2020, thumbnail_path="beach.jpg",
                    gps_lat=52.5, gps_lon=13.4, gps_alt=34.0),
        make_record("street", str(library / "2020" / "street.jpg")),
        make_record("secret", str(library / "escape.jpg"), thumbnail_path="missing.jpg"),
        make_record("moved", str(library / "gone.jpg")),
        make_record("outside", str(outside / "secret.jpg")),
    ])
    store = FakeVectorStore()
    recorded = replace(spec, pretrained="random") if random_weights else spec
    await store.ensure_collection(IMAGES_COLLECTION, recorded)
    await store.upsert(IMAGES_COLLECTION, [
        VectorPoint(point_id(image_id(name)), unit(vector), {"image_id": image_id(name), "folders": [folder]})
        for name, vector, folder in (
            ("beach", [1, 0, 0, 0], str(library / "2020")),
            ("street", [0, 1, 0, 0], str(library / "2020")),
        )
    ])
    texts: dict[str, Sequence[float]] = {"sunset": [1, 0.1, 0, 0], "street": [0, 1, 0, 0]}
    encoder = FakeTextEncoder(texts, random_weights=random_weights)
    people, published = FakePeopleStore(images=set(images.records)), FakePublisher()
    handlers = SearchHandlers(encoder, store, images, executor, people=people) if search_up else None
    ingest = IngestRecorder()
    gateway = Gateway(
        search=in_process_client(handlers), images=images, request_ingest=ingest,
        library=LibraryRoots([library]), thumbnails_dir=thumbs,
        probes=probes if probes is not None else {"nats": _ok, "postgres": _ok},
        people=PeopleService(people, published, crops),
    )
    return GatewayWorld(gateway, library, outside, store, images, ingest, people, published, crops)


async def _ok() -> None:
    pass


async def failing_probe() -> None:
    raise Unavailable("connection refused")


def image_search_stub(channel: grpc.aio.Channel) -> search_pb2_grpc.ImageSearchStub:
    return search_pb2_grpc.ImageSearchStub(channel)  # type: ignore[no-untyped-call]


def people_stub(channel: grpc.aio.Channel) -> people_pb2_grpc.PeopleStub:
    return people_pb2_grpc.PeopleStub(channel)  # type: ignore[no-untyped-call]
