"""Distance thresholds per face backend. All distances are Euclidean between unit-length embeddings.

dlib (dlib_face_recognition_resnet_model_v1): its authors' "same person" rule is raw distance < 0.6 on
descriptors of norm ~1.35, i.e. ~0.44 on unit vectors. Measured on LFW-style photos, 82% of same-person pairs
lie below 0.35 and 1 in 10,000 different-person pairs does; clusters and automatic assignments have to be
stricter than pair verification because a library holds thousands of look-alike strangers.

InsightFace (ArcFace w600k_r50): published verification thresholds are cosine similarity ~0.3-0.4
(distance 1.10-1.18); the values below keep the same margins in that scale. Not measured here (buffalo_l
cannot be downloaded in CI) — treat them as the starting point to check on your own photos.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Calibration:
    split: float  # a cluster is cut where the average distance between its parts exceeds this
    merge: float  # clusters whose average distance is below this are one cluster
    cluster_assign: float  # average distance from an unlabeled cluster to a person's prototypes
    cluster_margin: float  # ... and how much closer than to the next person
    face_assign: float  # one face: mean of (average, nearest) distance to a person's prototypes
    face_z: float  # ... standing this many deviations out from the other people's scores
    face_margin: float  # with fewer than MIN_COHORT people: margin to the next person instead
    sure: float  # a score at or below this is confidence 1.0

    def confidence(self, score: float, threshold: float) -> float:
        """1.0 at ``sure`` falling linearly to 0.5 at the threshold the decision used."""
        if score <= self.sure:
            return 1.0
        span = max(threshold - self.sure, 1e-6)
        return float(max(0.0, min(1.0, 1.0 - 0.5 * (score - self.sure) / span)))


MIN_COHORT = 10  # people needed for a z-score against the others to mean something

DLIB = Calibration(split=0.36, merge=0.34, cluster_assign=0.34, cluster_margin=0.04, face_assign=0.33,
                   face_z=3.0, face_margin=0.06, sure=0.25)
INSIGHTFACE = Calibration(split=1.05, merge=1.0, cluster_assign=1.10, cluster_margin=0.08, face_assign=1.0,
                          face_z=3.0, face_margin=0.10, sure=0.85)


def calibration_for(backend: str, face_assign: float = 0.0) -> Calibration:
    """The backend's calibration; face_assign > 0 overrides that threshold
    (IMGSEARCH_FACES__MATCH_THRESHOLD)."""
    base = INSIGHTFACE if backend == "insightface" else DLIB
    return replace(base, face_assign=face_assign) if face_assign > 0 else base
