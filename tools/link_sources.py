"""Put the source roots on the venv's import path with a .pth file (no packaging step needed).

Every source root holds part of the ``imgsearch`` namespace package: libs/common → imgsearch.common,
services/embed → imgsearch.embed, and so on."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path


def main(roots: list[str]) -> None:
    repo = Path(__file__).resolve().parent.parent
    site = Path(sysconfig.get_paths()["purelib"])
    lines = [str((repo / root).resolve()) for root in roots]
    (site / "imgsearch-sources.pth").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
