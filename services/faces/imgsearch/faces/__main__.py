"""``python -m imgsearch.faces``: the faces service on its own (distributed mode: URLs from settings).

``python -m imgsearch.faces reindex --backend dlib|insightface|auto``: rebuild every face with that backend
(stop the faces service first; it loads the recorded backend when it starts again)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from imgsearch.common.deps import open_deps
from imgsearch.common.errors import ImgSearchError
from imgsearch.common.service import run_service, startup_settings
from imgsearch.faces.bootstrap import serve

log = logging.getLogger("imgsearch.faces")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m imgsearch.faces", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="detect, recognise and match faces (the default)")
    again = commands.add_parser("reindex", help="rebuild every face with another backend")
    again.add_argument("--backend", choices=("auto", "dlib", "insightface"), default="auto")
    args = parser.parse_args(argv)
    if args.command != "reindex":
        return run_service("faces", serve)
    settings = startup_settings(log)
    if settings is None:
        return 2

    async def run() -> int:
        from imgsearch.faces.reindex import reindex

        deps = await open_deps(settings, "faces-reindex")
        try:
            return await reindex(settings, deps, args.backend)
        finally:
            await deps.close()

    try:
        queued = asyncio.run(run())
    except ImgSearchError as exc:
        log.error("%s: %s", exc.kind, exc.message)
        return 2
    print(f"{queued} images queued for face detection")
    return 0


if __name__ == "__main__":
    sys.exit(main())
