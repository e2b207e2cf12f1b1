"""Put the source roots on the venv's import path with a .pth file (no packaging step needed), and the
command-line entry points in the venv's bin/ (``imgsearch``).

Every source root holds part of the ``imgsearch`` namespace package: libs/common → imgsearch.common,
services/embed → imgsearch.embed, and so on."""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

# command → module whose main() it runs (the module must lie in one of the roots given)
SCRIPTS = {"imgsearch": "imgsearch.cli.app"}


def main(roots: list[str]) -> None:
    repo = Path(__file__).resolve().parent.parent
    site = Path(sysconfig.get_paths()["purelib"])
    lines = [str((repo / root).resolve()) for root in roots]
    (site / "imgsearch-sources.pth").write_text("\n".join(lines) + "\n")
    write_scripts(Path(sysconfig.get_paths()["scripts"]), Path(sys.executable))


def write_scripts(bin_dir: Path, python: Path) -> None:
    """Small launchers like pip's console scripts: this venv's python, then the module's main()."""
    for name, module in SCRIPTS.items():
        script = bin_dir / name
        script.write_text(
            f"#!{python}\n"
            f"# Written by tools/link_sources.py (make install): runs {module}.main().\n"
            "import sys\n\n"
            f"from {module} import main\n\n"
            'if __name__ == "__main__":\n'
            "    sys.exit(main())\n"
        )
        script.chmod(script.stat().st_mode | 0o755)
        os.utime(script)


if __name__ == "__main__":
    main(sys.argv[1:])
