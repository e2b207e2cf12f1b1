"""Reconcile's backfill parts: the image payload it compares is the one the embed service writes, and
perceptual hashes taken from a thumbnail stay within 2 bits of those ingest takes from the preview, on the
photos of ../shared/data (the near-duplicate pairs included)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from imgsearch.common.perceptual import PerceptualHashes, distance, hamming
from imgsearch.common.phash import hash_image
from imgsearch.embed.handlers import payload_for
from imgsearch.ingest.probe import probe
from imgsearch.ingest.thumbnails import write_thumbnail
from imgsearch.reconcile.hashes import hash_thumbnails, pixels_available
from imgsearch.reconcile.images import COMPARED, image_payload, ingested_event
from imgsearch.reconcile.report import ImagesCheck, ReconcileReport
from imgsearch.reconcile.store import IngestedImage
from imgsearch.reconcile.views import report_dict
from tests.support.near_duplicates import LIMITS, NEAR_PAIRS, THRESHOLD


def image(**changes: object) -> IngestedImage:
    fields: dict[str, object] = dict(
        id="cd" * 32, size_bytes=99, width=640, height=480, format="JPEG",
        taken_at=datetime(2021, 5, 1, 12, 0, 7, 123456, tzinfo=UTC), taken_at_source="exif:DateTimeOriginal",
        gps_lat=-38.405194, gps_lon=144.188964, camera_make="NIKON", camera_model="COOLPIX P6000",
        files=[("/photos/2021/a.jpg", "/photos"), ("/backup/2021/x/a.jpg", "/backup")],
    )
    fields.update(changes)
    return IngestedImage(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("changes", [
    {},
    {"taken_at": None, "gps_lat": None, "camera_make": None, "camera_model": None},
    {"gps_lon": None, "camera_model": "NIKON D750", "files": [("/elsewhere/b.jpg", "/photos")]},
])
def test_the_compared_payload_is_the_one_embed_writes(changes: dict[str, object]) -> None:
    wanted = image_payload(image(**changes))
    written = payload_for(ingested_event(image(**changes)), None)
    assert set(wanted) == set(COMPARED)
    assert {key: written.get(key) for key in COMPARED} == wanted


def test_without_an_ingested_file_the_folders_are_not_compared() -> None:
    assert "folders" not in image_payload(image(files=[]))


def test_payload_and_hash_counts_are_drift_and_repairs() -> None:
    report = ReconcileReport(run_id="r", repair=True, images=ImagesCheck(
        orphans=1, payload_drift=3, payloads_fixed=3, hashes_missing=4, hashes_recorded=2))
    data = report_dict(report)
    assert (data["images"]["drift"], data["drift"], data["repaired"]) == (8, 8, 5)
    assert data["images"]["payloads_fixed"] == 3 and data["images"]["hashes_missing"] == 4


def preview_and_thumbnail_hashes(path: Path, thumbnails: Path) -> tuple[PerceptualHashes, PerceptualHashes]:
    """What ingest hashes (the upright preview) and what reconcile hashes (the thumbnail written from it)."""
    probed = probe(path, LIMITS)
    try:
        thumbnail = write_thumbnail(probed.preview, thumbnails, path.name, 384)
        preview = hash_image(probed.preview)
    finally:
        probed.preview.close()
    [from_thumbnail] = hash_thumbnails([thumbnail])
    assert from_thumbnail is not None
    return preview, from_thumbnail


def test_thumbnail_hashes_match_the_preview_hashes(shared_data: Path, tmp_path: Path) -> None:
    photos = [p for pair in NEAR_PAIRS for p in pair]
    photos += [str(p.relative_to(shared_data))
               for p in sorted((shared_data / "robustness" / "orientation").glob("*.jpg"))[:8]]
    hashes = {photo: preview_and_thumbnail_hashes(shared_data / photo, tmp_path) for photo in photos}
    for photo, (preview, thumbnail) in hashes.items():
        assert hamming(preview.full, thumbnail.full) <= 2, photo
    for a, b in NEAR_PAIRS:  # either side hashed from its thumbnail: the pair is still found
        assert distance(hashes[a][1], hashes[b][0]) <= THRESHOLD, (a, b)
        assert distance(hashes[a][0], hashes[b][1]) <= THRESHOLD, (a, b)


def test_absent_or_unreadable_thumbnails_have_no_hashes(tmp_path: Path) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a jpeg")
    assert hash_thumbnails([None, tmp_path / "gone.jpg", junk]) == [None, None, None]
    assert pixels_available()
