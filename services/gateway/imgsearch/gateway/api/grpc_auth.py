"""gRPC authentication: every call carries an API key in its metadata (``authorization: Bearer <key>``
or ``x-api-key: <key>``), except health checking and reflection (probes and tools ask without one)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc

from imgsearch.common.db.outage import as_unavailable
from imgsearch.gateway.auth import CREATE_KEY_HINT, Authenticator, presented_key

OPEN_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)
MISSING = (
    "an API key is required: send metadata 'authorization: Bearer <key>' or 'x-api-key: <key>' ("
    + CREATE_KEY_HINT + ")"
)
INVALID = "the API key is not valid (unknown or revoked)"
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        method: str = details.method
        if method.startswith(OPEN_SERVICES):
            return await continuation(details)
        key = metadata_key(details.invocation_metadata or ())
        code, message = grpc.StatusCode.UNAUTHENTICATED, MISSING
        if key is not None:
            try:
                if await self.auth.for_key(key) is not None:
                    return await continuation(details)
                message = INVALID
            except Exception as exc:
                outage = as_unavailable(exc)
                if outage is None:
                    raise
                code, message = grpc.StatusCode.UNAVAILABLE, outage.message
        handler = await continuation(details)
        return None if handler is None else _refusing(handler, code, message)


def metadata_key(metadata: Sequence[tuple[str, Any]]) -> str | None:
    """The key of ``authorization: Bearer <key>``, else of ``x-api-key``; None without either."""
    values = {name.lower(): value for name, value in metadata if isinstance(value, str)}
    return presented_key(values.get("authorization", ""), values.get("x-api-key", ""))


def _refusing(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    """A handler of the same shape (and deserializers) as the real one that only aborts."""

    async def refuse(request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(code, message)

    args = {"request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer}
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(refuse, **args)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(refuse, **args)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(refuse, **args)
    return grpc.stream_stream_rpc_method_handler(refuse, **args)
