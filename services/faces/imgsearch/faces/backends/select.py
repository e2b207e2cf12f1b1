"""Which face backend runs: IMGSEARCH_FACES__BACKEND (auto | insightface | dlib).

"auto" prefers InsightFace (buffalo_l: better detection and recognition) when its model pack is in
the models folder and falls back to dlib, whose weights ship as a Python package, saying why."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from imgsearch.common.errors import ConfigurationError
from imgsearch.common.settings import FacesSettings, Settings
from imgsearch.faces.backends.pack import (
    PackFiles,
    find_by_name,
    identify,
    import_onnxruntime,
    missing_pack_error,
    signature_reader,
)
from imgsearch.faces.backends.port import BackendConfig, FaceBackend

BACKENDS = ("auto", "insightface", "dlib")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendChoice:
    name: str  # "insightface" | "dlib"
    reason: str  # one line for the log


def choose_backend(faces: FacesSettings, models_dir: Path) -> BackendChoice:
    """Raises ConfigurationError for an unknown name, or "insightface" without its model pack."""
    wanted = faces.backend.strip().lower()
    if wanted not in BACKENDS:
        raise ConfigurationError(
            f"IMGSEARCH_FACES__BACKEND={faces.backend!r}: expected one of {', '.join(BACKENDS)}")
    if wanted == "dlib":
        return BackendChoice("dlib", "dlib chosen by IMGSEARCH_FACES__BACKEND")
    pack_dir = models_dir / faces.model_pack
    files = _pack_files(pack_dir)
    if files.usable:
        how = "chosen by IMGSEARCH_FACES__BACKEND" if wanted == "insightface" else "found"
        return BackendChoice("insightface", f"InsightFace {faces.model_pack} {how} in {pack_dir}")
    if wanted == "insightface":
        raise missing_pack_error(pack_dir, files)
    return BackendChoice("dlib", f"no {faces.model_pack} in {models_dir}: using dlib")


def load_backend(settings: Settings) -> FaceBackend:
    """The chosen backend with its models loaded (seconds: call it off the event loop). Logs the choice."""
    choice = choose_backend(settings.faces, settings.face_models_dir)
    log.info("face backend: %s", choice.reason)
    config = BackendConfig.from_settings(settings)
    if choice.name == "insightface":
        from imgsearch.faces.backends.insightface_backend import InsightFaceBackend  # onnxruntime, lazily

        return InsightFaceBackend(config)
    from imgsearch.faces.backends.dlib_backend import DlibBackend  # dlib, lazily

    return DlibBackend(config)


def _pack_files(pack_dir: Path) -> PackFiles:
    """By file name; other .onnx files are opened (onnxruntime) only when names do not settle it."""
    files, others = find_by_name(pack_dir)
    if files.usable or not others:
        return files
    try:
        return identify(pack_dir, signature_reader(import_onnxruntime()))
    except ConfigurationError:  # no onnxruntime: the pack cannot run, whatever the files are
        return files
