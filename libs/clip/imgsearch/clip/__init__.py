"""OpenCLIP model loading shared by the embed and search services.

Importing this package is cheap: torch and open_clip are imported on first use of ``load_clip`` or
``ClipModel`` (the attributes below resolve lazily), so a service can import it at module level."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imgsearch.clip.decode import decode_image
    from imgsearch.clip.loader import load_clip
    from imgsearch.clip.model import ClipModel, ModelInfo

__all__ = ["ClipModel", "ModelInfo", "decode_image", "load_clip"]

_HOMES = {
    "ClipModel": "imgsearch.clip.model",
    "ModelInfo": "imgsearch.clip.model",
    "load_clip": "imgsearch.clip.loader",
    "decode_image": "imgsearch.clip.decode",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'imgsearch.clip' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
