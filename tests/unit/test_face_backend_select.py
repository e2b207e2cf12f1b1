"""Choosing the face backend (auto / insightface / dlib) and loading it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from imgsearch.common.errors import ConfigurationError
from imgsearch.common.settings import FacesSettings, Settings
from imgsearch.faces.backends import choose_backend, load_backend
from tests.support.fake_insightface import FakeFace, write_pack


def pack(models: Path, *names: str) -> Path:
    folder = models / "buffalo_l"
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_bytes(b"")  # choose_backend goes by name: contents are not read
    return folder


def test_auto_picks_insightface_when_the_pack_is_there(tmp_path: Path) -> None:
    pack(tmp_path, "det_10g.onnx", "w600k_r50.onnx", "genderage.onnx", "1k3d68.onnx", "2d106det.onnx")

    choice = choose_backend(FacesSettings(), tmp_path)

    assert choice.name == "insightface" and "buffalo_l" in choice.reason


@pytest.mark.parametrize("files", [(), ("det_10g.onnx",), ("w600k_r50.onnx", "genderage.onnx")])
def test_auto_falls_back_to_dlib_and_says_why(tmp_path: Path, files: tuple[str, ...]) -> None:
    pack(tmp_path, *files)

    choice = choose_backend(FacesSettings(), tmp_path)

    assert choice.name == "dlib"
    assert choice.reason == f"no buffalo_l in {tmp_path}: using dlib"


def test_auto_with_no_models_folder_at_all_is_dlib(tmp_path: Path) -> None:
    assert choose_backend(FacesSettings(), tmp_path / "missing").name == "dlib"


def test_auto_recognises_renamed_models_by_their_shapes(tmp_path: Path) -> None:
    write_pack(tmp_path / "buffalo_l", [FakeFace.frontal(10, 10, 90, 90, 0.9)],
               names={"detector": "a.onnx", "recognition": "b.onnx", "genderage": "c.onnx"})

    assert choose_backend(FacesSettings(), tmp_path).name == "insightface"


def test_explicit_insightface_without_models_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="IMGSEARCH_FACES__MODELS_DIR"):
        choose_backend(FacesSettings(backend="insightface"), tmp_path)


def test_explicit_dlib_wins_over_a_present_pack(tmp_path: Path) -> None:
    pack(tmp_path, "det_10g.onnx", "w600k_r50.onnx")

    assert choose_backend(FacesSettings(backend="dlib"), tmp_path).name == "dlib"


def test_unknown_backend_name_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="IMGSEARCH_FACES__BACKEND='opencv'"):
        choose_backend(FacesSettings(backend="opencv"), tmp_path)


def test_load_backend_builds_insightface_from_settings(tmp_path: Path) -> None:
    write_pack(tmp_path / "models" / "buffalo_l", [FakeFace.frontal(10, 10, 90, 90, 0.9)])
    settings = Settings(data_dir=tmp_path, faces=FacesSettings(models_dir=tmp_path / "models", min_score=0.6))

    backend = load_backend(settings)

    assert (backend.info.name, backend.info.model, backend.info.dim) == ("insightface", "buffalo_l", 512)
    backend.close()


def test_load_backend_defaults_to_the_data_dir_models_folder_and_dlib(tmp_path: Path) -> None:
    backend = load_backend(Settings(data_dir=tmp_path, faces=FacesSettings(dlib_detector="hog")))

    assert backend.info.name == "dlib" and backend.info.dim == 128 and backend.info.detector == "hog"
    backend.close()


def test_importing_the_backends_package_loads_neither_dlib_nor_onnxruntime() -> None:
    code = ("import sys, imgsearch.faces.backends, imgsearch.faces.analyze, imgsearch.faces.quality;"
            "print(sorted(m for m in ('dlib', 'onnxruntime', 'onnx') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
