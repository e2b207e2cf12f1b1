"""analyze_image with a recording fake backend: decoding (EXIF-upright, RGB), errors, ids, crops."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgsearch.common.errors import BadImage, Unavailable
from imgsearch.common.ids import face_id
from imgsearch.faces.analyze import AnalyzedFace, analyze_image
from imgsearch.faces.backends.port import BackendInfo, DetectedFace
from imgsearch.faces.crops import crop_square, write_crop

MAX_PIXELS = 50_000_000


class RecordingBackend:
    """Finds one face at a fixed box and remembers the pixels it was given."""

    info = BackendInfo(name="fake", model="fake-1", dim=4, detector="fake", estimates_age=False)

    def __init__(self, box: tuple[int, int, int, int] = (20, 10, 60, 60)) -> None:
        self.box = box
        self.seen: list[np.ndarray] = []

    def analyze(self, image: np.ndarray) -> list[DetectedFace]:
        self.seen.append(image)
        x1, y1, x2, y2 = self.box
        eyes = ((x1 + 0.3 * (x2 - x1), y1 + 0.4 * (y2 - y1)), (x1 + 0.7 * (x2 - x1), y1 + 0.4 * (y2 - y1)))
        nose = ((x1 + x2) / 2, eyes[0][1] + 0.57 * 0.4 * (x2 - x1))
        return [DetectedFace(
            box=self.box, score=0.9, landmarks=np.zeros((5, 2), np.float32), eyes=eyes, nose=nose,
            embedding=np.array([1, 0, 0, 0], np.float32), age=None, sex=None,
            chip=np.ascontiguousarray(image[y1:y2, x1:x2]), mouth=None,
        )]

    def close(self) -> None:
        pass


def run(path: Path, tmp_path: Path, backend: RecordingBackend | None = None,
        max_pixels: int = MAX_PIXELS) -> list[AnalyzedFace]:
    return analyze_image(path, backend or RecordingBackend(), crops_dir=tmp_path / "crops", crop_size=64,
                         image_id="img-1", max_pixels=max_pixels)


def gradient(width: int, height: int) -> Image.Image:
    ys, xs = np.mgrid[0:height, 0:width]
    channels = [xs * 255 / max(width - 1, 1), ys * 255 / max(height - 1, 1), np.full(xs.shape, 80)]
    return Image.fromarray(np.stack(channels, axis=-1).astype(np.uint8))


def test_a_face_gets_its_id_quality_and_a_crop(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    gradient(120, 90).save(path, quality=95)

    [found] = run(path, tmp_path)

    assert found.face_id == face_id("img-1", "fake", (20, 10, 60, 60))
    assert found.crop_path == f"{found.face_id[:2]}/{found.face_id}.jpg"
    with Image.open(tmp_path / "crops" / found.crop_path) as crop:
        assert (crop.format, crop.size, crop.mode) == ("JPEG", (64, 64), "RGB")
    assert 0 < found.quality.quality <= 1
    assert list((tmp_path / "crops").rglob("*.tmp")) == []


def test_the_backend_sees_the_upright_rgb_picture(tmp_path: Path) -> None:
    upright = gradient(120, 90)
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: viewers rotate 90° clockwise to show it upright
    upright.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif, quality=95)
    backend = RecordingBackend()

    run(path, tmp_path, backend)

    [seen] = backend.seen
    assert seen.shape == (90, 120, 3) and seen.dtype == np.uint8
    assert np.abs(seen.astype(int) - np.asarray(upright, dtype=int)).mean() < 3


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "I;16", "CMYK"])
def test_other_modes_become_rgb(tmp_path: Path, mode: str) -> None:
    path = tmp_path / f"picture-{mode.replace(';', '')}.{'tif' if mode in ('I;16', 'CMYK') else 'png'}"
    picture = gradient(100, 80)
    if mode == "I;16":
        picture = Image.fromarray(np.asarray(picture.convert("L"), dtype=np.uint16) * 257)
    else:
        picture = picture.convert(mode)
    picture.save(path)
    backend = RecordingBackend()

    run(path, tmp_path, backend)

    assert backend.seen[0].shape == (80, 100, 3)


def test_hostile_files_are_bad_images(tmp_path: Path, shared_data: Path) -> None:
    robustness = shared_data / "robustness"
    for name in ("corrupt/pillow_truncated_jpeg.jpg", "corrupt/pillow_truncated_image.png",
                 "corrupt/pillow_zero_width.gif", "generated/empty_0_bytes.jpg"):
        with pytest.raises(BadImage, match="cannot decode image"):
            run(robustness / name, tmp_path)
    with pytest.raises(BadImage, match="file not found"):
        run(tmp_path / "gone.jpg", tmp_path)


def test_too_many_pixels_is_a_bad_image(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    gradient(200, 100).save(path)

    with pytest.raises(BadImage, match="over the limit"):
        run(path, tmp_path, max_pixels=10_000)


def test_running_out_of_file_handles_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_handles(*args: object, **kwargs: object) -> Image.Image:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(Image, "open", no_handles)
    with pytest.raises(Unavailable):
        run(tmp_path / "any.jpg", tmp_path)


def test_a_crop_folder_that_cannot_be_written_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    gradient(120, 90).save(path)
    (tmp_path / "crops").write_text("a file where the folder should be")

    with pytest.raises(Unavailable, match="face crop"):
        run(path, tmp_path)


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ((40, 40, 60, 60), (35, 35, 65, 65)),  # 25% of the side around the face
        ((0, 0, 20, 20), (0, 0, 30, 30)),  # moved inside, not squashed
        ((80, 70, 100, 90), (70, 65, 100, 95)),
        ((10, 0, 90, 100), (0, 0, 100, 100)),  # bigger than the picture: as big as it can be
    ],
)
def test_crop_square_stays_square_and_inside(box: tuple[int, int, int, int],
                                             expected: tuple[int, int, int, int]) -> None:
    assert crop_square((100, 100), box) == expected


def test_write_crop_takes_numpy_and_overwrites_atomically(tmp_path: Path) -> None:
    pixels = np.asarray(gradient(100, 100))

    first = write_crop(pixels, (40, 40, 60, 60), tmp_path, "abcdef", 32)
    second = write_crop(Image.fromarray(pixels), (40, 40, 60, 60), tmp_path, "abcdef", 32)

    assert first == second == "ab/abcdef.jpg"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["abcdef.jpg"]
