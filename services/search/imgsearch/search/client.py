"""Client for the search service over NATS request-reply. The gateway uses it: no torch, no CLIP here."""

from __future__ import annotations

from google.protobuf.message import DecodeError, Message

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.bus import Bus
from imgsearch.common.errors import Unavailable, from_kind
from imgsearch.common.subjects import SEARCH_INFO, SEARCH_SIMILAR, SEARCH_TEXT


class SearchClient:
    """Raises the ImgSearchError the service answered with; Unavailable when no search service answers."""

    def __init__(self, bus: Bus, timeout_s: float | None = None) -> None:
        self.bus = bus
        self.timeout_s = timeout_s

    async def text(self, request: pb.TextSearchRequest) -> pb.SearchResponse:
        return (await self._call(SEARCH_TEXT, request, "response")).response

    async def similar(self, request: pb.SimilarSearchRequest) -> pb.SearchResponse:
        return (await self._call(SEARCH_SIMILAR, request, "response")).response

    async def info(self, timeout_s: float | None = None) -> pb.SearchInfo:
        return (await self._call(SEARCH_INFO, pb.SearchInfoRequest(), "info", timeout_s)).info

    async def _call(
        self, subject: str, request: Message, expected: str, timeout_s: float | None = None
    ) -> pb.SearchReply:
        data = await self.bus.request(subject, request.SerializeToString(), timeout_s or self.timeout_s)
        try:
            reply = pb.SearchReply.FromString(data)
        except DecodeError as exc:
            raise Unavailable(f"unreadable reply on {subject}: {exc}") from exc
        result = reply.WhichOneof("result")
        if result == "error":
            raise from_kind(reply.error.kind, reply.error.message)
        if result != expected:
            raise Unavailable(f"unexpected reply on {subject}: {result or 'empty'}")
        return reply
