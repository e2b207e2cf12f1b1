"""Faces: detection and recognition (InsightFace or dlib), phase-1 matching to known people, propagation
after people change, and the clustering service (``imgsearch.faces.clustering``). Nothing heavy is imported
here: dlib and onnxruntime load when a backend is built."""
