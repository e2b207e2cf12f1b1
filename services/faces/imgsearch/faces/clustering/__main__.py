"""``python -m imgsearch.faces.clustering``: the clustering service on its own (distributed mode)."""

from __future__ import annotations

import sys

from imgsearch.common.service import run_service
from imgsearch.faces.clustering.bootstrap import serve

if __name__ == "__main__":
    sys.exit(run_service("clustering", serve))
