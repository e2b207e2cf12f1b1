"""The standalone entrypoint shared by every service's ``__main__`` (distributed mode)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from imgsearch.common.deps import Deps, open_deps
from imgsearch.common.errors import ConfigurationError, ImgSearchError
from imgsearch.common.runtime import configure_logging, run_until_stopped
from imgsearch.common.settings import Settings, load_settings

Serve = Callable[[Settings, Deps, asyncio.Event], Awaitable[None]]


def startup_settings(log: logging.Logger) -> Settings | None:
    """Settings from env with logging configured; None after one error line when a value is invalid."""
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        configure_logging("INFO")
        log.error("%s", exc.message)
        return None
    configure_logging(settings.log_level)
    return settings


def run_service(name: str, serve: Serve) -> int:
    """Settings from env, connections from their URLs, serve until SIGTERM, drain, exit code."""
    log = logging.getLogger(f"imgsearch.{name}")
    settings = startup_settings(log)
    if settings is None:
        return 2

    async def run(stop: asyncio.Event) -> None:
        deps = await open_deps(settings, name)
        try:
            await serve(settings, deps, stop)
        finally:
            await deps.close()

    try:
        run_until_stopped(run)
    except ImgSearchError as exc:  # missing URLs or weights: a message, not a traceback
        log.error("%s: %s", exc.kind, exc.message)
        return 2
    return 0
