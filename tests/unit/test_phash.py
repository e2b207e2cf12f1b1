"""Perceptual hashes on the real photos of ../shared/data: re-encodings and the edited crop are near,
unrelated photos are far; windows, stored forms and grouping."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from PIL import Image

from imgsearch.common.db.duplicates import connected_groups
from imgsearch.common.perceptual import (
    PerceptualHashes,
    bands,
    distance,
    hamming,
    to_signed,
    to_unsigned,
)
from imgsearch.common.phash import hash_image, perceptual_hashes
from imgsearch.ingest.probe import probe
from tests.support.near_duplicates import LIMITS, NEAR_PAIRS, THRESHOLD


def hashes_of(path: Path) -> PerceptualHashes:
    """As the ingest computes them: from the probe's upright preview."""
    image = probe(path, LIMITS)
    try:
        return hash_image(image.preview)
    finally:
        image.preview.close()


@pytest.mark.parametrize(("a", "b"), NEAR_PAIRS)
def test_real_near_duplicates_are_within_the_threshold(shared_data: Path, a: str, b: str) -> None:
    assert distance(hashes_of(shared_data / a), hashes_of(shared_data / b)) <= THRESHOLD


def test_the_edited_crop_is_found_only_through_a_window(shared_data: Path) -> None:
    original = hashes_of(shared_data / "scenes/photoprism/IMG_4120.JPG")
    edit = hashes_of(shared_data / "scenes/photoprism/IMG_E4120.JPG")
    assert hamming(original.full, edit.full) > THRESHOLD  # the whole pictures differ ...
    assert min(hamming(edit.full, w) for w in original.windows) <= 3  # ... one window is the crop
    assert distance(original, edit) == distance(edit, original)


def test_unrelated_photos_are_far_apart(shared_data: Path) -> None:
    folder = shared_data / "scenes/photoprism"
    related = {frozenset(Path(p).name for p in pair) for pair in NEAR_PAIRS}
    hashes = {p.name: hashes_of(p) for p in sorted(folder.iterdir()) if p.suffix.lower() in {".jpg", ".jpeg"}}
    assert len(hashes) > 40
    for (a, ha), (b, hb) in itertools.combinations(hashes.items(), 2):
        if frozenset((a, b)) not in related:
            assert distance(ha, hb) > THRESHOLD + 2, (a, b)


def test_windows_follow_the_long_side() -> None:
    left, right = Image.radial_gradient("L"), Image.linear_gradient("L").rotate(30)
    wide = Image.new("L", (512, 256))
    wide.paste(left, (0, 0))
    wide.paste(right, (256, 0))
    tall = wide.rotate(90, expand=True)
    hashes = hash_image(wide)
    assert len(hashes.windows) == 5
    assert len(hash_image(tall).windows) == 5
    assert hash_image(left).windows == ()  # square: the whole picture is the only window
    assert hashes.windows[0] == hash_image(left).full
    assert hashes.windows[-1] == hash_image(right).full
    assert distance(hash_image(right), hashes) == 0  # a crop of the wide picture is near it


@pytest.mark.parametrize("mode", ["RGBA", "P", "CMYK", "I;16", "1", "LA", "F"])
def test_any_pixel_mode_hashes_or_is_skipped(mode: str) -> None:
    image = Image.radial_gradient("L").convert("RGB").convert(mode) if mode != "I;16" \
        else Image.radial_gradient("L").convert("I").convert("I;16")
    result = perceptual_hashes(image)
    assert result is None or 0 <= result.full < 1 << 64


def test_stored_forms_round_trip() -> None:
    value = 0xF123_4567_89AB_CDEF
    assert to_unsigned(to_signed(value)) == value
    assert -(1 << 63) <= to_signed(value) < 0
    assert bands(value) == (0xF123, 0x4567, 0x89AB, 0xCDEF)
    hashes = PerceptualHashes(value, (1, 2, 3))
    assert PerceptualHashes.from_slots(reversed(hashes.slots())) == hashes
    assert PerceptualHashes.from_slots([(1, 5)]) is None


def test_groups_are_connected_components_largest_first() -> None:
    pairs = [("c", "d"), ("a", "b"), ("e", "f"), ("f", "g"), ("b", "c"), ("x", "y")]
    assert connected_groups(pairs) == [["a", "b", "c", "d"], ["e", "f", "g"], ["x", "y"]]
    assert connected_groups([]) == []
