"""The gateway and ingest services must run without torch (their pods don't install it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import importlib, sys
for name in {modules!r}:
    importlib.import_module(name)
heavy = sorted(m for m in ("torch", "open_clip", "torchvision") if m in sys.modules)
print(",".join(heavy))
"""


@pytest.mark.parametrize(
    "modules",
    [
        ["imgsearch.gateway.bootstrap", "imgsearch.gateway.__main__", "imgsearch.search.client"],
        ["imgsearch.ingest.bootstrap", "imgsearch.ingest.__main__"],
    ],
)
def test_service_imports_without_torch(modules: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(modules=modules)], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{modules} imported {result.stdout.strip()}"


def test_importing_services_has_no_side_effects() -> None:
    """No model loading, no connections, no threads at import time."""
    code = (
        "import threading, imgsearch.embed.bootstrap, imgsearch.search.bootstrap, imgsearch.runner.stack;"
        "print(threading.active_count())"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "1"
