"""Process runtime: logging, SIGTERM/SIGINT → stop event, run until stopped, drain."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def run_until_stopped(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Entrypoint helper: main(stop) runs until SIGTERM/SIGINT sets stop, then must drain and return."""

    async def runner() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        await main(stop)

    asyncio.run(runner())
