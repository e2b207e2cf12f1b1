"""``python -m imgsearch.cli`` (the ``imgsearch`` command that ``make install`` puts in the venv)."""

from __future__ import annotations

import sys

from imgsearch.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
