"""``python -m imgsearch.runner [--ingest PATH ...]``: the whole system in one process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from imgsearch.common.errors import ImgSearchError
from imgsearch.common.runtime import run_until_stopped
from imgsearch.common.service import startup_settings

log = logging.getLogger("imgsearch.runner")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m imgsearch.runner", description=__doc__)
    parser.add_argument("--ingest", type=Path, action="append", default=[],
                        help="folder to ingest at start (must lie under IMGSEARCH_LIBRARY_ROOTS)")
    parser.add_argument("--reindex-faces", choices=("auto", "dlib", "insightface"), default=None,
                        help="rebuild every face with this backend before serving (the explicit switch)")
    args = parser.parse_args(argv)
    settings = startup_settings(log)
    if settings is None:
        return 2
    missing = [str(p) for p in args.ingest if not p.is_dir()]
    if missing:
        log.error("folder to ingest not found: %s (make run LIBRARY=/path/to/photos)", ", ".join(missing))
        return 2
    folders = [p.resolve() for p in args.ingest]
    if not settings.library_roots:
        # Nothing configured: the folders given to ingest are the library (file serving stays inside them).
        settings.library_roots = folders
    roots = [root.resolve() for root in settings.library_roots]
    outside = [str(f) for f in folders if not any(f.is_relative_to(root) for root in roots)]
    if outside:
        log.error("folder to ingest is outside IMGSEARCH_LIBRARY_ROOTS %s: %s", [str(r) for r in roots],
                  ", ".join(outside))
        return 2
    from imgsearch.runner.stack import run_stack

    async def run(stop: asyncio.Event) -> None:
        await run_stack(settings, stop, ingest=folders, reindex_faces=args.reindex_faces)

    try:
        run_until_stopped(run)
    except ImgSearchError as exc:
        log.error("%s: %s", exc.kind, exc.message)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
