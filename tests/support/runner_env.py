"""The environment an end-to-end test gives ``python -m imgsearch.runner``: its own data dir and library,
free ports, and the tiny trained CLIP loaded through the same settings as ViT-B-32."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.support.tiny_clip import TinyClip


def runner_env(tiny_clip: TinyClip, data_dir: Path, library: Path, *, http_port: int, grpc_port: int,
               nats_port: int, batch_size: int = 4, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "IMGSEARCH_DATA_DIR": str(data_dir),
        "IMGSEARCH_LIBRARY_ROOTS": json.dumps([str(library)]),
        "IMGSEARCH_CLIP__MODEL": tiny_clip.model_name,
        "IMGSEARCH_CLIP__MODEL_CONFIG_FILE": str(tiny_clip.config_file),
        "IMGSEARCH_CLIP__PRETRAINED": str(tiny_clip.weights_file),
        "IMGSEARCH_CLIP__BATCH_SIZE": str(batch_size),
        "IMGSEARCH_NATS__EMBEDDED_PORT": str(nats_port),
        "IMGSEARCH_HTTP__PORT": str(http_port),
        "IMGSEARCH_GRPC__PORT": str(grpc_port),
        **extra,
    }
