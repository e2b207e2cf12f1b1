"""The faces service's side of the faces tables: what detection writes, what matching and clustering read.

Adapter: imgsearch.common.db.faces.FaceRepository. Embeddings are float32 little-endian bytes, unit length."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class BackendRecord:
    backend: str  # insightface | dlib
    model: str
    dim: int
    reason: str = ""


@dataclass(frozen=True)
class NewFace:
    id: str  # uuid (imgsearch.common.ids.face_id)
    box: tuple[int, int, int, int]
    det_score: float
    quality: float
    sharpness: float | None
    yaw: float | None
    pitch: float | None
    roll: float | None
    landmarks: tuple[float, ...]  # 10 numbers: 5 points x, y
    age: float | None
    sex: str | None
    embedding: bytes
    crop_path: str | None


@dataclass(frozen=True)
class StoredFace:
    """A face as matching and clustering need it."""

    id: str
    image_id: str
    embedding: bytes
    quality: float
    person_id: int | None
    assigned_by: str | None
    cluster_id: int | None
    rejected: frozenset[int]  # people this face is "not"
    taken_at: datetime | None


@dataclass(frozen=True)
class Prototype:
    person_id: int
    face_id: str
    image_id: str
    embedding: bytes
    era: str | None
    quality: float
    pinned: bool


@dataclass(frozen=True)
class AutoAssignment:
    face_id: str
    person_id: int
    confidence: float


@dataclass(frozen=True)
class ClusteringRun:
    full: bool
    reason: str
    params: Mapping[str, object]


class FaceStore(Protocol):
    # backend of the library
    async def recorded_backend(self) -> BackendRecord | None: ...
    async def record_backend(self, record: BackendRecord) -> None: ...
    async def reset_faces(self, record: BackendRecord) -> int:
        """Re-index: delete every face, cluster and prototype (people and their names stay), set every
        image's faces_status back to pending and record the new backend. Returns faces deleted."""

    # detection
    async def replace_image_faces(self, image_id: str, faces: Sequence[NewFace]) -> list[str]:
        """Idempotent: the image's faces become exactly these (ids not in ``faces`` are deleted, the rest
        upserted keeping their person/cluster), taken_at copied from the image, faces_status done.
        Returns the ids of faces deleted."""
    async def mark_faces_failed(self, image_id: str, reason: str) -> None: ...
    async def faces_done(self, image_id: str) -> bool:
        """Whether the image's faces were detected (by the recorded backend: a re-index resets this)."""

    # matching and propagation
    async def faces(self, face_ids: Sequence[str]) -> list[StoredFace]: ...
    async def unassigned_faces(self, after_id: str | None = None, limit: int = 10_000) -> list[StoredFace]:
        """Unassigned faces ordered by id (keyset pagination)."""
    async def prototypes(self) -> list[Prototype]:
        """Prototype (and pinned) faces of people not merged away, hidden people included."""
    async def cluster_representatives(self, per_cluster: int) -> dict[int, list[bytes]]:
        """The best faces (by quality) of every unlabeled cluster: competitors when matching."""
    async def people_in_images(self, image_ids: Sequence[str]) -> dict[str, set[int]]: ...
    async def auto_assign(self, assignments: Sequence[AutoAssignment]) -> list[AutoAssignment]:
        """Apply those still valid at commit time (face unassigned, not rejected for that person, person not
        merged away, nobody else in the photo has that person); returns the ones applied."""
    async def refresh_prototypes(self, person_ids: Sequence[int], per_era: int) -> None:
        """Recompute eras (from age, else photo date and birth date) and choose, per person and era, the
        ``per_era`` best faces by quality among user-assigned faces (auto-assigned when there are none),
        plus pinned faces."""

    # clustering
    async def clustering_input(self) -> list[StoredFace]:
        """Every unassigned face (embedding, current cluster id) but those a user took out of their
        cluster (PeopleStore.remove_from_cluster): no run clusters them."""
    async def start_run(self, run: ClusteringRun) -> int: ...
    async def save_clusters(self, run_id: int, membership: Mapping[str, int | None],
                            new_clusters: int, noise: int) -> dict[str, int | None]:
        """Set cluster_id of the given faces (None = noise), create clusters whose ids are new, update
        sizes, delete clusters left empty, finish the run row. Faces assigned or changed since the run
        started, and faces taken out of clustering, are left as they are. Returns what it applied: face id
        → its new cluster id, for the faces whose cluster_id it changed."""
    async def new_cluster_ids(self, count: int) -> list[int]:
        """Reserve ``count`` fresh cluster ids (sequence values)."""
    async def unassigned_changed_since(self, run_id: int | None) -> int:
        """Unassigned faces created or changed since that run started (all of them when None)."""
    async def last_run(self) -> tuple[int, datetime] | None: ...
