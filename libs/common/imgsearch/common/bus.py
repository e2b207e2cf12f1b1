"""NATS JetStream adapter: streams, idempotent publish, durable pull consumers with an ack policy.

Ack policy (decided by imgsearch.common.errors):
- handler returns None for a message          → ack (after the handler's writes are durable)
- ImgSearchError with Disposition.TERM         → dead letter + term (poison: never redelivered)
- anything else                                → nak with backoff; at max_deliver → dead letter + term
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import nats
from google.protobuf.message import Message
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, ServiceUnavailableError

from imgsearch.common.errors import Disposition, ImgSearchError, InvalidInput, Unavailable
from imgsearch.common.runtime import sleep_unless_stopped
from imgsearch.common.settings import ConsumerSettings
from imgsearch.common.subjects import STREAMS, StreamSpec

log = logging.getLogger(__name__)

# What a JetStream API call raises while the server is down, restarting or electing its meta leader.
_UNREACHABLE = (
    NatsTimeoutError, TimeoutError, nats.errors.NoRespondersError, nats.errors.ConnectionReconnectingError,
    ServiceUnavailableError,
)


@dataclass(frozen=True)
class ConsumerSpec:
    stream: str
    durable: str
    filter_subject: str
    batch_size: int = 32
    max_deliver: int = 5
    ack_wait_s: float = 120.0
    max_ack_pending: int = 256
    backoff_s: Sequence[float] = field(default=(2.0, 10.0, 30.0, 120.0))
    concurrency: int = 1  # batches in flight at once (2 overlaps decode of one batch with inference)

    def delay_for(self, deliveries: int) -> float:
        index = min(max(deliveries - 1, 0), len(self.backoff_s) - 1)
        return float(self.backoff_s[index]) if self.backoff_s else 1.0


def configured_consumer(policy: ConsumerSettings, stream: str, durable: str, filter_subject: str,
                        batch_size: int, concurrency: int = 1) -> ConsumerSpec:
    """A durable consumer with the configured delivery policy (IMGSEARCH_CONSUMER__*)."""
    return ConsumerSpec(
        stream=stream, durable=durable, filter_subject=filter_subject, batch_size=batch_size,
        concurrency=concurrency, max_deliver=policy.max_deliver, ack_wait_s=policy.ack_wait_s,
        max_ack_pending=policy.max_ack_pending, backoff_s=tuple(policy.backoff_s),
    )


@dataclass(frozen=True)
class Delivery:
    subject: str
    data: bytes
    deliveries: int
    stream_seq: int
    msg: Msg


BatchHandler = Callable[[Sequence[Delivery]], Awaitable[Sequence[BaseException | None]]]
DeadLetterHandler = Callable[[Delivery, BaseException], Awaitable[None]]


class Bus:
    def __init__(self, nc: NatsClient, request_timeout_s: float = 10.0) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.request_timeout_s = request_timeout_s

    @classmethod
    async def connect(
        cls, url: str, name: str, request_timeout_s: float = 10.0, connect_timeout_s: float = 30.0
    ) -> Bus:
        """Connect, retrying for up to connect_timeout_s; once connected, reconnect forever."""
        async def on_error(exc: Exception) -> None:
            log.warning("NATS connection %s: %r", name, exc)  # one line, no traceback

        nc: NatsClient | None = None

        async def on_disconnect() -> None:
            if nc is not None and not (nc.is_closed or nc.is_draining):  # not our own drain/close
                log.warning("NATS connection %s lost; reconnecting", name)

        async def on_reconnect() -> None:
            log.info("NATS connection %s restored", name)

        try:
            nc = await asyncio.wait_for(
                nats.connect(
                    url, name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                    connect_timeout=5, allow_reconnect=True, error_cb=on_error,
                    disconnected_cb=on_disconnect, reconnected_cb=on_reconnect,
                ),
                connect_timeout_s,
            )
        except Exception as exc:  # nats raises several unrelated types here; TimeoutError too
            raise Unavailable(f"NATS at {url} is not reachable: {exc}") from exc
        return cls(nc, request_timeout_s)

    async def ensure_streams(self, streams: Sequence[StreamSpec] = STREAMS, replicas: int = 1) -> None:
        """Create or update the streams: safe to call from every service at every start."""
        for spec in streams:
            config = api.StreamConfig(
                name=spec.name, subjects=list(spec.subjects), storage=api.StorageType.FILE,
                retention=api.RetentionPolicy.LIMITS, duplicate_window=spec.duplicate_window_s,
                max_age=spec.max_age_s, num_replicas=replicas,
            )
            try:
                await self.js.add_stream(config)
            except BadRequestError:
                await self.js.update_stream(config)

    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool:
        """Publish durably; returns False when the server dropped it as a duplicate of msg_id."""
        payload = message if isinstance(message, bytes) else message.SerializeToString()
        try:
            ack = await self.js.publish(
                subject, payload, timeout=self.request_timeout_s, headers={"Nats-Msg-Id": msg_id}
            )
        except (NatsTimeoutError, nats.errors.NoRespondersError, nats.errors.ConnectionClosedError) as exc:
            raise Unavailable(f"JetStream publish to {subject} failed: {exc!r}") from exc
        except nats.errors.MaxPayloadError as exc:
            raise InvalidInput(f"message for {subject} is too large ({len(payload)} bytes)") from exc
        return not bool(ack.duplicate)

    async def request(self, subject: str, payload: bytes, timeout_s: float | None = None) -> bytes:
        try:
            reply = await self.nc.request(subject, payload, timeout=timeout_s or self.request_timeout_s)
        except (NatsTimeoutError, nats.errors.NoRespondersError) as exc:
            raise Unavailable(f"no answer on {subject}: is the service running? ({exc!r})") from exc
        return bytes(reply.data)

    async def serve(self, subject: str, queue: str, handler: Callable[[bytes], Awaitable[bytes]]) -> None:
        """Answer core-NATS requests on subject (load-balanced over the queue group)."""

        async def on_request(msg: Msg) -> None:
            await msg.respond(await handler(msg.data))

        await self.nc.subscribe(subject, queue=queue, cb=on_request)

    async def consume(
        self, spec: ConsumerSpec, handler: BatchHandler, dead_letter: DeadLetterHandler,
        stop: asyncio.Event,
    ) -> None:
        """Run a durable pull consumer until stop is set, then finish the batches in flight."""
        consumer = await self._bind_until_stopped(spec, stop)
        if consumer is None:  # stopped while NATS was unreachable: nothing was fetched
            return
        queue: asyncio.Queue[list[Msg] | None] = asyncio.Queue()
        # Fetch only for an idle worker: a fetched message waits for no one (its ack_wait is running).
        idle = asyncio.Semaphore(spec.concurrency)

        async def fetcher() -> None:
            while not stop.is_set():
                await idle.acquire()
                if stop.is_set():  # stopped while waiting for a worker: fetch nothing more
                    idle.release()
                    break
                try:
                    msgs = await consumer.fetch(spec.batch_size, timeout=1.0)
                except (NatsTimeoutError, TimeoutError):  # nothing to fetch (nats-py raises either)
                    idle.release()
                    continue
                except Exception as exc:  # connection trouble: keep going, nats reconnects
                    idle.release()
                    log.warning("fetch on %s failed: %r", spec.durable, exc)
                    await asyncio.sleep(0.5)
                    continue
                await queue.put(msgs)
            for _ in range(spec.concurrency):
                await queue.put(None)

        async def worker() -> None:
            while (msgs := await queue.get()) is not None:
                try:
                    await self._handle_batch(spec, msgs, handler, dead_letter)
                finally:
                    idle.release()

        await asyncio.gather(fetcher(), *(worker() for _ in range(spec.concurrency)))
        await consumer.unsubscribe()

    async def _bind_until_stopped(
        self, spec: ConsumerSpec, stop: asyncio.Event
    ) -> JetStreamContext.PullSubscription | None:
        """The pull subscription, retried while NATS or JetStream can't answer (a server restart, or the
        service reaching this point during an outage): a NATS outage must not end the service."""
        delay = 0.5
        while not stop.is_set():
            try:
                return await self._pull_subscription(spec)
            except _UNREACHABLE as exc:
                log.warning("consumer %s not bound yet (%r); retrying in %.1fs", spec.durable, exc, delay)
            await sleep_unless_stopped(stop, delay)
            delay = min(2 * delay, 5.0)
        return None

    async def _pull_subscription(self, spec: ConsumerSpec) -> JetStreamContext.PullSubscription:
        config = api.ConsumerConfig(
            durable_name=spec.durable, ack_policy=api.AckPolicy.EXPLICIT, ack_wait=spec.ack_wait_s,
            # No server-side limit: we count deliveries and dead-letter ourselves, and a message is only
            # terminated once its dead-letter record is written (the server would drop it silently).
            max_deliver=-1, max_ack_pending=spec.max_ack_pending,
            filter_subject=spec.filter_subject, deliver_policy=api.DeliverPolicy.ALL,
        )
        try:  # create, or update an existing durable to today's settings
            await self.js.add_consumer(spec.stream, config)
        except BadRequestError as exc:  # a change the server can't apply in place: keep the old one
            log.warning("consumer %s keeps its previous configuration: %s", spec.durable, exc)
        return await self.js.pull_subscribe_bind(durable=spec.durable, stream=spec.stream)

    async def _handle_batch(
        self, spec: ConsumerSpec, msgs: list[Msg], handler: BatchHandler, dead_letter: DeadLetterHandler
    ) -> None:
        deliveries = []
        for m in msgs:
            meta = m.metadata
            delivery = Delivery(m.subject, bytes(m.data), meta.num_delivered, meta.sequence.stream, m)
            if delivery.deliveries > spec.max_deliver:
                # The spare delivery: every earlier one ended without a settle, so handling it killed or
                # hung the worker. Don't try again; record it and let the queue move on.
                crashed = Unavailable(
                    f"delivered {delivery.deliveries - 1} times without being settled"
                    " (the worker stopped or crashed while handling it)"
                )
                await self._settle(spec, delivery, crashed, dead_letter)
            else:
                deliveries.append(delivery)
        if not deliveries:
            return
        try:
            outcomes: Sequence[BaseException | None] = await handler(deliveries)
        except Exception as exc:  # the whole batch failed (e.g. store down): retry each
            log.warning("batch of %d on %s failed: %r", len(msgs), spec.durable, exc)
            outcomes = [exc] * len(deliveries)
        for delivery, outcome in zip(deliveries, outcomes, strict=True):
            await self._settle(spec, delivery, outcome, dead_letter)

    async def _settle(
        self, spec: ConsumerSpec, delivery: Delivery, outcome: BaseException | None,
        dead_letter: DeadLetterHandler,
    ) -> None:
        try:
            if outcome is None:
                await delivery.msg.ack()
                return
            disposition = outcome.disposition if isinstance(outcome, ImgSearchError) else Disposition.NAK
            if disposition is Disposition.TERM or delivery.deliveries >= spec.max_deliver:
                try:
                    await dead_letter(delivery, outcome)
                except Exception as exc:  # no record yet (PostgreSQL down?): keep the message, retry
                    log.warning("dead letter for seq %d on %s not recorded: %r", delivery.stream_seq,
                                spec.durable, exc)
                    await delivery.msg.nak(delay=spec.delay_for(delivery.deliveries))
                    return
                await delivery.msg.term()
            else:
                await delivery.msg.nak(delay=spec.delay_for(delivery.deliveries))
        except Exception as exc:  # settle failed: the server redelivers after ack_wait
            log.warning("could not settle seq %d on %s: %r", delivery.stream_seq, spec.durable, exc)

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Flush what is buffered and close; a connection that is down is just closed."""
        if self.nc.is_closed:
            return
        try:
            await asyncio.wait_for(self.nc.drain(), timeout_s)
        except Exception as exc:  # reconnecting or server gone: nothing left to flush
            log.warning("NATS drain failed (%r); closing", exc)
            await self.nc.close()
