"""``python -m imgsearch.embed``: the embed service on its own (distributed mode: URLs from settings)."""

from __future__ import annotations

import sys

from imgsearch.common.service import run_service
from imgsearch.embed.bootstrap import serve

if __name__ == "__main__":
    sys.exit(run_service("embed", serve))
