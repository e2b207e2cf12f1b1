"""load_clip: settings → a ready ClipModel with only the towers a service needs, or a fast, clear error."""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any

import torch

from imgsearch.clip.model import ClipModel, ModelInfo
from imgsearch.clip.runtime import pick_device, pick_precision
from imgsearch.clip.weights import RANDOM, WeightsSource, help_text, resolve_weights
from imgsearch.common.errors import ConfigurationError
from imgsearch.common.settings import ClipSettings

log = logging.getLogger(__name__)

TOWERS = frozenset({"image", "text"})
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def load_clip(settings: ClipSettings, towers: frozenset[str] = TOWERS) -> ClipModel:
    """Load settings.model with its weights; drop the towers not in ``towers`` to free memory."""
    import open_clip

    if not towers or not towers <= TOWERS:
        raise ValueError(f"towers must be a non-empty subset of {sorted(TOWERS)}, not {sorted(towers)}")
    if settings.threads > 0:
        torch.set_num_threads(settings.threads)
    name = settings.model
    if settings.model_config_file is not None:
        register_model_config(name, settings.model_config_file)
    source = resolve_weights(name, settings.pretrained, settings.download_timeout_s)
    if source.kind == "local-dir":
        name = f"local-dir:{source.location}"
    elif open_clip.get_model_config(name) is None:
        raise ConfigurationError(
            f"open_clip has no model {name!r} (IMGSEARCH_CLIP__MODEL); register a config with "
            "IMGSEARCH_CLIP__MODEL_CONFIG_FILE or pick one of open_clip.list_models()"
        )
    device = pick_device(settings.device)
    precision = pick_precision(settings.precision, device)
    model, transform = _create(name, source)
    _drop_towers(model, towers)
    model = model.to(device=device, dtype=_DTYPES[precision]).eval()
    tokenizer = open_clip.get_tokenizer(name) if "text" in towers else None
    info = ModelInfo(
        model=settings.model, pretrained=settings.pretrained, dim=0, random_weights=source.kind == RANDOM,
        device=device, precision=precision, image_size=_image_size(model), towers=towers,
    )
    clip = ClipModel(info, model, transform, tokenizer, _DTYPES[precision])
    clip.info = _with_dim(info, clip)  # a warm-up forward pass measures the output dimension
    log.info("CLIP %s/%s loaded: towers=%s dim=%d device=%s precision=%s", info.model, info.pretrained,
             ",".join(sorted(towers)), clip.info.dim, device, precision)
    return clip


def register_model_config(name: str, config_file: Path) -> None:
    """Make an extra open_clip model config (JSON, file stem = model name) loadable by name."""
    import open_clip

    if not config_file.is_file():
        raise ConfigurationError(f"IMGSEARCH_CLIP__MODEL_CONFIG_FILE {config_file} does not exist")
    if config_file.stem != name:
        raise ConfigurationError(
            f"model config {config_file} registers model {config_file.stem!r}, but IMGSEARCH_CLIP__MODEL "
            f"is {name!r}: name the file <model>.json"
        )
    open_clip.add_model_config(config_file)


def _create(name: str, source: WeightsSource) -> tuple[torch.nn.Module, Any]:
    import open_clip

    kwargs: dict[str, Any] = {}
    if source.kind == RANDOM:
        log.warning("CLIP %s runs with RANDOM weights (IMGSEARCH_CLIP__PRETRAINED=random): vectors and "
                    "search results are meaningless", name)
    else:  # a weights file or a local-dir: open_clip must fail rather than fall back to random weights
        kwargs["require_pretrained"] = True
    if source.kind == "file":
        kwargs["pretrained"] = source.location
        tag = source.tag_config or {}
        kwargs["force_quick_gelu"] = bool(tag.get("quick_gelu", False))
        if tag.get("mean") and tag.get("std"):
            kwargs.update(image_mean=tuple(tag["mean"]), image_std=tuple(tag["std"]))
    try:
        model, _, transform = open_clip.create_model_and_transforms(name, **kwargs)
    except Exception as exc:  # open_clip raises RuntimeError/ValueError/KeyError for bad files
        raise ConfigurationError(
            f"could not load CLIP {name} from {source.location or source.kind}: {exc}. {help_text(name)}"
        ) from exc
    return model, transform


def _drop_towers(model: torch.nn.Module, towers: frozenset[str]) -> None:
    if "image" not in towers:
        model.visual = torch.nn.Identity()
    if "text" not in towers:
        if hasattr(model, "text"):  # CustomTextCLIP
            model.text = torch.nn.Identity()
        else:
            model.transformer = torch.nn.Identity()
            model.token_embedding = torch.nn.Identity()
    gc.collect()


def _image_size(model: torch.nn.Module) -> int:
    size = getattr(getattr(model, "visual", None), "image_size", 224)
    return int(max(size) if isinstance(size, tuple | list) else size)


def _with_dim(info: ModelInfo, clip: ClipModel) -> ModelInfo:
    from dataclasses import replace

    if "image" in info.towers:
        pixels = torch.zeros(1, 3, info.image_size, info.image_size)
        dim = clip.encode_images(pixels).shape[1]
    else:
        dim = clip.encode_texts(["a photo"]).shape[1]
    return replace(info, dim=int(dim))
