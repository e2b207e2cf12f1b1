"""Device and inference dtype: CUDA with fp16 when present; on CPU bf16 where the CPU does it natively."""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from imgsearch.common.errors import ConfigurationError

PRECISIONS = ("fp32", "bf16", "fp16")


def pick_device(setting: str) -> str:
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError("IMGSEARCH_CLIP__DEVICE=cuda but torch sees no CUDA device")
    if setting.startswith("cuda:"):
        _check_cuda_index(setting)
    elif setting not in ("cpu", "cuda"):
        raise ConfigurationError(f"IMGSEARCH_CLIP__DEVICE must be auto, cpu, cuda or cuda:N, not {setting!r}")
    return setting


def _check_cuda_index(setting: str) -> None:
    index = setting.removeprefix("cuda:")
    if not (index.isascii() and index.isdigit()):
        raise ConfigurationError(f"IMGSEARCH_CLIP__DEVICE={setting!r}: N in cuda:N must be a GPU number")
    if not torch.cuda.is_available():
        raise ConfigurationError(f"IMGSEARCH_CLIP__DEVICE={setting} but torch sees no CUDA device")
    count = torch.cuda.device_count()
    if int(index) >= count:
        raise ConfigurationError(
            f"IMGSEARCH_CLIP__DEVICE={setting} but torch sees {count} CUDA device(s): "
            f"use cuda:0..cuda:{count - 1}"
        )


def pick_precision(setting: str, device: str) -> str:
    if setting == "auto":
        if device.startswith("cuda"):
            return "fp16"
        return "bf16" if cpu_has_native_bf16() else "fp32"
    if setting not in PRECISIONS:
        raise ConfigurationError(f"IMGSEARCH_CLIP__PRECISION must be auto or one of {PRECISIONS}")
    if setting == "fp16" and not device.startswith("cuda"):
        raise ConfigurationError("IMGSEARCH_CLIP__PRECISION=fp16 needs CUDA; use bf16 or fp32 on CPU")
    return setting


@functools.cache
def cpu_has_native_bf16() -> bool:
    """avx512_bf16 or AMX: oneDNN then runs bf16 matmuls ~2x faster than fp32. Without them torch
    emulates bf16, which is slower than fp32, so auto stays on fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags
