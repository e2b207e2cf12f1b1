"""Search request handlers: text and similar-image search, and the info the gateway reports in /readyz."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.errors import ImgSearchError, InvalidInput, ModelMismatch, NotFound, Unavailable
from imgsearch.common.ids import point_id
from imgsearch.common.vectors.port import IMAGES_COLLECTION, SearchFilter, VectorStore
from imgsearch.search import domain
from imgsearch.search.messages import filter_datetime, search_response
from imgsearch.search.ports import ImageLookup, PeopleImages, TextEncoder

log = logging.getLogger(__name__)
Req = TypeVar("Req", bound=Message)

SPEC_CHECK_TTL_S = 10.0  # a matching collection is re-checked this often (it is recreated only on re-index)


class SearchHandlers:
    def __init__(
        self, encoder: TextEncoder, vectors: VectorStore, images: ImageLookup, executor: Executor,
        collection: str = IMAGES_COLLECTION, people: PeopleImages | None = None,
    ) -> None:
        self.encoder = encoder
        self.vectors = vectors
        self.images = images
        self.people = people  # None: people filters are refused (Unavailable)
        self.executor = executor  # one worker thread: the text tower is not re-entrant-friendly
        self.collection = collection
        self._spec_ok_until = 0.0
        info = encoder.info
        self.model = pb.ModelInfo(
            model=info.model, pretrained=info.pretrained, dim=info.dim, random_weights=info.random_weights
        )

    async def text(self, request: pb.TextSearchRequest) -> pb.SearchResponse:
        query = domain.check_query(request.query)
        page = domain.check_page(request.limit, request.offset)
        search_filter, people = self._filter(request.filters)
        if not await self._collection_ready():
            return search_response([], self.model)
        search_filter = await self._with_people(search_filter, people)
        loop = asyncio.get_running_loop()
        vectors = await loop.run_in_executor(self.executor, self.encoder.encode_texts, [query])
        return await self._search([float(x) for x in vectors[0]], page, search_filter)

    async def similar(self, request: pb.SimilarSearchRequest) -> pb.SearchResponse:
        if not request.image_id:
            raise InvalidInput("image_id is empty")
        page = domain.check_page(request.limit, request.offset)
        pid = point_id(request.image_id)
        search_filter, people = self._filter(request.filters, exclude_ids=[pid])
        if not await self._collection_ready():
            raise NotFound(f"image {request.image_id} has no embedding yet")
        points = await self.vectors.retrieve(self.collection, [pid])
        if not points:
            raise NotFound(f"image {request.image_id} has no embedding yet (unknown, or not embedded)")
        search_filter = await self._with_people(search_filter, people)
        return await self._search([float(x) for x in points[0].vector], page, search_filter)

    async def info(self, request: pb.SearchInfoRequest) -> pb.SearchInfo:
        warnings: list[str] = []
        if self.model.random_weights:
            warnings.append(
                "CLIP runs with random weights (IMGSEARCH_CLIP__PRETRAINED=random): results are meaningless"
            )
        recorded = await self.vectors.collection_spec(self.collection)
        indexed = 0
        if recorded is None:
            warnings.append("no image has been embedded yet: searches return nothing")
        else:
            indexed = await self.vectors.count(self.collection)
            try:
                domain.check_collection(recorded, self.encoder.collection_spec())
            except ModelMismatch as exc:
                warnings.append(exc.message)
        return pb.SearchInfo(
            model=self.model, collection_exists=recorded is not None, indexed=indexed, warnings=warnings
        )

    def _filter(
        self, filters: pb.SearchFilters, exclude_ids: list[str] | None = None
    ) -> tuple[SearchFilter, domain.PeopleQuery]:
        """The checked filter, and the people query that narrows it later (it costs a database query)."""
        near = filters.near
        search_filter = domain.build_filter(
            filter_datetime(filters, "taken_after"), filter_datetime(filters, "taken_before"),
            filters.folder, exclude_ids or (),
            near=domain.check_near(near.lat, near.lon, near.radius_km) if filters.HasField("near") else None,
            camera=domain.check_camera(filters.camera),
        )
        return search_filter, domain.check_people(filters.people_all, filters.people_any, filters.people_none)

    async def _with_people(self, search_filter: SearchFilter, people: domain.PeopleQuery) -> SearchFilter:
        if people.empty:
            return search_filter
        if self.people is None:
            raise Unavailable("this search service has no people store: people filters are unavailable")
        allowed = await self.people.images_for_people(people.all_of, people.any_of, people.none_of)
        return domain.restrict_to_people(search_filter, allowed)

    async def _collection_ready(self) -> bool:
        """False when nothing is embedded yet; ModelMismatch when the collection holds another model."""
        if time.monotonic() < self._spec_ok_until:
            return True
        recorded = await self.vectors.collection_spec(self.collection)
        if recorded is None:
            return False
        domain.check_collection(recorded, self.encoder.collection_spec())
        self._spec_ok_until = time.monotonic() + SPEC_CHECK_TTL_S
        return True

    async def _search(
        self, vector: list[float], page: domain.Page, search_filter: SearchFilter
    ) -> pb.SearchResponse:
        points = await self.vectors.search(
            self.collection, vector, limit=page.limit, offset=page.offset, filter=search_filter
        )
        records = await self.images.get_many(domain.image_ids(points))
        return search_response(domain.enrich(points, records), self.model)


def reply_handler(
    request_type: type[Req], handle: Callable[[Req], Awaitable[Message]]
) -> Callable[[bytes], Awaitable[bytes]]:
    """Wrap a handler for NATS request-reply: bytes in, a SearchReply envelope out, errors by kind."""

    async def on_request(data: bytes) -> bytes:
        try:
            request = request_type.FromString(data)
            result = await handle(request)
        except DecodeError as exc:
            reply = pb.SearchReply(error=pb.Error(kind="InvalidInput", message=f"bad request payload: {exc}"))
        except ImgSearchError as exc:
            reply = pb.SearchReply(error=pb.Error(kind=exc.kind, message=exc.message))
        except Exception:
            log.exception("search request failed")
            reply = pb.SearchReply(error=pb.Error(kind="ImgSearchError", message="internal error in search"))
        else:
            reply = pb.SearchReply()
            if isinstance(result, pb.SearchInfo):
                reply.info.CopyFrom(result)
            elif isinstance(result, pb.SearchResponse):
                reply.response.CopyFrom(result)
        return reply.SerializeToString()

    return on_request
