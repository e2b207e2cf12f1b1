"""Face embeddings as PostgreSQL stores them (float32 little-endian bytes) and as matching uses them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]


def pack(vector: npt.ArrayLike) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def unpack(data: bytes) -> Matrix:
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


def stack(blobs: Sequence[bytes], dim: int) -> Matrix:
    """Rows of unit vectors; a blob of the wrong size (another backend's) is a programming error."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1).astype(np.float32)
    if matrix.shape[1] != dim:
        raise ValueError(f"embeddings have {matrix.shape[1]} dimensions, the backend {dim}")
    return matrix


def distances(a: Matrix, b: Matrix) -> Matrix:
    """Euclidean distances between unit vectors (0 = same, 2 = opposite), via one matrix product."""
    result: Matrix = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * (a @ b.T))).astype(np.float32)
    return result
