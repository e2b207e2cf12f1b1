"""Choosing the vector-store adapter from settings."""

from __future__ import annotations

from imgsearch.common.settings import Settings
from imgsearch.common.vectors.edge import QdrantEdgeStore
from imgsearch.common.vectors.port import VectorStore
from imgsearch.common.vectors.server import QdrantServerStore


async def open_vector_store(settings: Settings) -> VectorStore:
    """A Qdrant server when ``qdrant.url`` is set, else embedded qdrant-edge shards under data_dir/vectors."""
    qdrant = settings.qdrant
    if qdrant.url:
        return QdrantServerStore(
            url=qdrant.url,
            api_key=None if qdrant.api_key is None else qdrant.api_key.get_secret_value(),
            prefer_grpc=qdrant.prefer_grpc,
        )
    return QdrantEdgeStore(
        settings.vectors_dir,
        optimize_interval_s=qdrant.optimize_interval_s,
        optimize_min_new_points=qdrant.optimize_min_new_points,
    )
