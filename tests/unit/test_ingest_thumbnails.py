"""Thumbnails: RGB JPEG in a two-level fan-out, bounded size, alpha over white, atomic write."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from imgsearch.ingest.thumbnails import thumbnail_path, to_rgb, write_thumbnail

IMAGE_ID = "ab" + "0" * 62


def test_writes_rgb_jpeg_within_size(tmp_path: Path) -> None:
    target = write_thumbnail(Image.new("CMYK", (1000, 500)), tmp_path, IMAGE_ID, 384)
    assert target == tmp_path / "ab" / f"{IMAGE_ID}.jpg" == thumbnail_path(tmp_path, IMAGE_ID)
    with Image.open(target) as thumb:
        assert (thumb.format, thumb.mode, thumb.size) == ("JPEG", "RGB", (384, 192))
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left behind


def test_existing_thumbnail_is_kept(tmp_path: Path) -> None:
    target = write_thumbnail(Image.new("RGB", (10, 10), "red"), tmp_path, IMAGE_ID, 384)
    before = target.stat().st_mtime_ns
    assert write_thumbnail(Image.new("RGB", (10, 10), "blue"), tmp_path, IMAGE_ID, 384) == target
    assert target.stat().st_mtime_ns == before


def test_transparency_goes_over_white() -> None:
    assert to_rgb(Image.new("RGBA", (2, 2), (0, 0, 0, 0))).getpixel((0, 0)) == (255, 255, 255)
    palette = Image.new("P", (2, 2), 0)
    palette.info["transparency"] = 0
    assert to_rgb(palette).getpixel((0, 0)) == (255, 255, 255)
    assert to_rgb(Image.new("I;16", (2, 2), 65535)).getpixel((0, 0)) == (255, 255, 255)
