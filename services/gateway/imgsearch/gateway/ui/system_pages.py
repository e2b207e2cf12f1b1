"""UI page /system: warnings, queues (one row per durable consumer), streams, models and backends, checks.

The figures are the ones GET /api/v1/system and gRPC System.GetStatus answer (the same SystemStatus)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from imgsearch.gateway.api.system_schemas import SystemStatus
from imgsearch.gateway.service import Gateway
from imgsearch.gateway.ui.render import Pages, pager, query

QUEUES_PAGE = 50
MAX_OFFSET = 100_000

# Stream names (IMGSEARCH_EVENTS) may wrap after an underscore: the figures stay in view on a phone.
BREAK_AFTER_UNDERSCORE = Markup("_<wbr>")

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


def system_pages(gateway: Gateway, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/system")
    async def system_page(request: Request, offset: Offset = 0) -> HTMLResponse:
        status = SystemStatus.from_proto(await gateway.system_status())
        total = len(status.consumers)
        shown = status.consumers[offset:offset + QUEUES_PAGE]
        pages_of = pager(offset, QUEUES_PAGE, total, lambda start: query("/system", offset=start or None))
        return pages.render(request, "system.html", {
            "status": status, "consumers": shown, "pager": pages_of,
            "paged": total > QUEUES_PAGE or offset > 0,
            "break_after_underscore": BREAK_AFTER_UNDERSCORE,
        })

    return router
