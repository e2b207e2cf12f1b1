"""REST operator API: POST /api/v1/reconcile."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from imgsearch.gateway.admin import ReconcilePort
from imgsearch.gateway.api.admin_schemas import ReconcileReport, ReconcileRequest


def admin_routes(reconciler: ReconcilePort, errors: dict[int | str, dict[str, Any]]) -> APIRouter:
    router = APIRouter(tags=["admin"])

    @router.post("/api/v1/reconcile", response_model=ReconcileReport, responses=errors)
    async def reconcile(body: ReconcileRequest | None = None) -> ReconcileReport:
        """Compare PostgreSQL, the Qdrant collections and the stream; with repair, re-publish images
        without a vector, delete orphan points, restore face points and payloads. One run at a time."""
        repair = body.repair if body is not None else False
        return ReconcileReport.from_report(await reconciler.run(repair=repair))

    return router
