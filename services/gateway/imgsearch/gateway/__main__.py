"""``python -m imgsearch.gateway``: the gateway service alone (distributed mode: URLs from settings)."""

from __future__ import annotations

import sys

from imgsearch.common.service import run_service
from imgsearch.gateway.bootstrap import serve

if __name__ == "__main__":
    sys.exit(run_service("gateway", serve))
