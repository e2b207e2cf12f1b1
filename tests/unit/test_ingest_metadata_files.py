"""Metadata of the real files in ../shared/data/robustness, checked against what MANIFEST.tsv states:
capture time and its source (down to the file-time fallback), GPS, camera, orientation; and the formats
(HEIC/HEIF, AVIF, WebP, animated, alpha, CMYK) decoding to the right upright RGB picture."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image, ImageSequence

from imgsearch.common.cameras import camera_name
from imgsearch.common.imaging import configure_decoders
from imgsearch.common.ingested_metadata import add_metadata
from imgsearch.events.v1.events_pb2 import ImageIngested
from imgsearch.ingest.probe import ProbeLimits, probe
from imgsearch.ingest.thumbnails import to_rgb

LIMITS = ProbeLimits(max_image_pixels=200_000_000, max_file_bytes=64 * 1024 * 1024, preview_size=384)
_GPS = re.compile(r"GPS=(-?[\d.]+|nan),(-?[\d.]+|nan)")
_ORIGINAL = re.compile(r"DateTimeOriginal=(\d{4}:\d\d:\d\d \d\d:\d\d:\d\d)")
_MODIFIED = re.compile(r"DateTime\(IFD0\)=(\d{4}:\d\d:\d\d \d\d:\d\d:\d\d)")
_ORIENTATION = re.compile(r"Orientation=(\d)")
_SIZE = re.compile(r"^\S+ (\d+)x(\d+) ")


@dataclass(frozen=True)
class Stated:
    """One MANIFEST.tsv row: the path and what the 'detected' half of its description says."""

    path: str
    detected: str

    @property
    def decodes(self) -> bool:
        return "load ok" in self.detected


@pytest.fixture(scope="module")
def robustness(shared_data: Path) -> Path:
    configure_decoders(LIMITS.max_image_pixels)
    return shared_data / "robustness"


@pytest.fixture(scope="module")
def manifest(robustness: Path) -> list[Stated]:
    rows = (robustness / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    stated = [Stated(row.split("\t")[0], row.split("\t")[1].split(" || ", 1)[-1]) for row in rows if row]
    assert len(stated) == 99
    return stated


def test_every_decodable_file_has_the_metadata_the_manifest_states(robustness: Path, manifest: list[Stated]
                                                                   ) -> None:
    checked, wrong = 0, []
    for row in (r for r in manifest if r.decodes):
        image = probe(robustness / row.path, LIMITS)
        checked += 1
        gps = _GPS.search(row.detected)
        if gps and "nan" not in gps.groups():
            lat, lon = (float(v) for v in gps.groups())
            if image.gps_lat != pytest.approx(lat, abs=1e-4) or image.gps_lon != pytest.approx(lon, abs=1e-4):
                wrong.append(f"{row.path}: GPS {image.gps_lat},{image.gps_lon}, stated {lat},{lon}")
        elif image.gps_lat is not None or image.gps_lon is not None:  # NaN, partial, invalid or none
            wrong.append(f"{row.path}: GPS {image.gps_lat},{image.gps_lon} where none is valid")
        original, modified = _ORIGINAL.search(row.detected), _MODIFIED.search(row.detected)
        stated_date = original or modified
        if stated_date and not stated_date.group(1).startswith("2099"):
            expected = datetime.strptime(stated_date.group(1), "%Y:%m:%d %H:%M:%S")
            source = "exif:DateTimeOriginal" if original else "exif:DateTime"
            got = image.taken_at.replace(tzinfo=None, microsecond=0) if image.taken_at else None
            if got != expected or not (image.taken_at_source or "").startswith(source):
                wrong.append(f"{row.path}: taken {got} from {image.taken_at_source}, stated {expected}")
        elif image.taken_at_source is None:
            wrong.append(f"{row.path}: no capture time at all (the file time is the last fallback)")
        orientation = _ORIENTATION.search(row.detected)
        if image.orientation != (int(orientation.group(1)) if orientation else 1):
            wrong.append(f"{row.path}: orientation {image.orientation}, stated {orientation}")
        size = _SIZE.search(row.detected)
        if size:
            width, height = int(size.group(1)), int(size.group(2))
            upright = (height, width) if image.orientation >= 5 else (width, height)
            if (image.width, image.height) != upright:
                wrong.append(f"{row.path}: {image.width}x{image.height}, upright should be {upright}")
        image.preview.close()
    assert checked >= 80
    assert wrong == []


def test_date_sources_in_order_of_trust(robustness: Path) -> None:
    dates = robustness / "exif_gps_date"
    # DateTimeOriginal beats DateTimeDigitized, GPS date, IPTC and XMP dates in the same file.
    conflicting = probe(dates / "immich_date-priority-test.jpg", LIMITS)
    assert (conflicting.taken_at, conflicting.taken_at_source) == (
        datetime(2023, 2, 2, 2, tzinfo=UTC), "exif:DateTimeOriginal:local")
    # The offset of OffsetTimeOriginal is kept (HEIC from an iPhone).
    heic = probe(robustness / "formats" / "exifsamples_IMG_5195.HEIC", LIMITS)
    assert heic.taken_at == datetime(2021, 4, 11, 15, 47, 53, 54000, tzinfo=timezone(timedelta(hours=-5)))
    assert heic.taken_at_source == "exif:DateTimeOriginal"
    # No EXIF date: IPTC DateCreated + TimeCreated with its offset.
    iptc = probe(dates / "immich_thompson-springs.jpg", LIMITS)
    assert iptc.taken_at == datetime(2022, 1, 10, 15, 15, 44, tzinfo=timezone(timedelta(hours=-4)))
    assert iptc.taken_at_source == "iptc:DateCreated"
    # Only IFD0 DateTime (what editors rewrite) is left: used, and named so.
    cmyk = probe(robustness / "formats" / "pillow_pil_sample_cmyk.jpg", LIMITS)
    assert cmyk.taken_at == datetime(2009, 3, 6, 22, 15, tzinfo=UTC)
    assert cmyk.taken_at_source == "exif:DateTime:local"


@pytest.mark.parametrize("name", [
    "photoprism_no-exif-data.jpg",  # no EXIF at all
    "immich_gps-datetime.jpg",  # a position, no date tag
    "immich_time-created.jpg",  # IPTC TimeCreated without a DateCreated
    "pillow_exif_gps.jpg",  # DateTimeOriginal in 2099
])
def test_without_a_usable_date_the_file_time_is_used_and_recorded(
    robustness: Path, tmp_path: Path, name: str
) -> None:
    copy = tmp_path / name
    shutil.copyfile(robustness / "exif_gps_date" / name, copy)
    mtime = datetime(2017, 5, 4, 3, 2, 1, 500000, tzinfo=UTC)
    os.utime(copy, ns=(int(mtime.timestamp() * 1e9), int(mtime.timestamp() * 1e9)))
    image = probe(copy, LIMITS)
    assert (image.taken_at, image.taken_at_source) == (mtime, "file:mtime")


def test_gps_degrees_and_decimal_minutes_and_broken_altitude(robustness: Path) -> None:
    dm = probe(robustness / "exif_gps_date" / "photoprism_gps-2000.jpg", LIMITS)
    assert dm.gps_lat == pytest.approx(-38.40519, abs=1e-5)
    assert dm.gps_lon == pytest.approx(144.18896, abs=1e-5)
    overflow = probe(robustness / "exif_gps_date" / "photoprism_altitude.jpg", LIMITS)
    assert overflow.gps_lat == pytest.approx(45.75285, abs=1e-5) and overflow.gps_alt is None


@pytest.mark.parametrize(("rel", "camera"), [
    ("exif_gps_date/exifsamples_DSCN0010.jpg", "NIKON COOLPIX P6000"),
    ("duplicates/pillow_flower.jpg", "Canon PowerShot S40"),  # model repeats the make
    ("formats/immich_IMG_2682.heic", "Apple iPhone 7"),
    ("formats/photoprism_example.tif", "Canon EOS 6D"),
    ("formats/immich_denali.webp", "Canon EOS 7D"),
    ("exif_gps_date/photoprism_no-exif-data.jpg", None),
])
def test_camera_name_as_the_event_carries_it(robustness: Path, rel: str, camera: str | None) -> None:
    image = probe(robustness / rel, LIMITS)
    assert camera_name(image.camera_make, image.camera_model) == camera
    event = ImageIngested()
    add_metadata(event, image.info())
    assert event.camera == (camera or "")


def test_event_carries_position_and_date_source(robustness: Path) -> None:
    image = probe(robustness / "exif_gps_date" / "exifsamples_DSCN0010.jpg", LIMITS)
    event = ImageIngested()
    add_metadata(event, image.info())
    assert event.HasField("location")
    assert event.location.lat == pytest.approx(43.46745, abs=1e-4)
    assert event.location.lon == pytest.approx(11.88513, abs=1e-4)
    assert event.taken_at_source == "exif:DateTimeOriginal:local"
    assert event.taken_at.ToDatetime(tzinfo=UTC) == datetime(2008, 10, 22, 16, 28, 39, tzinfo=UTC)
    unplaced = ImageIngested()
    add_metadata(unplaced, probe(robustness / "exif_gps_date" / "immich_empty_gps.jpg", LIMITS).info())
    assert not unplaced.HasField("location")


def test_camera_names_are_normalised() -> None:
    assert camera_name("Canon", "Canon EOS 6D") == "Canon EOS 6D"
    assert camera_name("NIKON CORPORATION", "NIKON D750") == "NIKON D750"
    assert camera_name("  Apple ", "iPhone  7\t") == "Apple iPhone 7"
    assert camera_name("OLYMPUS IMAGING CORP.", "E-M5") == "OLYMPUS IMAGING CORP. E-M5"
    assert camera_name("Sony", "Sonya 1") == "Sony Sonya 1"  # a prefix, not the same word
    assert camera_name(None, "EOS R5") == "EOS R5"
    assert camera_name("Canon", None) == "Canon"
    assert camera_name(" ", None) is None


@pytest.mark.parametrize(("rel", "fmt", "size"), [
    ("formats/exifsamples_IMG_5195.HEIC", "HEIF", (2566, 3313)),
    ("formats/exifsamples_samplefilehub.heif", "HEIF", (640, 426)),
    ("formats/immich_8bit-sRGB.avif", "AVIF", (1617, 1080)),
    ("formats/immich_denali.webp", "WEBP", (600, 315)),
    ("alpha/pillow_transparent.webp", "WEBP", (200, 150)),
])
def test_heif_avif_and_webp_decode(robustness: Path, rel: str, fmt: str, size: tuple[int, int]) -> None:
    image = probe(robustness / rel, LIMITS)
    assert (image.format, (image.width, image.height)) == (fmt, size)
    rgb = to_rgb(image.preview)
    assert rgb.mode == "RGB" and rgb.getextrema() != ((0, 0), (0, 0), (0, 0))  # real pixels, not black


def test_heif_opener_is_registered_by_configure_decoders_not_on_import() -> None:
    script = (
        "from PIL import Image\n"
        "import imgsearch.common.imaging as imaging\n"
        "import imgsearch.ingest.probe\n"
        "assert 'HEIF' not in Image.OPEN, 'registered on import'\n"
        "imaging.configure_decoders(1000)\n"
        "assert 'HEIF' in Image.OPEN and Image.MAX_IMAGE_PIXELS == 1000\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("rel", [
    "animated/photoprism_pythagoras.gif", "animated/pillow_iss634.apng", "animated/pillow_iss634.webp",
    "animated/pillow_iss634.gif", "animated/pillow_dispose_bgnd.gif", "formats/pillow_sugarshack.mpo",
])
def test_animated_and_multi_frame_files_give_their_first_frame(robustness: Path, rel: str) -> None:
    image = probe(robustness / rel, LIMITS)
    with Image.open(robustness / rel) as source:
        frames = [to_rgb(frame.copy()) for frame in ImageSequence.Iterator(source)][:2]
    assert len(frames) == 2
    got = to_rgb(image.preview)
    assert got.size == frames[0].size
    assert got.tobytes() == frames[0].tobytes()


@pytest.mark.parametrize("rel", [
    "alpha/pillow_transparent.png", "alpha/pillow_transparent.webp", "alpha/pillow_transparent.gif",
    "alpha/pillow_pil123rgba.png",
])
def test_transparent_areas_become_white(robustness: Path, rel: str) -> None:
    image = probe(robustness / rel, LIMITS)
    rgba = image.preview.convert("RGBA")
    alpha = rgba.getchannel("A")
    clear = next((x, y) for y in range(rgba.height) for x in range(rgba.width) if alpha.getpixel((x, y)) == 0)
    assert to_rgb(image.preview).getpixel(clear) == (255, 255, 255)


def test_cmyk_is_converted_to_rgb_with_its_colours(robustness: Path) -> None:
    image = probe(robustness / "formats" / "pillow_pil_sample_cmyk.jpg", LIMITS)
    assert image.preview.mode == "CMYK"
    rgb = to_rgb(image.preview)
    with Image.open(robustness / "formats" / "pillow_pil_sample_cmyk.jpg") as source:
        expected = source.convert("RGB")
    assert rgb.mode == "RGB" and rgb.tobytes() == expected.tobytes()


def test_embed_payload_carries_location_and_camera_for_the_filters() -> None:
    from imgsearch.embed.handlers import payload_for  # the embed service's dependency set (torch)

    event = ImageIngested(image_id="a" * 64, path="/p/x.jpg", folders=["/p"], camera="Canon EOS 6D")
    event.location.lat, event.location.lon = -33.9592, 23.47351
    assert payload_for(event, None) == {"image_id": "a" * 64, "folders": ["/p"], "camera": "Canon EOS 6D",
                                        "location": {"lat": -33.9592, "lon": 23.47351}}
    bare = ImageIngested(image_id="b" * 64, path="/p/y.jpg", folders=["/p"])
    assert payload_for(bare, None) == {"image_id": "b" * 64, "folders": ["/p"]}
