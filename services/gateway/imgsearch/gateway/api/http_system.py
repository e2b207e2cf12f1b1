"""REST route of the system status: GET /api/v1/system (mounted by api/http.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from imgsearch.gateway.api.system_schemas import SystemStatus
from imgsearch.gateway.service import Gateway


def system_routes(gateway: Gateway, errors: dict[int | str, dict[str, Any]]) -> APIRouter:
    router = APIRouter(prefix="/api/v1", responses=errors, tags=["system"])

    @router.get("/system", response_model=SystemStatus)
    async def system() -> SystemStatus:
        """Queues (per durable consumer), models, backends, checks and warnings. Always 200: a dependency
        that does not answer is a failed check in the body."""
        return SystemStatus.from_proto(await gateway.system_status())

    return router
