"""``python -m imgsearch.ingest``: the ingest service alone (distributed mode: URLs from settings)."""

from __future__ import annotations

import sys

from imgsearch.common.service import run_service
from imgsearch.ingest.bootstrap import serve

if __name__ == "__main__":
    sys.exit(run_service("ingest", serve))
