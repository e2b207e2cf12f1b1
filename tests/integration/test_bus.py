"""The bus against a real nats-server: dedupe by Nats-Msg-Id, ack / nak / term policy, dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from imgsearch.common.bus import Bus, ConsumerSpec, Delivery
from imgsearch.common.errors import BadImage, Unavailable
from imgsearch.common.subjects import EVENTS, IMAGES_INGESTED

pytestmark = pytest.mark.integration


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    bus = await Bus.connect(nats_url, name="test")
    await bus.ensure_streams()
    yield bus
    await bus.drain()


def spec(**overrides: object) -> ConsumerSpec:
    base: dict[str, object] = dict(
        stream=EVENTS.name, durable="t", filter_subject=IMAGES_INGESTED, batch_size=8,
        max_deliver=3, ack_wait_s=5.0, backoff_s=(0.05,),
    )
    base.update(overrides)
    return ConsumerSpec(**base)  # type: ignore[arg-type]


async def run_until(bus: Bus, cspec: ConsumerSpec, handler, dead, done: asyncio.Event) -> None:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    task = asyncio.create_task(bus.consume(cspec, handler, dead, stop))
    await asyncio.wait_for(done.wait(), timeout=15)
    stop.set()
    await asyncio.wait_for(task, timeout=10)


async def test_ensure_streams_is_idempotent(bus: Bus) -> None:
    await bus.ensure_streams()
    info = await bus.js.stream_info(EVENTS.name)
    assert info.config.subjects == list(EVENTS.subjects)


async def test_publish_drops_duplicate_message_ids(bus: Bus) -> None:
    assert await bus.publish(IMAGES_INGESTED, b"a", msg_id="same") is True
    assert await bus.publish(IMAGES_INGESTED, b"a", msg_id="same") is False
    assert await bus.publish(IMAGES_INGESTED, b"b", msg_id="other") is True
    info = await bus.js.stream_info(EVENTS.name)
    assert info.state.messages == 2


async def test_success_acks_and_transient_failure_is_retried(bus: Bus) -> None:
    for i in range(5):
        await bus.publish(IMAGES_INGESTED, f"m{i}".encode(), msg_id=f"id{i}")
    seen: list[tuple[bytes, int]] = []
    done = asyncio.Event()

    async def handler(batch: Sequence[Delivery]) -> list[BaseException | None]:
        outcomes: list[BaseException | None] = []
        for d in batch:
            seen.append((d.data, d.deliveries))
            # m2 fails once (store down), then succeeds on redelivery
            outcomes.append(Unavailable("store down") if d.data == b"m2" and d.deliveries == 1 else None)
        if len({data for data, _ in seen}) == 5 and (b"m2", 2) in seen:
            done.set()
        return outcomes

    async def dead(d: Delivery, exc: BaseException) -> None:
        raise AssertionError(f"no dead letter expected, got {exc!r}")

    await run_until(bus, spec(), handler, dead, done)
    info = await bus.js.consumer_info(EVENTS.name, "t")
    assert info.num_ack_pending == 0 and info.num_pending == 0
    assert [n for data, n in seen if data == b"m2"] == [1, 2]


async def test_poison_is_terminated_and_dead_lettered_once(bus: Bus) -> None:
    await bus.publish(IMAGES_INGESTED, b"bad", msg_id="bad")
    await bus.publish(IMAGES_INGESTED, b"good", msg_id="good")
    calls: list[bytes] = []
    dead_letters: list[tuple[bytes, str]] = []
    done = asyncio.Event()

    async def handler(batch: Sequence[Delivery]) -> list[BaseException | None]:
        calls.extend(d.data for d in batch)
        if b"good" in calls and dead_letters:
            done.set()
        return [BadImage("not an image") if d.data == b"bad" else None for d in batch]

    async def dead(d: Delivery, exc: BaseException) -> None:
        dead_letters.append((d.data, str(exc)))
        if b"good" in calls:
            done.set()

    await run_until(bus, spec(), handler, dead, done)
    await asyncio.sleep(0.3)  # a terminated message must not come back
    assert calls.count(b"bad") == 1
    assert dead_letters == [(b"bad", "not an image")]


async def test_retryable_failure_dead_letters_after_max_deliver(bus: Bus) -> None:
    await bus.publish(IMAGES_INGESTED, b"flaky", msg_id="flaky")
    deliveries: list[int] = []
    dead_letters: list[int] = []
    done = asyncio.Event()

    async def handler(batch: Sequence[Delivery]) -> list[BaseException | None]:
        deliveries.extend(d.deliveries for d in batch)
        return [RuntimeError("boom") for _ in batch]

    async def dead(d: Delivery, exc: BaseException) -> None:
        dead_letters.append(d.deliveries)
        done.set()

    await run_until(bus, spec(max_deliver=3), handler, dead, done)
    assert deliveries == [1, 2, 3]
    assert dead_letters == [3]


async def test_whole_batch_exception_naks_every_message(bus: Bus) -> None:
    for i in range(3):
        await bus.publish(IMAGES_INGESTED, f"x{i}".encode(), msg_id=f"x{i}")
    attempts = 0
    done = asyncio.Event()
    acked: set[bytes] = set()

    async def handler(batch: Sequence[Delivery]) -> list[BaseException | None]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("qdrant unreachable")
        acked.update(d.data for d in batch)
        if len(acked) == 3:
            done.set()
        return [None] * len(batch)

    async def dead(d: Delivery, exc: BaseException) -> None:
        raise AssertionError("no dead letter expected")

    await run_until(bus, spec(), handler, dead, done)
    assert acked == {b"x0", b"x1", b"x2"}


async def test_stop_finishes_the_batch_in_flight(bus: Bus) -> None:
    for i in range(4):
        await bus.publish(IMAGES_INGESTED, f"s{i}".encode(), msg_id=f"s{i}")
    started = asyncio.Event()
    finished: list[bytes] = []
    stop = asyncio.Event()

    async def handler(batch: Sequence[Delivery]) -> list[BaseException | None]:
        started.set()
        await asyncio.sleep(0.5)  # slow inference: stop arrives meanwhile
        finished.extend(d.data for d in batch)
        return [None] * len(batch)

    async def dead(d: Delivery, exc: BaseException) -> None:
        raise AssertionError

    task = asyncio.create_task(bus.consume(spec(), handler, dead, stop))
    await asyncio.wait_for(started.wait(), 10)
    stop.set()
    await asyncio.wait_for(task, 10)
    # The batch in flight is finished and acked; nothing is fetched after stop (what was not fetched
    # stays in the stream for the next start).
    assert finished and set(finished) <= {b"s0", b"s1", b"s2", b"s3"}
    await bus.nc.flush()
    for _ in range(50):  # the server applies acks asynchronously
        info = await bus.js.consumer_info(EVENTS.name, "t")
        if info.num_ack_pending == 0:
            break
        await asyncio.sleep(0.1)
    assert info.num_ack_pending == 0
    assert info.num_pending == 4 - len(finished)


async def test_request_without_responder_is_unavailable(bus: Bus) -> None:
    with pytest.raises(Unavailable):
        await bus.request("imgsearch.v1.search.text", b"", timeout_s=0.5)


async def test_connect_to_nothing_gives_up_with_unavailable() -> None:
    from imgsearch.common.infra.nats_server import free_port

    with pytest.raises(Unavailable, match="not reachable"):
        await Bus.connect(f"nats://127.0.0.1:{free_port()}", name="t", connect_timeout_s=1.0)


async def test_message_that_kills_its_worker_is_dead_lettered_not_retried_forever(
    bus: Bus, nats_url: str
) -> None:
    """A worker killed mid-message (here: its consume task cancelled) never settles it. After
    max_deliver such deliveries the next one is dead-lettered without calling the handler again."""
    await bus.publish(IMAGES_INGESTED, b"killer", msg_id="killer")
    cspec = spec(max_deliver=2, ack_wait_s=0.5)
    handled: list[int] = []
    dead_letters: list[str] = []
    called = asyncio.Event()

    async def handler(batch: Sequence[Delivery]) -> list[BaseException | None]:
        handled.extend(d.deliveries for d in batch)
        called.set()
        await asyncio.sleep(3600)  # "crash": never returns
        return [None] * len(batch)

    async def dead(d: Delivery, exc: BaseException) -> None:
        dead_letters.append(str(exc))

    for _ in range(2):  # two workers die on it: their task ends and their connection drops
        called.clear()
        worker = await Bus.connect(nats_url, name="doomed")
        task = asyncio.create_task(worker.consume(cspec, handler, dead, asyncio.Event()))
        await asyncio.wait_for(called.wait(), 10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.nc.close()
    stop = asyncio.Event()
    task = asyncio.create_task(bus.consume(cspec, handler, dead, stop))
    for _ in range(100):
        if dead_letters:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert handled == [1, 2]
    assert len(dead_letters) == 1 and "without being settled" in dead_letters[0]


async def test_dead_letter_that_cannot_be_recorded_keeps_the_message(bus: Bus) -> None:
    await bus.publish(IMAGES_INGESTED, b"poison", msg_id="poison")
    attempts: list[int] = []
    recorded = asyncio.Event()

    async def handler(batch: Sequence[Delivery]) -> list[BaseException | None]:
        return [BadImage("corrupt") for _ in batch]

    async def dead(d: Delivery, exc: BaseException) -> None:
        attempts.append(d.deliveries)
        if len(attempts) == 1:
            raise ConnectionError("PostgreSQL is down")  # the record could not be written
        recorded.set()

    await run_until(bus, spec(), handler, dead, recorded)
    assert attempts == [1, 2]  # redelivered until the dead letter was recorded, then terminated


async def test_consumer_settings_are_updated_on_restart(bus: Bus) -> None:
    async def handler(batch: Sequence[Delivery]) -> list[BaseException | None]:
        return [None] * len(batch)

    async def dead(d: Delivery, exc: BaseException) -> None:
        raise AssertionError

    for pending in (10, 20):
        stop = asyncio.Event()
        task = asyncio.create_task(bus.consume(spec(max_ack_pending=pending), handler, dead, stop))
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.wait_for(task, 10)
        info = await bus.js.consumer_info(EVENTS.name, "t")
        assert info.config.max_ack_pending == pending
