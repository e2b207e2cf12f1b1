"""The committed generated package must be what protoc makes from proto/ today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_generated_contracts_match_protos(tmp_path: Path) -> None:
    generator = REPO / "tools" / "gen_protos.py"
    subprocess.run([sys.executable, str(generator), "--out", str(tmp_path)], check=True)
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    committed_root = REPO / "libs" / "contracts"
    committed = {
        p.relative_to(committed_root): p.read_bytes()
        for p in committed_root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    stale = sorted(str(path) for path in fresh if committed.get(path) != fresh[path])
    extra = sorted(str(path) for path in committed if path not in fresh)
    assert not stale and not extra, f"run `make protos`: stale {stale}, not generated {extra}"
