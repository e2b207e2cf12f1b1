"""Clustering parameters scaled to the number of faces.

A small library must let a person with two photos form a cluster; a large one has more chance look-alike
pairs and more faces per real person, so it asks for more evidence before proposing a cluster."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterParams:
    min_cluster_size: int
    min_samples: int


def default_params(faces: int, min_cluster_size: int = 0, min_samples: int = 0) -> ClusterParams:
    """Settings of 0 mean "scaled": 2 below 20k faces, 3 below 200k, 4 beyond."""
    scaled = 2 if faces < 20_000 else 3 if faces < 200_000 else 4
    size = min_cluster_size or scaled
    samples = min_samples or min(size, scaled)
    return ClusterParams(min_cluster_size=max(2, size), min_samples=max(1, samples))
