"""Reconcile's pure parts: the re-published event, the embed consumer's work, the report totals, and the
standalone entry point's refusal to touch the runner's qdrant-edge shards."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

from imgsearch.common.subjects import COMMANDS, EVENTS
from imgsearch.reconcile.images import ingested_event
from imgsearch.reconcile.report import ConsumerState, FacesCheck, ImagesCheck, ReconcileReport, StreamState
from imgsearch.reconcile.store import IngestedImage
from imgsearch.reconcile.streams import embed_work_left
from imgsearch.reconcile.views import report_dict


def image(**changes: object) -> IngestedImage:
    fields: dict[str, object] = dict(
        id="ab" * 32, size_bytes=1234, width=640, height=480, format="JPEG",
        taken_at=datetime(2021, 5, 1, 12, tzinfo=UTC), taken_at_source="exif:DateTimeOriginal",
        gps_lat=52.5, gps_lon=13.4, camera_make="Canon", camera_model="Canon EOS 6D",
        files=[("/photos/2021/may/a.jpg", "/photos"), ("/backup/x/a.jpg", "/backup")],
    )
    fields.update(changes)
    return IngestedImage(**fields)  # type: ignore[arg-type]


def test_the_event_is_built_like_ingest_builds_it() -> None:
    event = ingested_event(image())
    assert (event.image_id, event.path) == ("ab" * 32, "/photos/2021/may/a.jpg")
    assert event.library_root == "/photos"
    assert (event.size_bytes, event.width, event.height, event.format) == (1234, 640, 480, "JPEG")
    assert list(event.folders) == ["/", "/backup", "/backup/x", "/photos", "/photos/2021", "/photos/2021/may"]
    assert event.taken_at.ToDatetime(tzinfo=UTC) == datetime(2021, 5, 1, 12, tzinfo=UTC)
    assert event.taken_at_source == "exif:DateTimeOriginal"
    assert (event.location.lat, event.location.lon, event.camera) == (52.5, 13.4, "Canon EOS 6D")


def test_unknown_metadata_stays_unset() -> None:
    event = ingested_event(image(width=None, format=None, taken_at=None, gps_lat=None, camera_make=None,
                                 camera_model=None))
    assert (event.width, event.format, event.camera, event.taken_at_source) == (0, "", "", "")
    assert not event.HasField("taken_at") and not event.HasField("location")


def test_embed_work_left_is_the_embed_consumers_pending_and_unacknowledged() -> None:
    streams = [
        StreamState(COMMANDS.name, 3, [ConsumerState("embed", 9, 9, 0)]),
        StreamState(EVENTS.name, 10, [ConsumerState("faces", 4, 0, 0), ConsumerState("embed", 2, 1, 5)]),
    ]
    assert embed_work_left(streams) == 3
    assert embed_work_left([StreamState(EVENTS.name, 10, [ConsumerState("faces", 4, 0, 0)])]) is None


def test_drift_and_repaired_totals() -> None:
    report = ReconcileReport(
        run_id="r", repair=True,
        images=ImagesCheck(embedded_without_vector=2, pending_stalled=1, pending_queued=5, failed=4,
                           orphans=3, republished=3, orphans_deleted=3),
        faces=FacesCheck(missing=1, orphans=2, payload_drift=4, restored=1, orphans_deleted=2,
                         payloads_fixed=4),
    )
    data = report_dict(report)
    assert (data["images"]["drift"], data["faces"]["drift"], data["drift"]) == (6, 7, 13)
    assert data["repaired"] == 13


def test_standalone_run_refuses_the_embedded_vector_store() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGSEARCH_")}
    result = subprocess.run([sys.executable, "-m", "imgsearch.reconcile"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "use `imgsearch reconcile`" in result.stderr and "IMGSEARCH_QDRANT__URL" in result.stderr
