"""``python -m imgsearch.ingest``: the ingest service alone (distributed mode: URLs from settings)."""

from __future__ import annotations

import asyncio

from imgsearch.common.deps import open_deps
from imgsearch.common.runtime import configure_logging, run_until_stopped
from imgsearch.common.settings import Settings
from imgsearch.ingest.bootstrap import serve


async def main(stop: asyncio.Event) -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    deps = await open_deps(settings, "ingest")
    try:
        await serve(settings, deps, stop)
    finally:
        await deps.close()


if __name__ == "__main__":
    run_until_stopped(main)
