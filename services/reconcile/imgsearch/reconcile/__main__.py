"""``python -m imgsearch.reconcile [--repair]``: one reconcile run in its own process, report as JSON.

For the distributed topology (a Qdrant server, IMGSEARCH_NATS__URL and IMGSEARCH_POSTGRES__URL set). The
embedded runner owns its qdrant-edge shards: there, ask the gateway (``imgsearch reconcile``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

from imgsearch.common.deps import open_deps
from imgsearch.common.errors import ImgSearchError
from imgsearch.common.service import startup_settings
from imgsearch.reconcile.report import ReconcileReport
from imgsearch.reconcile.service import Reconciler
from imgsearch.reconcile.views import report_dict

log = logging.getLogger("imgsearch.reconcile")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m imgsearch.reconcile", description=__doc__)
    parser.add_argument("--repair", action="store_true", help="fix what is found (default: report only)")
    args = parser.parse_args(argv)
    settings = startup_settings(log)
    if settings is None:
        return 2
    if not settings.qdrant.url:
        log.error("the embedded qdrant-edge shards belong to the running runner: use `imgsearch reconcile`"
                  " (POST /api/v1/reconcile) there, or set IMGSEARCH_QDRANT__URL")
        return 2

    async def run() -> ReconcileReport:
        deps = await open_deps(settings, "reconcile")
        try:
            return await Reconciler(deps, settings).run(repair=args.repair)
        finally:
            await deps.close()

    try:
        report = asyncio.run(run())
    except ImgSearchError as exc:
        log.error("%s: %s", exc.kind, exc.message)
        return 2
    print(json.dumps(report_dict(report), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
