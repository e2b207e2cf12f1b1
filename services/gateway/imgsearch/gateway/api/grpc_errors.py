"""The one error mapping of every gRPC servicer of the gateway."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

import grpc

from imgsearch.common.db.outage import as_unavailable
from imgsearch.common.errors import ImgSearchError

log = logging.getLogger(__name__)
T = TypeVar("T")


async def answer(context: grpc.aio.ServicerContext, call: Awaitable[T]) -> T:
    """ImgSearchError → its gRPC status with the message as details; anything else → INTERNAL, logged."""
    try:
        return await call
    except ImgSearchError as exc:
        await context.abort(grpc.StatusCode[exc.grpc_code], exc.message)
    except Exception as exc:
        outage = as_unavailable(exc)
        if outage is not None:
            await context.abort(grpc.StatusCode[outage.grpc_code], outage.message)
        log.exception("unhandled error in a gRPC call")
        await context.abort(grpc.StatusCode.INTERNAL, "internal error: see the gateway log")
    raise AssertionError("context.abort returns only by raising")
