"""Finding the InsightFace model pack's files (buffalo_l and friends) and opening them with onnxruntime.

Models are recognised by file name (det_10g.onnx, w600k_r50.onnx, genderage.onnx, and the names
other packs use); files with other names are recognised by their input and output shapes. The
landmark models of the pack (1k3d68, 2d106det) are not used."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from imgsearch.common.errors import ConfigurationError

ROLES = ("detector", "recognition", "genderage")
NAME_HINTS = {
    "detector": ("det_", "scrfd"),
    "recognition": ("w600k", "glint", "arcface", "webface", "ms1m"),
    "genderage": ("genderage",),
}
NOT_USED = ("1k3d68", "2d106det")


@dataclass(frozen=True)
class PackFiles:
    detector: Path | None = None
    recognition: Path | None = None
    genderage: Path | None = None

    @property
    def usable(self) -> bool:
        return self.detector is not None and self.recognition is not None


def role_by_name(path: Path) -> str | None:
    name = path.name.lower()
    return next((role for role in ROLES if any(hint in name for hint in NAME_HINTS[role])), None)


def role_by_shapes(inputs: list[list[Any]], outputs: list[list[Any]]) -> str | None:
    """The role of a model from its signature: inputs / outputs as shape lists (ints or dim names)."""
    if len(inputs) != 1 or len(inputs[0]) != 4 or inputs[0][1] != 3:
        return None
    side = inputs[0][2]
    if len(outputs) == 9:  # scores, boxes, landmarks for three strides
        return "detector"
    last = outputs[0][-1] if len(outputs) == 1 and outputs[0] else None
    if side == 112 and isinstance(last, int) and last >= 128:
        return "recognition"
    if side == 96 and last == 3:
        return "genderage"
    return None


def find_by_name(pack_dir: Path) -> tuple[PackFiles, list[Path]]:
    """Files recognised by name, and the other .onnx files (possibly models under other names)."""
    if not pack_dir.is_dir():
        return PackFiles(), []
    found: dict[str, Path] = {}
    others: list[Path] = []
    for path in sorted(pack_dir.glob("*.onnx")):
        role = role_by_name(path)
        if role is not None and role not in found:
            found[role] = path
        elif role is None and not any(skip in path.name.lower() for skip in NOT_USED):
            others.append(path)
    return PackFiles(**found), others


Signature = Callable[[Path], tuple[list[list[Any]], list[list[Any]]]]  # path -> input shapes, output shapes


def identify(pack_dir: Path, signature: Signature) -> PackFiles:
    """By name first; only when the detector or recogniser is still missing are other files opened."""
    files, others = find_by_name(pack_dir)
    for path in others:
        if files.usable and files.genderage is not None:
            break
        try:
            role = role_by_shapes(*signature(path))
        except Exception:  # not a model onnxruntime can open: not one of ours
            continue
        if role is not None and getattr(files, role) is None:
            files = replace(files, **{role: path})
    return files


def missing_pack_error(pack_dir: Path, files: PackFiles) -> ConfigurationError:
    missing = [role for role in ("detector", "recognition") if getattr(files, role) is None]
    return ConfigurationError(
        f"InsightFace model pack not usable in {pack_dir} (no {' or '.join(missing)} model): put the "
        f"{pack_dir.name} pack there (det_10g.onnx, w600k_r50.onnx, genderage.onnx) — the folder is "
        "IMGSEARCH_FACES__MODELS_DIR/IMGSEARCH_FACES__MODEL_PACK — or set IMGSEARCH_FACES__BACKEND=dlib"
    )


def import_onnxruntime() -> Any:
    try:
        return importlib.import_module("onnxruntime")
    except ImportError:
        raise ConfigurationError(
            "the InsightFace backend needs onnxruntime: pip install onnxruntime (onnxruntime-gpu for CUDA)"
        ) from None


def providers(ort: Any, device: str) -> list[str]:
    """onnxruntime providers for IMGSEARCH_FACES__DEVICE: CUDA first when asked for and present."""
    available = set(ort.get_available_providers())
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigurationError(f"IMGSEARCH_FACES__DEVICE={device!r}: expected auto, cpu or cuda")
    if device == "cuda" and "CUDAExecutionProvider" not in available:
        raise ConfigurationError(
            "IMGSEARCH_FACES__DEVICE=cuda but onnxruntime has no CUDA provider: install onnxruntime-gpu")
    if device != "cpu" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def open_session(ort: Any, path: Path, provider_list: list[str]) -> Any:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # onnxruntime's warnings about unused initialisers are noise
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=provider_list)
    except Exception as exc:
        raise ConfigurationError(f"cannot load face model {path}: {exc}"[:400]) from None


def signature_reader(ort: Any) -> Signature:
    def signature(path: Path) -> tuple[list[list[Any]], list[list[Any]]]:
        session = open_session(ort, path, ["CPUExecutionProvider"])
        return ([list(i.shape) for i in session.get_inputs()], [list(o.shape) for o in session.get_outputs()])

    return signature
