"""probe() on real files from ../shared/data: orientation, EXIF, hostile files rejected fast."""

from __future__ import annotations

import errno
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from imgsearch.common.errors import BadImage, Unavailable
from imgsearch.common.imaging import configure_decoders
from imgsearch.ingest.probe import ProbeLimits, probe
from imgsearch.ingest.thumbnails import to_rgb

LIMITS = ProbeLimits(max_image_pixels=200_000_000, max_file_bytes=64 * 1024 * 1024, preview_size=384)


@pytest.fixture(scope="module")
def robustness(shared_data: Path) -> Path:
    configure_decoders(LIMITS.max_image_pixels)
    return shared_data / "robustness"


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(("shape", "upright"), [("landscape", (600, 450)), ("portrait", (450, 600))])
def test_orientation_gives_upright_dimensions(
    robustness: Path, orientation: int, shape: str, upright: tuple[int, int]
) -> None:
    image = probe(robustness / "orientation" / f"{shape}_{orientation}.jpg", LIMITS)
    assert (image.width, image.height) == upright
    assert image.preview.size == upright  # the preview is transposed too
    assert image.orientation == orientation


def test_orientation_from_png_xmp_and_grey_portrait(robustness: Path) -> None:
    assert probe(robustness / "orientation" / "pillow_xmp_tags_orientation.png", LIMITS).orientation == 3
    face = probe(robustness / "orientation" / "immich_portrait-orientation-6.jpg", LIMITS)
    assert (face.width, face.height, face.orientation) == (840, 700, 6)


def test_gps_and_date_with_camera(robustness: Path) -> None:
    image = probe(robustness / "exif_gps_date" / "exifsamples_DSCN0010.jpg", LIMITS)
    assert image.gps_lat == pytest.approx(43.46745, abs=1e-4)
    assert image.gps_lon == pytest.approx(11.88513, abs=1e-4)
    assert image.taken_at == datetime(2008, 10, 22, 16, 28, 39, tzinfo=UTC)
    assert image.taken_at_source == "exif:DateTimeOriginal:local"
    assert (image.camera_make, image.camera_model) == ("NIKON", "COOLPIX P6000")


def test_date_with_offset_from_heic(robustness: Path) -> None:
    pytest.importorskip("pillow_heif")
    image = probe(robustness / "formats" / "exifsamples_IMG_5195.HEIC", LIMITS)
    assert image.format == "HEIF"
    assert image.taken_at == datetime(2021, 4, 11, 15, 47, 53, 54000, tzinfo=timezone(timedelta(hours=-5)))
    assert image.taken_at_source == "exif:DateTimeOriginal"


@pytest.mark.parametrize("name", [
    "immich_empty_gps.jpg",  # NaN
    "pillow_exif_gps.jpg",  # latitude 4294967295
    "exifsamples_45-gps_ifd.jpg",  # odd, empty GPS IFD
    "pillow_empty_gps_ifd.jpg",
    "immich_date-priority-test.jpg",  # partial GPS tags
])
def test_bad_gps_blocks_are_dropped(robustness: Path, name: str) -> None:
    image = probe(robustness / "exif_gps_date" / name, LIMITS)
    assert (image.gps_lat, image.gps_lon) == (None, None)


@pytest.mark.parametrize(("name", "lat", "lon"), [
    ("photoprism_gps-2000.jpg", -38.40519, 144.18896),  # degrees + decimal minutes, southern
    ("immich_datetimeoriginal-gps.jpg", 39.0, -108.0),  # western
    ("photoprism_airport_grey_NO_EXTENSION", 50.04764, 8.56404),
])
def test_good_gps_is_kept(robustness: Path, name: str, lat: float, lon: float) -> None:
    image = probe(robustness / "exif_gps_date" / name, LIMITS)
    assert image.gps_lat == pytest.approx(lat, abs=1e-4)
    assert image.gps_lon == pytest.approx(lon, abs=1e-4)


def test_future_date_is_ignored_and_priority_respected(robustness: Path) -> None:
    assert probe(robustness / "exif_gps_date" / "pillow_exif_gps.jpg", LIMITS).taken_at_source == "file:mtime"
    image = probe(robustness / "exif_gps_date" / "immich_date-priority-test.jpg", LIMITS)
    assert image.taken_at == datetime(2023, 2, 2, 2, tzinfo=UTC)


@pytest.mark.parametrize("name", ["bomb_png_30000x30000_gray.png", "bomb_jpeg_sof_65500x65500.jpg"])
def test_bombs_fail_fast(robustness: Path, name: str) -> None:
    started = time.perf_counter()
    with pytest.raises(BadImage, match="decompression bomb"):
        probe(robustness / "generated" / name, LIMITS)
    assert time.perf_counter() - started < 1.0  # header only: nothing was allocated or decoded


def test_own_pixel_limit_applies_below_pillows(robustness: Path) -> None:
    small = ProbeLimits(max_image_pixels=1000, max_file_bytes=LIMITS.max_file_bytes, preview_size=64)
    with pytest.raises(BadImage, match="decompression bomb"):
        probe(robustness / "orientation" / "landscape_1.jpg", small)


@pytest.mark.parametrize(("rel", "reason"), [
    ("corrupt/pillow_truncated_jpeg.jpg", "truncated"),
    ("generated/truncated_half_coco_000000000139.jpg", "truncated"),
    ("corrupt/pillow_truncated_image.png", "truncated"),
    ("corrupt/pillow_truncated_end_chunk.png", "truncated"),
    ("generated/empty_0_bytes.jpg", "empty file"),
    ("generated/not_an_image.jpg", "not a recognised image format"),
    ("corrupt/pillow_png_decompression_dos.png", "too large"),
])
def test_broken_files_are_bad_images(robustness: Path, rel: str, reason: str) -> None:
    with pytest.raises(BadImage, match=reason):
        probe(robustness / rel, LIMITS)


def test_max_file_size(robustness: Path) -> None:
    tiny = ProbeLimits(LIMITS.max_image_pixels, max_file_bytes=100, preview_size=64)
    with pytest.raises(BadImage, match="file too large"):
        probe(robustness / "orientation" / "landscape_1.jpg", tiny)


def test_large_jpeg_decodes_in_draft_mode(robustness: Path) -> None:
    image = probe(robustness / "generated" / "large_10000x7500_75MP_gradient.jpg", LIMITS)
    assert (image.width, image.height) == (10000, 7500)
    assert min(image.preview.size) >= LIMITS.preview_size and image.preview.size[0] <= 1250


@pytest.mark.parametrize(("rel", "fmt"), [
    ("animated/pillow_iss634.webp", "WEBP"), ("animated/photoprism_pythagoras.gif", "GIF"),
    ("formats/pillow_pil_sample_cmyk.jpg", "JPEG"), ("alpha/pillow_transparent.png", "PNG"),
    ("formats/pillow_sugarshack.mpo", "MPO"), ("formats/immich_8bit-sRGB.avif", "AVIF"),
    ("formats/photoprism_this-is-a-jpeg.png", "JPEG"),
])
def test_odd_but_valid_formats(robustness: Path, rel: str, fmt: str) -> None:
    assert probe(robustness / rel, LIMITS).format == fmt


def test_scene_photos(shared_data: Path) -> None:
    photos = sorted((shared_data / "scenes").rglob("*.JPEG"))[:5]
    assert photos
    for photo in photos:
        image = probe(photo, LIMITS)
        assert image.format == "JPEG" and image.width > 0 and image.height > 0


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16"])
def test_large_non_jpeg_preview_is_reduced_and_thumbnail_unchanged(
    robustness: Path, tmp_path: Path, mode: str
) -> None:
    detail = Image.effect_mandelbrot((3000, 2000), (-2.0, -1.2, 1.0, 1.2), 60)
    source = detail.convert(mode) if mode != "I;16" else detail.point(lambda v: v * 256).convert("I;16")
    source.save(tmp_path / "big.png")
    image = probe(tmp_path / "big.png", LIMITS)
    assert (image.width, image.height) == (3000, 2000)
    assert 2 * LIMITS.preview_size <= max(image.preview.size) < 4 * LIMITS.preview_size

    def thumb(picture: Image.Image) -> Image.Image:
        rgb = to_rgb(picture).copy()
        rgb.thumbnail((LIMITS.preview_size, LIMITS.preview_size), Image.Resampling.BICUBIC, reducing_gap=2.0)
        return rgb

    with Image.open(tmp_path / "big.png") as full:
        expected = thumb(full)
    got = thumb(image.preview)
    assert got.size == expected.size == (384, 256)
    assert max(ImageStat.Stat(ImageChops.difference(got, expected)).mean) < 2.0


@pytest.mark.parametrize("error", [OSError(errno.EMFILE, "Too many open files"), OSError(errno.ESTALE, "x")])
def test_transient_system_errors_are_unavailable(
    robustness: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    def failing(*args: object, **kwargs: object) -> object:
        raise error

    monkeypatch.setattr(Image, "open", failing)
    with pytest.raises(Unavailable):
        probe(robustness / "orientation" / "landscape_1.jpg", LIMITS)


def test_out_of_memory_fails_that_file_only(robustness: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: object, **kwargs: object) -> object:
        raise MemoryError

    monkeypatch.setattr(Image, "open", failing)
    with pytest.raises(BadImage, match="out of memory"):
        probe(robustness / "orientation" / "landscape_1.jpg", LIMITS)


def test_decode_oserror_without_errno_stays_bad(robustness: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: object, **kwargs: object) -> object:
        raise OSError("broken data stream when reading image file")

    monkeypatch.setattr(Image, "open", failing)
    with pytest.raises(BadImage, match="broken data stream"):
        probe(robustness / "orientation" / "landscape_1.jpg", LIMITS)
