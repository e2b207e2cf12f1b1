"""`python -m imgsearch.search`: the search service alone (distributed mode: NATS/PostgreSQL URLs set)."""

from __future__ import annotations

import asyncio
import logging
import sys

from imgsearch.common.deps import open_deps
from imgsearch.common.errors import ImgSearchError
from imgsearch.common.runtime import configure_logging, run_until_stopped
from imgsearch.common.settings import Settings
from imgsearch.search.bootstrap import serve

log = logging.getLogger("imgsearch.search")


def main() -> int:
    settings = Settings()
    configure_logging(settings.log_level)

    async def run(stop: asyncio.Event) -> None:
        deps = await open_deps(settings, "search")
        try:
            await serve(settings, deps, stop)
        finally:
            await deps.close()

    try:
        run_until_stopped(run)
    except ImgSearchError as exc:  # e.g. missing URLs or weights: a message, not a traceback
        log.error("%s: %s", exc.kind, exc.message)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
