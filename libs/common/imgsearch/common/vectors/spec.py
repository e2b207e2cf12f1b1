"""Recording a collection's CollectionSpec and refusing another one (shared by both adapters)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from imgsearch.common.errors import ModelMismatch
from imgsearch.common.vectors.port import CollectionSpec

SPEC_KEY = "imgsearch_spec"  # key under which a spec is stored in collection metadata


def spec_to_dict(spec: CollectionSpec) -> dict[str, Any]:
    return asdict(spec)


def spec_from_dict(data: Any) -> CollectionSpec | None:
    """The spec in ``data``, None when it holds none (a collection we did not create)."""
    if not isinstance(data, dict):
        return None
    try:
        return CollectionSpec(
            model=str(data["model"]),
            pretrained=str(data["pretrained"]),
            dim=int(data["dim"]),
            distance=str(data.get("distance", "cosine")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def check_spec(name: str, recorded: CollectionSpec | None, wanted: CollectionSpec) -> None:
    """Raise ModelMismatch unless the collection was built with ``wanted``."""
    if recorded is None:
        raise ModelMismatch(
            f"collection {name!r} exists but has no recorded model spec; wanted {_describe(wanted)}. "
            "It was not created by imgsearch: use another collection name or remove it."
        )
    if recorded != wanted:
        raise ModelMismatch(
            f"collection {name!r} was built with {_describe(recorded)}, not {_describe(wanted)}: "
            "re-embed into a new collection or configure the original model"
        )


def _describe(spec: CollectionSpec) -> str:
    return f"model={spec.model} pretrained={spec.pretrained} dim={spec.dim} distance={spec.distance}"


def read_spec_file(path: Path) -> CollectionSpec | None:
    try:
        return spec_from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # unreadable JSON counts as "no spec": ensure_collection then refuses the collection


def write_spec_file(path: Path, spec: CollectionSpec) -> None:
    """Write atomically (temp file, fsync, rename, fsync dir) so a crash never leaves half a spec."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(spec_to_dict(spec), f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
