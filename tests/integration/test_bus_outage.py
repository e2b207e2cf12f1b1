"""A NATS outage must not end a service: a consumer that starts (or restarts) while nats-server is down
waits for it and then consumes, and the server's JetStream state survives its restart."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from imgsearch.common.bus import Bus, ConsumerSpec, Delivery
from imgsearch.common.infra.nats_server import NatsServer
from imgsearch.common.subjects import EVENTS, IMAGES_INGESTED

pytestmark = pytest.mark.integration


async def test_a_consumer_started_during_an_outage_waits_for_nats(
    nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="imgsearch.common.bus")
    bus = await Bus.connect(nats_server.url, name="outage", request_timeout_s=2.0)
    await bus.ensure_streams()
    assert await bus.publish(IMAGES_INGESTED, b"before", msg_id="before")
    await asyncio.to_thread(nats_server.stop)

    received: list[bytes] = []
    got_both = asyncio.Event()

    async def handler(deliveries: Sequence[Delivery]) -> list[BaseException | None]:
        received.extend(d.data for d in deliveries)
        if len(received) >= 2:
            got_both.set()
        return [None] * len(deliveries)

    async def dead_letter(delivery: Delivery, exc: BaseException) -> None:
        raise AssertionError(f"dead letter for {delivery.data!r}: {exc!r}")

    stop = asyncio.Event()
    cspec = ConsumerSpec(stream=EVENTS.name, durable="outage", filter_subject=IMAGES_INGESTED, batch_size=4)
    task = asyncio.create_task(bus.consume(cspec, handler, dead_letter, stop))
    try:
        while not any("not bound yet" in r.getMessage() for r in caplog.records):
            assert not task.done(), f"consume ended during the outage: {task.exception()!r}"
            await asyncio.sleep(0.05)
        await asyncio.to_thread(nats_server.start)  # same port, same store
        assert await bus.publish(IMAGES_INGESTED, b"after", msg_id="after")
        await asyncio.wait_for(got_both.wait(), timeout=60)
        assert sorted(received) == [b"after", b"before"]  # the stored message survived the restart
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        await bus.drain()


async def test_stop_during_an_outage_ends_the_consumer(nats_server: NatsServer) -> None:
    bus = await Bus.connect(nats_server.url, name="outage-stop", request_timeout_s=1.0)
    await bus.ensure_streams()
    await asyncio.to_thread(nats_server.stop)
    stop = asyncio.Event()

    async def handler(deliveries: Sequence[Delivery]) -> list[BaseException | None]:
        return [None] * len(deliveries)

    async def dead_letter(delivery: Delivery, exc: BaseException) -> None:
        return None

    cspec = ConsumerSpec(stream=EVENTS.name, durable="outage-stop", filter_subject=IMAGES_INGESTED)
    task = asyncio.create_task(bus.consume(cspec, handler, dead_letter, stop))
    stop.set()
    await asyncio.wait_for(task, timeout=30)  # returns instead of raising or hanging
    await bus.drain(timeout_s=1.0)
