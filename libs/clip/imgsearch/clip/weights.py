"""Where a model's weights come from: a local file or folder, an open_clip tag, or ``random``.

Resolving never blocks for long: a tag is used from the Hugging Face cache when it is there, and
downloaded only when the hub answers within ``download_timeout_s`` and HF_HUB_OFFLINE is not set."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from imgsearch.common.errors import ConfigurationError

log = logging.getLogger(__name__)

RANDOM = "random"
LOCAL_DIR = "local-dir:"
WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")
LOCAL_DIR_SUFFIXES = (".safetensors", ".bin", ".pth")  # what open_clip's local-dir loader looks for
_HF_FILENAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


@dataclass(frozen=True)
class WeightsSource:
    kind: str  # file | local-dir | random
    location: str = ""  # file path or folder; empty for random
    tag_config: dict[str, Any] | None = None  # open_clip pretrained config when resolved from a tag


def help_text(model: str) -> str:
    return (
        f"Set IMGSEARCH_CLIP__PRETRAINED to a downloaded weights file for {model} (.safetensors/.bin/.pt, "
        "e.g. open_clip_model.safetensors from huggingface.co/laion/CLIP-ViT-B-32-laion2B-s34B-b79K), "
        "to 'local-dir:/path' (a folder with open_clip_config.json and the weights), to an open_clip "
        "tag on a machine that can reach huggingface.co, or to 'random' to run untrained weights "
        "(explicit opt-in: search results are then meaningless)."
    )


def resolve_weights(model: str, pretrained: str, download_timeout_s: float) -> WeightsSource:
    """Find the weights for model/pretrained, raising ConfigurationError fast when there are none."""
    value = pretrained.strip()
    if value == RANDOM:
        return WeightsSource(RANDOM)
    if value.startswith(LOCAL_DIR):
        folder = Path(value.removeprefix(LOCAL_DIR)).expanduser()
        if not (folder / "open_clip_config.json").is_file():
            raise ConfigurationError(f"{folder} has no open_clip_config.json. {help_text(model)}")
        _check_local_weights(folder, model)
        return WeightsSource("local-dir", str(folder))
    path = Path(value).expanduser()
    if path.suffix in WEIGHT_SUFFIXES or os.sep in value:
        if not path.is_file():
            raise ConfigurationError(f"weights file {path} does not exist. {help_text(model)}")
        return WeightsSource("file", str(path))
    return _resolve_tag(model, value, download_timeout_s)


def _check_local_weights(folder: Path, model: str) -> None:
    """open_clip would build the model untrained (and only log it) from a folder without weights."""
    if any(p.is_file() for suffix in LOCAL_DIR_SUFFIXES for p in folder.glob(f"*{suffix}")):
        return
    hint = ""
    if any(p.is_file() for p in folder.glob("*.pt")):
        hint = " (open_clip does not load *.pt from a folder: rename it to .pth or name the file itself)"
    raise ConfigurationError(
        f"{folder} holds no weights file ({', '.join('*' + s for s in LOCAL_DIR_SUFFIXES)}){hint}. "
        f"{help_text(model)}"
    )


def _resolve_tag(model: str, tag: str, download_timeout_s: float) -> WeightsSource:
    import open_clip

    cfg: dict[str, Any] = open_clip.get_pretrained_cfg(model, tag) or {}
    if not cfg:
        known = ", ".join(open_clip.list_pretrained_tags_by_model(model)) or "none"
        raise ConfigurationError(
            f"open_clip knows no pretrained tag {tag!r} for {model} (known: {known}). {help_text(model)}"
        )
    cached = _cached_file(cfg)
    if cached is not None:
        return WeightsSource("file", cached, cfg)
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        raise ConfigurationError(
            f"weights for {model}/{tag} are not in the Hugging Face cache and HF_HUB_OFFLINE is set. "
            f"{help_text(model)}"
        )
    url = _download_url(cfg)
    if not _reachable(url, download_timeout_s):
        raise ConfigurationError(
            f"weights for {model}/{tag} are not cached and {urlparse(url).hostname} is not reachable (tried "
            f"for up to {download_timeout_s:g} s, IMGSEARCH_CLIP__DOWNLOAD_TIMEOUT_S). {help_text(model)}"
        )
    log.info("downloading weights for %s/%s from %s", model, tag, url)
    try:
        target = str(open_clip.download_pretrained(cfg))
    except Exception as exc:  # huggingface_hub and urllib raise many types
        raise ConfigurationError(f"download of {model}/{tag} failed: {exc}. {help_text(model)}") from exc
    return WeightsSource("file", target, cfg)


def _cached_file(cfg: dict[str, Any]) -> str | None:
    hub = str(cfg.get("hf_hub") or "")
    if not hub:
        return None
    from huggingface_hub import try_to_load_from_cache

    repo_id, filename = os.path.split(hub)  # "org/name/" → default file names, "org/name/file.bin" → that
    for name in (filename,) if filename else _HF_FILENAMES:
        found = try_to_load_from_cache(repo_id, name)
        if isinstance(found, str) and Path(found).is_file():
            return found
    return None


def _download_url(cfg: dict[str, Any]) -> str:
    if cfg.get("hf_hub"):
        return os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    return str(cfg.get("url") or "https://huggingface.co")


def _reachable(url: str, timeout_s: float) -> bool:
    """TCP connect to the host, bounded by timeout_s including DNS (which ignores socket timeouts)."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "", parsed.port or (80 if parsed.scheme == "http" else 443)
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, name="clip-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(result and result[0])
