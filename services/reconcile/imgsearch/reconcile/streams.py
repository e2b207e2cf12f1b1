"""The stream side of a reconcile: messages kept per stream, work left per durable consumer."""

from __future__ import annotations

from collections.abc import Sequence

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from imgsearch.common.subjects import EVENTS, STREAMS, StreamSpec
from imgsearch.reconcile.report import ConsumerState, StreamState

# The embed service's durable consumer on images.ingested (imgsearch.embed.handlers.DURABLE; not imported:
# that module pulls in torch).
EMBED_CONSUMER = "embed"


async def stream_states(js: JetStreamContext, streams: Sequence[StreamSpec] = STREAMS) -> list[StreamState]:
    states = []
    for spec in streams:
        try:
            info = await js.stream_info(spec.name)
        except NotFoundError:
            states.append(StreamState(spec.name, 0))
            continue
        consumers = sorted(
            (ConsumerState(str(c.name), int(c.num_pending or 0), int(c.num_ack_pending or 0),
                           int(c.num_redelivered or 0))
             for c in await js.consumers_info(spec.name)),
            key=lambda c: c.name,
        )
        states.append(StreamState(spec.name, int(info.state.messages), consumers))
    return states


def embed_work_left(streams: Sequence[StreamState]) -> int | None:
    """Messages the embed consumer has yet to settle; None when it does not exist (yet): it then starts
    from the beginning of the stream, so nothing is stalled."""
    for stream in streams:
        if stream.name == EVENTS.name:
            for consumer in stream.consumers:
                if consumer.name == EMBED_CONSUMER:
                    return consumer.pending + consumer.ack_pending
    return None
