"""Each service runs with its own dependency set: the gateway pod has neither torch nor Pillow,
the ingest pod no torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import importlib, sys
for name in {modules!r}:
    importlib.import_module(name)
print(",".join(sorted(m for m in {forbidden!r} if m in sys.modules)))
"""
TORCH = ("torch", "open_clip", "torchvision")


@pytest.mark.parametrize(
    ("modules", "forbidden"),
    [
        (["imgsearch.gateway.bootstrap", "imgsearch.gateway.__main__", "imgsearch.search.client",
          "imgsearch.ingest.commands"], (*TORCH, "PIL")),
        (["imgsearch.ingest.bootstrap", "imgsearch.ingest.__main__"], TORCH),
    ],
)
def test_service_imports_only_its_own_dependencies(modules: list[str], forbidden: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(modules=modules, forbidden=forbidden)],
        capture_output=True, text=True, check=True,
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
