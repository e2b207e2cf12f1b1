"""What a reconcile run found and did: plain counts, the same shape in JSON (REST) and protobuf (gRPC)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ImagesCheck:
    """PostgreSQL images (ingested) against the images collection."""

    collection_exists: bool = True
    postgres: int = 0  # ingested images
    points: int = 0
    missing: int = 0  # images without a point, whatever their embed status
    embedded_without_vector: int = 0  # drift: marked embedded, no point
    pending_stalled: int = 0  # drift: embed pending, yet the embed consumer has no work left
    pending_queued: int = 0  # not drift: embed pending and the embed consumer still has work
    failed: int = 0  # not drift: embed failed (the reason is on the row and in dead_letters)
    no_file: int = 0  # drift that cannot be repaired: no ingested file left to read the image from
    republished: int = 0  # images.ingested published again (repair)
    orphans: int = 0  # drift: points whose image is not in PostgreSQL
    orphans_deleted: int = 0
    payload_drift: int = 0  # drift: folders / taken_at / location / camera differ from PostgreSQL
    payloads_fixed: int = 0
    hashes_missing: int = 0  # drift: no perceptual hashes (ingested before they existed)
    hashes_recorded: int = 0  # computed from the thumbnail (repair)

    @property
    def drift(self) -> int:
        return (self.embedded_without_vector + self.pending_stalled + self.orphans + self.payload_drift
                + self.hashes_missing)


@dataclass
class FacesCheck:
    """PostgreSQL faces rows (the embeddings are kept there) against the faces collection."""

    collection_exists: bool = True
    postgres: int = 0
    points: int = 0
    missing: int = 0  # drift: rows without a point
    restored: int = 0  # points upserted from PostgreSQL (repair)
    orphans: int = 0  # drift: points without a row
    orphans_deleted: int = 0
    payload_drift: int = 0  # drift: image_id / person_id / cluster_id of the point differ from the row
    payloads_fixed: int = 0

    @property
    def drift(self) -> int:
        return self.missing + self.orphans + self.payload_drift


@dataclass(frozen=True)
class ConsumerState:
    name: str
    pending: int  # not yet delivered
    ack_pending: int  # delivered, not yet acknowledged
    redelivered: int


@dataclass(frozen=True)
class StreamState:
    name: str
    messages: int
    consumers: list[ConsumerState] = field(default_factory=list)


@dataclass
class ReconcileReport:
    run_id: str
    repair: bool
    images: ImagesCheck = field(default_factory=ImagesCheck)
    faces: FacesCheck = field(default_factory=FacesCheck)
    streams: list[StreamState] = field(default_factory=list)

    @property
    def drift(self) -> int:
        return self.images.drift + self.faces.drift

    @property
    def repaired(self) -> int:
        images, faces = self.images, self.faces
        return (images.republished + images.orphans_deleted + images.payloads_fixed + images.hashes_recorded
                + faces.restored + faces.orphans_deleted + faces.payloads_fixed)
