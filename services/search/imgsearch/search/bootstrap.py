"""Build the search handlers from their adapters and answer requests until stopped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from nats.aio.msg import Msg

from imgsearch.api.v1 import search_pb2 as pb
from imgsearch.common.db.people import PeopleRepository
from imgsearch.common.deps import Deps
from imgsearch.common.settings import Settings
from imgsearch.common.subjects import SEARCH_INFO, SEARCH_QUEUE, SEARCH_SIMILAR, SEARCH_TEXT
from imgsearch.search.handlers import SearchHandlers, reply_handler
from imgsearch.search.ports import TextEncoder

log = logging.getLogger(__name__)


def load_text_encoder(settings: Settings) -> TextEncoder:
    from imgsearch.clip import load_clip  # torch is imported here, not when this module is

    encoder: TextEncoder = load_clip(settings.clip, towers=frozenset({"text"}))
    return encoder


async def serve(
    settings: Settings, deps: Deps, stop: asyncio.Event, clip: TextEncoder | None = None
) -> None:
    """Answer search requests (queue group SEARCH_QUEUE) until stop is set."""
    encoder: TextEncoder = clip if clip is not None else await asyncio.to_thread(load_text_encoder, settings)
    info = encoder.info
    if info.random_weights:
        log.warning("search runs CLIP %s with RANDOM weights: results are meaningless", info.model)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-encode") as executor:
        people = PeopleRepository(deps.pool)
        handlers = SearchHandlers(encoder, deps.vectors, deps.images, executor, people=people)
        responder = Responder()
        subscriptions = [
            await deps.bus.nc.subscribe(subject, queue=SEARCH_QUEUE, cb=responder.callback(handler))
            for subject, handler in (
                (SEARCH_TEXT, reply_handler(pb.TextSearchRequest, handlers.text)),
                (SEARCH_SIMILAR, reply_handler(pb.SimilarSearchRequest, handlers.similar)),
                (SEARCH_INFO, reply_handler(pb.SearchInfoRequest, handlers.info)),
            )
        ]
        log.info("search answers on %s, %s, %s (%s/%s)", SEARCH_TEXT, SEARCH_SIMILAR, SEARCH_INFO,
                 info.model, info.pretrained)
        try:
            await stop.wait()
        finally:
            for subscription in subscriptions:
                await subscription.unsubscribe()
            await responder.finish()


class Responder:
    """Answers each request in its own task (nats-py runs one callback at a time per subscription),
    so a slow search does not hold up the gateway's readiness probe; finish() waits for those in flight."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()

    def callback(self, handler: Callable[[bytes], Awaitable[bytes]]) -> Callable[[Msg], Awaitable[None]]:
        async def on_request(msg: Msg) -> None:
            task = asyncio.create_task(self._answer(msg, handler))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

        return on_request

    async def _answer(self, msg: Msg, handler: Callable[[bytes], Awaitable[bytes]]) -> None:
        try:
            await msg.respond(await handler(msg.data))
        except Exception as exc:  # the requester went away, or the connection is closing
            log.warning("could not answer a request on %s: %r", msg.subject, exc)

    async def finish(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
