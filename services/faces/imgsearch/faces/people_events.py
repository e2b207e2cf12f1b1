"""people.changed and clusters.updated → prototypes refreshed, the faces collection's payloads brought in
line, and propagation: unassigned faces matched again against the updated people (no detection)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from imgsearch.common.bus import Delivery
from imgsearch.common.db.face_records import AutoAssignment, FaceStore
from imgsearch.common.errors import ImgSearchError, InvalidInput, Unavailable
from imgsearch.common.ids import message_id
from imgsearch.common.subjects import CLUSTERS_UPDATED, FACES_ASSIGNED
from imgsearch.common.vectors.port import FACES_COLLECTION, VectorStore
from imgsearch.faces.calibration import Calibration
from imgsearch.faces.messages import (
    ASSIGNMENTS_PER_MESSAGE,
    chunks,
    face_payload,
    faces_assigned,
    parse_people_changed,
)
from imgsearch.faces.ports import Publisher
from imgsearch.faces.propagation import propagate

log = logging.getLogger(__name__)
# Changes after which a person's prototypes differ, so unassigned faces may now match them.
_PROTOTYPE_CHANGES = {
    "labeled",
    "merged",
    "assigned",
    "unassigned",
    "rejected",
    "pinned",
    "birth_date",
    "created",
}
Outcome = BaseException | None


class PeopleEvents:
    def __init__(
        self,
        store: FaceStore,
        vectors: VectorStore,
        publisher: Publisher,
        dim: int,
        cal: Calibration,
        per_era: int,
        on_people_changed: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.vectors = vectors
        self.publisher = publisher
        self.dim = dim
        self.cal = cal
        self.per_era = per_era
        self.on_people_changed = on_people_changed  # e.g. the detection's prototype index is stale now

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """One propagation for the whole batch: fifty labels in a minute cost a few runs, not fifty."""
        outcomes: list[Outcome] = [None] * len(deliveries)
        people: set[int] = set()
        face_ids: set[str] = set()
        everyone = False
        for index, delivery in enumerate(deliveries):
            if delivery.subject == CLUSTERS_UPDATED:
                everyone = True  # new clusters may match existing people
                continue
            try:
                change = parse_people_changed(delivery.data)
            except InvalidInput as exc:
                outcomes[index] = exc
                continue
            face_ids.update(change.face_ids)
            if change.change in _PROTOTYPE_CHANGES:
                people.update(change.person_ids)
        try:
            await self._apply(people, face_ids, everyone)
        except ImgSearchError as exc:
            return [exc if o is None else o for o in outcomes]
        except Exception as exc:
            error = Unavailable(f"propagation failed: {exc!r}"[:500])
            return [error if o is None else o for o in outcomes]
        return outcomes

    async def _apply(self, people: set[int], face_ids: set[str], everyone: bool) -> None:
        if people:
            await self.store.refresh_prototypes(sorted(people), self.per_era)
        if self.on_people_changed is not None:
            self.on_people_changed()
        applied: list[AutoAssignment] = []
        if people or everyone:
            applied = await propagate(self.store, self.dim, self.cal, None if everyone else people)
        image_of = await self._sync_payloads(face_ids | {a.face_id for a in applied})
        for chunk in chunks(applied, ASSIGNMENTS_PER_MESSAGE):  # a merge can move tens of thousands
            await self.publisher.publish(
                FACES_ASSIGNED,
                faces_assigned(chunk, image_of),
                message_id(FACES_ASSIGNED, *(f"{a.face_id}:{a.person_id}" for a in chunk)),
            )

    async def _sync_payloads(self, face_ids: set[str]) -> dict[str, str]:
        """Payloads of these faces as PostgreSQL has them now; returns face id → image id."""
        if not face_ids:
            return {}
        faces = await self.store.faces(sorted(face_ids))
        await self.vectors.set_payload(FACES_COLLECTION, {face.id: face_payload(face) for face in faces})
        return {face.id: face.image_id for face in faces}
