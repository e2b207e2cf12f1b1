"""``python -m imgsearch.embed``: the embed service on its own (distributed mode: URLs from settings)."""

from __future__ import annotations

import asyncio

from imgsearch.common.deps import open_deps
from imgsearch.common.runtime import configure_logging, run_until_stopped
from imgsearch.common.settings import Settings
from imgsearch.embed.bootstrap import load_image_encoder, serve


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)

    async def run(stop: asyncio.Event) -> None:
        # the model first: without weights this fails in seconds, before any connection is made
        encoder = await asyncio.to_thread(load_image_encoder, settings)
        deps = await open_deps(settings, "embed")
        try:
            await serve(settings, deps, stop, clip=encoder)
        finally:
            await deps.close()

    run_until_stopped(run)


if __name__ == "__main__":
    main()
