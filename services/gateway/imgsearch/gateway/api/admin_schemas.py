"""REST schemas of the operator API: POST /api/v1/reconcile (imgsearch.reconcile.report as JSON)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from imgsearch.reconcile.report import ReconcileReport as Report
from imgsearch.reconcile.views import report_dict


class ReconcileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repair: bool = Field(default=False, description="fix what is found; false: a dry run that only reports")


class ImagesCheck(BaseModel):
    collection_exists: bool
    postgres: int = Field(description="ingested images")
    points: int
    missing: int = Field(description="images without a point, whatever their embed status")
    embedded_without_vector: int = Field(description="drift: marked embedded, no point")
    pending_stalled: int = Field(description="drift: pending, the embed consumer has no work left")
    pending_queued: int = Field(description="pending and on their way (not drift)")
    failed: int = Field(description="embed failed: the reason is on the image row (not drift)")
    no_file: int = Field(description="drift that cannot be repaired: no ingested file left to read")
    republished: int
    orphans: int = Field(description="drift: points without an image")
    orphans_deleted: int
    payload_drift: int = Field(description="drift: folders / taken_at / location / camera differ from PG")
    payloads_fixed: int
    hashes_missing: int = Field(description="drift: no perceptual hashes (ingested before they existed)")
    hashes_recorded: int = Field(description="perceptual hashes computed from the thumbnail")
    drift: int


class FacesCheck(BaseModel):
    collection_exists: bool
    postgres: int
    points: int
    missing: int = Field(description="drift: face rows without a point")
    restored: int
    orphans: int = Field(description="drift: points without a face row")
    orphans_deleted: int
    payload_drift: int = Field(description="drift: image_id / person_id / cluster_id differ from the row")
    payloads_fixed: int
    drift: int


class ConsumerState(BaseModel):
    name: str
    pending: int = Field(description="not yet delivered")
    ack_pending: int = Field(description="delivered, not yet acknowledged")
    redelivered: int


class StreamState(BaseModel):
    name: str
    messages: int
    consumers: list[ConsumerState]


class ReconcileReport(BaseModel):
    run_id: str
    repair: bool
    images: ImagesCheck
    faces: FacesCheck
    streams: list[StreamState]
    drift: int = Field(description="what was found out of place (before any repair)")
    repaired: int = Field(description="what this run fixed")

    @classmethod
    def from_report(cls, report: Report) -> ReconcileReport:
        return cls.model_validate(report_dict(report))
