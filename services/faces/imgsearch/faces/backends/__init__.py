"""Face backends (dlib, InsightFace) behind one interface. Importing this package loads neither dlib
nor onnxruntime: load_backend imports the chosen one."""

from imgsearch.faces.backends.port import BackendConfig, BackendInfo, DetectedFace, FaceBackend
from imgsearch.faces.backends.select import BackendChoice, choose_backend, load_backend

__all__ = [
    "BackendChoice",
    "BackendConfig",
    "BackendInfo",
    "DetectedFace",
    "FaceBackend",
    "choose_backend",
    "load_backend",
]
