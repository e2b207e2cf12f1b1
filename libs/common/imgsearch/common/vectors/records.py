"""Turning Qdrant records (either client's) into port types."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from imgsearch.common.vectors.port import VectorPoint


def plain_vector(vector: Any) -> list[float]:
    if isinstance(vector, dict):  # named vectors: ours is the unnamed default one
        vector = vector.get("", next(iter(vector.values()), []))
    return [float(x) for x in vector or []]


def points_in_request_order(records: Iterable[Any], ids: Sequence[str]) -> list[VectorPoint]:
    """Records (``id``, ``vector``, ``payload``) as VectorPoints in the order asked; missing ones left out."""
    by_id = {
        str(r.id): VectorPoint(str(r.id), plain_vector(r.vector), dict(r.payload or {})) for r in records
    }
    return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]


def canonical_payloads(payloads: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Keyed by point ids as Qdrant spells them in answers (lowercase, hyphenated UUIDs)."""
    return {_canonical_id(point): dict(payload) for point, payload in payloads.items()}


def _canonical_id(point: str) -> str:
    try:
        return str(uuid.UUID(point))
    except ValueError:
        return point  # not a UUID: Qdrant refuses it with its own message
