"""Tiny ONNX stand-ins for InsightFace's buffalo_l models: the real signatures, controlled outputs.

- detector (det_10g.onnx): input "input.1" 1x3x640x640, nine outputs (scores, box distances, landmark
  offsets for strides 8, 16, 32; two anchors per cell) that encode the FakeFaces given, whatever the input;
- recognition (w600k_r50.onnx): Nx3x112x112 -> Nx512, a fixed random projection of 8x8-pooled pixels,
  so different crops give different vectors and the same crop the same vector;
- genderage (genderage.onnx): Nx3x96x96 -> Nx3 constant [female logit, male logit, age / 100]."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

STRIDES = (8, 16, 32)
ANCHORS = 2
# output names as in the real det_10g.onnx: scores 8/16/32, boxes 8/16/32, landmarks 8/16/32
DETECTOR_OUTPUTS = ("448", "471", "494", "451", "474", "497", "454", "477", "500")
NAMES = {"detector": "det_10g.onnx", "recognition": "w600k_r50.onnx", "genderage": "genderage.onnx"}
BACKGROUND_SCORE = 0.01


@dataclass(frozen=True)
class FakeFace:
    """A detection in pixels of the 640x640 detector input, placed on the anchor nearest its centre."""

    box: tuple[float, float, float, float]
    landmarks: tuple[tuple[float, float], ...]
    score: float
    stride: int = 16
    anchor: int = 0

    @staticmethod
    def frontal(x1: float, y1: float, x2: float, y2: float, score: float, stride: int = 16) -> FakeFace:
        """Landmarks where a frontal face has them: eyes, nose tip, mouth corners (ArcFace proportions)."""
        w, h = x2 - x1, y2 - y1
        rel = ((0.34, 0.46), (0.66, 0.46), (0.50, 0.64), (0.37, 0.82), (0.63, 0.82))
        return FakeFace((x1, y1, x2, y2), tuple((x1 + fx * w, y1 + fy * h) for fx, fy in rel), score, stride)


def detector_outputs(faces: Sequence[FakeFace], size: int = 640) -> list[np.ndarray]:
    """The nine arrays, in DETECTOR_OUTPUTS order, without a batch dimension (as det_10g has)."""
    scores, boxes, points = {}, {}, {}
    for stride in STRIDES:
        cells = (size // stride) ** 2 * ANCHORS
        scores[stride] = np.full((cells, 1), BACKGROUND_SCORE, dtype=np.float32)
        boxes[stride] = np.ones((cells, 4), dtype=np.float32)
        points[stride] = np.zeros((cells, 10), dtype=np.float32)
    for face in faces:
        x1, y1, x2, y2 = face.box
        col, row = round((x1 + x2) / 2 / face.stride), round((y1 + y2) / 2 / face.stride)
        cx, cy = col * face.stride, row * face.stride
        index = (row * (size // face.stride) + col) * ANCHORS + face.anchor
        scores[face.stride][index] = face.score
        boxes[face.stride][index] = np.array([cx - x1, cy - y1, x2 - cx, y2 - cy]) / face.stride
        points[face.stride][index] = (np.array(face.landmarks) - [cx, cy]).reshape(-1) / face.stride
    return [*(scores[s] for s in STRIDES), *(boxes[s] for s in STRIDES), *(points[s] for s in STRIDES)]


def _save(nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto],
          initializers: list[onnx.TensorProto], path: Path) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _zero_of(input_name: str, axes: list[int], keepdims: int
             ) -> tuple[list[onnx.NodeProto], onnx.TensorProto]:
    """Nodes giving 0 * mean(input): ties constant outputs to the input (and its batch size)."""
    nodes = [
        helper.make_node("ReduceMean", [input_name], ["mean"], axes=axes, keepdims=keepdims),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
    ]
    return nodes, numpy_helper.from_array(np.zeros((), dtype=np.float32), "zero")


def write_detector(path: Path, faces: Sequence[FakeFace], size: int = 640, batched: bool = False) -> Path:
    """batched: outputs with a leading batch dimension of 1 (some SCRFD exports have it)."""
    nodes, zero = _zero_of("input.1", [0, 1, 2, 3], 0)
    initializers = [zero]
    outputs = []
    for name, array in zip(DETECTOR_OUTPUTS, detector_outputs(faces, size), strict=True):
        value = array[None] if batched else array
        initializers.append(numpy_helper.from_array(value, f"const_{name}"))
        nodes.append(helper.make_node("Add", [f"const_{name}", "nothing"], [name]))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    inputs = [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, size, size])]
    return _save(nodes, inputs, outputs, initializers, path)


def write_recognition(path: Path, dim: int = 512, seed: int = 0) -> Path:
    weights = np.random.default_rng(seed).standard_normal((3 * 14 * 14, dim)).astype(np.float32)
    nodes = [
        helper.make_node("AveragePool", ["input.1"], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "weights"], ["683"]),
    ]
    inputs = [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["None", 3, 112, 112])]
    outputs = [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["None", dim])]
    return _save(nodes, inputs, outputs, [numpy_helper.from_array(weights, "weights")], path)


def write_genderage(path: Path, female: float = 0.2, male: float = 0.8, age: float = 35.0) -> Path:
    nodes, zero = _zero_of("data", [1, 2, 3], 1)
    nodes += [
        helper.make_node("Flatten", ["nothing"], ["per_image"], axis=1),
        helper.make_node("Add", ["per_image", "answer"], ["fc1"]),
    ]
    answer = numpy_helper.from_array(np.array([[female, male, age / 100]], dtype=np.float32), "answer")
    inputs = [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["None", 3, 96, 96])]
    outputs = [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, ["None", 3])]
    return _save(nodes, inputs, outputs, [zero, answer], path)


def write_pack(folder: Path, faces: Sequence[FakeFace], *, names: dict[str, str] | None = None,
               genderage: bool = True, batched: bool = False, age: float = 35.0, male: bool = True) -> Path:
    """A model pack folder (e.g. <models_dir>/buffalo_l) holding the fake models; returns the folder."""
    names = {**NAMES, **(names or {})}
    write_detector(folder / names["detector"], faces, batched=batched)
    write_recognition(folder / names["recognition"])
    if genderage:
        write_genderage(folder / names["genderage"], *((0.2, 0.8) if male else (0.8, 0.2)), age=age)
    return folder
