"""decode_image on real files: draft-mode decode of big JPEGs, EXIF orientation, bad files → BadImage."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgsearch.clip.decode import decode_image
from imgsearch.common.errors import BadImage

SIZE = 224


def test_big_jpeg_is_decoded_at_reduced_scale(shared_data: Path) -> None:
    path = shared_data / "robustness" / "generated" / "large_10000x7500_75MP_gradient.jpg"
    image = decode_image(path, SIZE)
    assert image.mode == "RGB"
    assert SIZE <= min(image.size) < 2 * SIZE  # never below what the transform needs
    assert abs(image.width / image.height - 10000 / 7500) < 0.02


def test_real_photo_keeps_aspect_and_enough_pixels(shared_data: Path) -> None:
    image = decode_image(shared_data / "robustness" / "large" / "photoprism_6720px_white.jpg", SIZE)
    assert SIZE <= min(image.size) < 2 * SIZE
    assert abs(image.width / image.height - 6720 / 4480) < 0.02


@pytest.mark.parametrize("name", ["landscape_6.jpg", "landscape_8.jpg", "portrait_3.jpg"])
def test_exif_orientation_is_applied(shared_data: Path, name: str) -> None:
    image = decode_image(shared_data / "robustness" / "orientation" / name, 64)
    upright_landscape = name.startswith("landscape")
    assert (image.width > image.height) == upright_landscape


def test_small_image_is_not_upscaled(shared_data: Path) -> None:
    image = decode_image(shared_data / "robustness" / "formats" / "photoprism_example.bmp", SIZE)
    assert image.size == (100, 67)


@pytest.mark.parametrize(
    "relative",
    ["alpha/pillow_transparent.png", "formats/pillow_pil_sample_cmyk.jpg", "formats/pillow_hopper_gray.jpg",
     "animated/pillow_iss634.gif"],
)
def test_odd_modes_become_rgb(shared_data: Path, relative: str) -> None:
    assert decode_image(shared_data / "robustness" / relative, SIZE).mode == "RGB"


@pytest.mark.parametrize(
    "relative",
    [
        "corrupt/pillow_truncated_jpeg.jpg",
        "corrupt/photoprism_broken.jpg",
        "corrupt/pillow_broken.png",
        "generated/empty_0_bytes.jpg",
        "generated/not_an_image.jpg",
        "generated/bomb_png_30000x30000_gray.png",
        "generated/bomb_jpeg_sof_65500x65500.jpg",
        "generated/truncated_half_coco_000000000139.jpg",
        "does/not/exist.jpg",
    ],
)
def test_bad_files_raise_bad_image_with_a_reason(shared_data: Path, relative: str) -> None:
    with pytest.raises(BadImage) as caught:
        decode_image(shared_data / "robustness" / relative, SIZE)
    assert 0 < len(caught.value.message) <= 250


@pytest.mark.parametrize(
    "name",
    ["animated/photoprism_pythagoras.gif", "alpha/pillow_transparent.gif", "animated/pillow_iss634.gif"],
)
def test_palette_images_decode_to_rgb_at_any_model_size(shared_data: Path, name: str) -> None:
    for size in (32, 224):
        image = decode_image(shared_data / "robustness" / name, size)
        assert image.mode == "RGB" and min(image.size) >= min(size, 100)
