"""The event catalog: subjects and streams. README.md documents each for outside subscribers."""

from __future__ import annotations

from dataclasses import dataclass

IMAGES_INGESTED = "imgsearch.v1.images.ingested"
IMAGES_EMBEDDED = "imgsearch.v1.images.embedded"
IMAGES_FAILED = "imgsearch.v1.images.failed"  # .<stage> appended
IMAGES_DELETED = "imgsearch.v1.images.deleted"  # a path (or the whole image) left the library
FACES_DETECTED = "imgsearch.v1.faces.detected"
FACES_ASSIGNED = "imgsearch.v1.faces.assigned"
PEOPLE_CHANGED = "imgsearch.v1.people.changed"
CLUSTERS_UPDATED = "imgsearch.v1.clusters.updated"
COMMANDS_INGEST = "imgsearch.v1.commands.ingest"
COMMANDS_CLUSTERING = "imgsearch.v1.commands.clustering"
COMMANDS_DETECT_FACES = "imgsearch.v1.commands.faces.detect"
SEARCH_TEXT = "imgsearch.v1.search.text"  # core NATS request-reply, not stored
SEARCH_SIMILAR = "imgsearch.v1.search.similar"
SEARCH_INFO = "imgsearch.v1.search.info"  # model info and warnings, for health
SEARCH_QUEUE = "search"


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    duplicate_window_s: float = 24 * 3600.0  # Nats-Msg-Id dedupe window
    max_age_s: float = 0.0  # 0 = keep (limits retention; consumers track their own position)


EVENTS = StreamSpec(
    "IMGSEARCH_EVENTS",
    ("imgsearch.v1.images.>", "imgsearch.v1.faces.>", "imgsearch.v1.people.>", "imgsearch.v1.clusters.>"),
)
COMMANDS = StreamSpec("IMGSEARCH_COMMANDS", ("imgsearch.v1.commands.>",), duplicate_window_s=120.0)
STREAMS = (EVENTS, COMMANDS)


def failed_subject(stage: str) -> str:
    return f"{IMAGES_FAILED}.{stage}"
