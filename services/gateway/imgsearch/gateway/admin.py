"""What the gateway's operator API (REST /api/v1/reconcile, gRPC Admin) needs: a reconcile run."""

from __future__ import annotations

from typing import Protocol

from imgsearch.reconcile.report import ReconcileReport


class ReconcilePort(Protocol):
    """imgsearch.reconcile.service.Reconciler."""

    async def run(self, repair: bool) -> ReconcileReport: ...
