"""A clustering run: unassigned faces → HDBSCAN → purity refinement → stable ids → PostgreSQL.

Only new or changed faces cause work: a run with nothing changed since the last one does nothing; a run with
few changes places the faces that are in no cluster into the existing clusters (no re-clustering); a full
re-cluster happens on request, on the first run, or once changes pass a share of all unassigned faces."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imgsearch.common.db.face_records import ClusteringRun, FaceStore, StoredFace
from imgsearch.faces.calibration import Calibration, calibration_for
from imgsearch.faces.clustering.params import ClusterParams, default_params
from imgsearch.faces.embeddings import stack

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    run_id: int
    full: bool
    faces: int
    clusters: int
    noise: int
    new_clusters: int
    params: ClusterParams
    moved: dict[str, int | None]  # faces whose cluster this run changed (as saved) → their cluster now


class ClusteringService:
    def __init__(
        self,
        store: FaceStore,
        dim: int,
        cal: Calibration,
        *,
        min_cluster_size: int = 0,
        min_samples: int = 0,
        full_every_new_share: float = 0.2,
    ) -> None:
        self.store = store
        self.dim = dim
        self.cal = cal
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.full_every_new_share = full_every_new_share
        self._lock = asyncio.Lock()

    async def run(self, full: bool = False, reason: str = "requested") -> RunResult | None:
        """None when nothing changed since the last run (and no full run was asked for)."""
        async with self._lock:
            recorded = await self.store.recorded_backend()
            if recorded is not None and recorded.dim != self.dim:  # re-indexed with another backend
                self.dim, self.cal = recorded.dim, calibration_for(recorded.backend)
            last = await self.store.last_run()
            changed = await self.store.unassigned_changed_since(last[0] if last else None)
            if not full and last is not None and changed == 0:
                return None
            faces = await self.store.clustering_input()
            has_clusters = any(face.cluster_id is not None for face in faces)
            if not full and (
                last is None or not has_clusters or changed > self.full_every_new_share * max(len(faces), 1)
            ):
                full = True
            params = default_params(len(faces), self.min_cluster_size, self.min_samples)
            run_id = await self.store.start_run(
                ClusteringRun(
                    full=full,
                    reason=reason,
                    params={
                        "min_cluster_size": params.min_cluster_size,
                        "min_samples": params.min_samples,
                        "split": self.cal.split,
                        "merge": self.cal.merge,
                        "faces": len(faces),
                    },
                )
            )
            work = self._cluster if full else self._place
            labels = await asyncio.to_thread(work, faces, params)  # numpy, seconds at 100k: off the loop
            membership, new_clusters = await self._stable_membership(faces, labels)
            noise = sum(1 for cluster in membership.values() if cluster is None)
            # What the store applied, not what the snapshot suggests: faces assigned or changed meanwhile
            # keep their cluster, and the faces collection must not get a stale one.
            moved = await self.store.save_clusters(run_id, membership, new_clusters, noise)
            clusters = len({c for c in membership.values() if c is not None})
            log.info(
                "clustering run %d (%s, %s): %d faces → %d clusters (%d new), %d unclustered",
                run_id,
                "full" if full else "incremental",
                reason,
                len(faces),
                clusters,
                new_clusters,
                noise,
            )
            return RunResult(run_id, full, len(faces), clusters, noise, new_clusters, params, moved)

    def _cluster(self, faces: Sequence[StoredFace], params: ClusterParams) -> np.ndarray:
        from imgsearch.faces.clustering.engine import hdbscan_cluster
        from imgsearch.faces.clustering.refine import refine

        x = stack([face.embedding for face in faces], self.dim)
        if len(x) < params.min_cluster_size:
            return np.full(len(x), -1, dtype=np.int64)
        result = hdbscan_cluster(x, params.min_cluster_size, params.min_samples)
        return refine(np.asarray(result.labels, dtype=np.int64), x, self.cal.split, self.cal.merge)

    def _place(self, faces: Sequence[StoredFace], params: ClusterParams) -> np.ndarray:
        """Keep every face's cluster; faces in none join the cluster they clearly belong to."""
        from imgsearch.faces.clustering.attach import attach_faces

        x = stack([face.embedding for face in faces], self.dim)
        ids = sorted({face.cluster_id for face in faces if face.cluster_id is not None})
        label_of = {cluster: label for label, cluster in enumerate(ids)}
        labels = np.array(
            [label_of.get(face.cluster_id, -1) if face.cluster_id is not None else -1 for face in faces],
            dtype=np.int64,
        )
        loose = np.flatnonzero(labels < 0)
        if len(loose) and len(ids):
            labels[loose] = attach_faces(x[loose], x[labels >= 0], labels[labels >= 0], self.cal.merge)
        return labels

    async def _stable_membership(
        self, faces: Sequence[StoredFace], labels: np.ndarray
    ) -> tuple[dict[str, int | None], int]:
        from imgsearch.faces.clustering.stable_ids import assign_stable_ids

        previous = {face.id: face.cluster_id for face in faces if face.cluster_id is not None}
        distinct = sorted(set(int(v) for v in labels if v >= 0))
        reserved = await self.store.new_cluster_ids(len(distinct)) if distinct else []
        fresh = iter(reserved)
        created: list[int] = []

        def new_id() -> int:
            cluster = next(fresh)
            created.append(cluster)
            return cluster

        mapping = assign_stable_ids(labels, [face.id for face in faces], previous, new_id)
        membership: dict[str, int | None] = {
            face.id: (mapping[int(label)] if label >= 0 else None)
            for face, label in zip(faces, labels, strict=True)
        }
        return membership, len(created)
