"""The report as plain data (JSON for REST and the command line)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from imgsearch.reconcile.report import ReconcileReport


def report_dict(report: ReconcileReport) -> dict[str, Any]:
    data = asdict(report)
    data["images"]["drift"] = report.images.drift
    data["faces"]["drift"] = report.faces.drift
    data["drift"] = report.drift
    data["repaired"] = report.repaired
    return data
