"""The ``imgsearch`` command: arguments → REST requests (httpx.MockTransport as the gateway), answers → text,
errors → one line and an exit code."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from imgsearch.cli.app import main
from tests.unit.test_cli_progress import session


class Gateway:
    """Records requests; answers from a route table of (method, path) → (status, body)."""

    def __init__(self, routes: dict[tuple[str, str], tuple[int, Any]]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.routes.get((request.method, request.url.path),
                                       (404, {"error": "NotFound", "message": "Not Found"}))
        if callable(body):
            body = body()
        return httpx.Response(status, json=body)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def run(argv: list[str], gateway: Gateway | None = None, env: dict[str, str] | None = None
        ) -> tuple[int, str, str, Gateway]:
    gateway = gateway or Gateway({})
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err, env=env or {}, transport=httpx.MockTransport(gateway),
                sleep=lambda _s: None)
    return code, out.getvalue(), err.getvalue(), gateway


def test_ingest_creates_a_session_and_follows_it_to_the_end(tmp_path: Any) -> None:
    polls = iter([session(ingested=50), session(state="done", ingested=200)])
    gateway = Gateway({
        ("POST", "/api/v1/sessions"): (201, session(state="discovering")),
        ("GET", "/api/v1/sessions/7"): (200, lambda: next(polls)),
    })
    argv = ["ingest", str(tmp_path), "--priority", "high", "--subdir", "a", "--subdir", "b/c"]
    code, out, err, _ = run(argv, gateway)
    assert (code, err) == (0, "")
    assert gateway.bodies()[0] == {"path": str(tmp_path), "subdirectories": ["a", "b/c"], "priority": "high",
                                   "include": [], "exclude": []}
    lines = out.splitlines()
    assert lines[0] == "session 7 created for /photos/2023 (high priority)"
    assert lines[-1].startswith("session 7 done: discovered=200 ingested=200")  # not a terminal: plain lines


def test_ingest_detached_makes_the_path_absolute_and_returns(tmp_path: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    gateway = Gateway({("POST", "/api/v1/sessions"): (201, session(state="discovering"))})
    monkeypatch.chdir(tmp_path)
    code, out, _, _ = run(["ingest", "photos", "--detach"], gateway)
    assert code == 0 and len(gateway.requests) == 1
    assert gateway.bodies()[0]["path"] == str(tmp_path / "photos")
    assert gateway.bodies()[0]["priority"] == "normal" and gateway.bodies()[0]["subdirectories"] == []
    assert out.splitlines()[-1] == "follow it with `imgsearch watch 7`"


def test_an_api_refusal_is_its_message_and_exit_1() -> None:
    refusal = {"error": "OutsideLibrary", "message": "/etc is outside the library roots"}
    gateway = Gateway({("POST", "/api/v1/sessions"): (403, refusal)})
    code, out, err, _ = run(["ingest", "/etc"], gateway)
    assert (code, out) == (1, "")
    assert err == "imgsearch: /etc is outside the library roots (403 OutsideLibrary)\n"


def test_an_unreachable_gateway_is_one_line_and_exit_2() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    out, err = io.StringIO(), io.StringIO()
    code = main(["status"], out=out, err=err, env={"IMGSEARCH_URL": "http://gw:9"},
                transport=httpx.MockTransport(refuse))
    assert code == 2 and out.getvalue() == ""
    assert err.getvalue().startswith("imgsearch: cannot reach the gateway at http://gw:9")
    assert "(Connection refused)" in err.getvalue()
    assert len(err.getvalue().splitlines()) == 1


def test_sessions_list_and_actions() -> None:
    gateway = Gateway({
        ("GET", "/api/v1/sessions"): (200, {"sessions": [session(), session(state="paused")], "total": 5}),
        ("POST", "/api/v1/sessions/7/pause"): (200, session(state="paused")),
    })
    code, out, _, _ = run(["sessions", "--state", "running", "--limit", "2"], gateway)
    assert code == 0
    assert gateway.requests[0].url.params == httpx.QueryParams({"limit": "2", "state": "running"})
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATE", "PRIORITY", "DONE", "FILES", "PATH"]
    assert lines[1].split() == ["7", "running", "high", "10.0%", "200", "/photos/2023"]
    assert lines[-1] == "(2 of 5; --limit for more)"
    code, out, _, _ = run(["pause", "7"], gateway)
    assert code == 0 and out.startswith("session 7 paused:") and gateway.requests[-1].method == "POST"


def test_search_sends_the_filters_and_prints_score_and_path() -> None:
    hits = {"hits": [{"image_id": "a", "score": 0.31234, "path": "/p/a.jpg"},
                     {"image_id": "b", "score": 0.2, "path": "/p/b.jpg"}],
            "model": {"model": "ViT-B-32", "pretrained": "x", "dim": 512, "random_weights": False}}
    gateway = Gateway({("GET", "/api/v1/search"): (200, hits)})
    code, out, _, _ = run(["search", "red", "car", "--limit", "5", "--folder", "/p", "--camera",
                           "Canon EOS 6D", "--near", "52.5,13.4", "--radius-km", "3"], gateway)
    assert code == 0 and out.splitlines() == [" 0.312  /p/a.jpg", " 0.200  /p/b.jpg"]
    assert dict(gateway.requests[0].url.params) == {
        "q": "red car", "limit": "5", "folder": "/p", "camera": "Canon EOS 6D", "near": "52.5,13.4",
        "radius_km": "3.0",
    }


def test_browse_lists_folders_with_counts_and_asks_for_absolute_paths(tmp_path: Any) -> None:
    listing = {"path": str(tmp_path), "root": str(tmp_path), "image_files": 1234, "directories": [
        {"name": "2023", "path": f"{tmp_path}/2023", "image_files": 1200, "subdirectories": 12},
        {"name": "scans", "path": f"{tmp_path}/scans", "image_files": 34, "subdirectories": 0},
    ]}
    gateway = Gateway({("GET", "/api/v1/browse"): (200, listing)})
    code, out, _, _ = run(["browse", str(tmp_path)], gateway)
    assert code == 0 and out.splitlines() == [
        f"{tmp_path}: 1,234 image files",
        f"     1,200  {tmp_path}/2023  (12 subfolders)",
        f"        34  {tmp_path}/scans",
    ]
    assert dict(gateway.requests[0].url.params) == {"path": str(tmp_path), "limit": "500", "offset": "0"}
    roots = {"path": None, "root": None, "image_files": 0, "directories": [], "total": 0}
    code, out, _, gateway = run(["browse"], Gateway({("GET", "/api/v1/browse"): (200, roots)}))
    assert (code, out.splitlines()) == (0, ["library roots: 0 image files", "  (no subfolders)"])
    assert dict(gateway.requests[0].url.params) == {"limit": "500", "offset": "0"}


def test_browse_says_how_to_reach_the_folders_beyond_the_page(tmp_path: Any) -> None:
    listing = {"path": str(tmp_path), "root": str(tmp_path), "image_files": 9, "total": 7, "directories": [
        {"name": "c", "path": f"{tmp_path}/c", "image_files": 4, "subdirectories": 0},
        {"name": "d", "path": f"{tmp_path}/d", "image_files": 5, "subdirectories": 0},
    ]}
    gateway = Gateway({("GET", "/api/v1/browse"): (200, listing)})
    code, out, _, _ = run(["browse", str(tmp_path), "--limit", "2", "--offset", "2"], gateway)
    assert code == 0 and out.splitlines()[-1] == "  … 3 more folders: --offset 4"
    assert dict(gateway.requests[0].url.params) == {"path": str(tmp_path), "limit": "2", "offset": "2"}


def test_near_without_radius_is_refused_before_any_request() -> None:
    code, _, err, gateway = run(["search", "x", "--near", "1,2"])
    assert code == 2 and "--near and --radius-km go together" in err and gateway.requests == []


def test_status_reads_readiness_even_when_not_ready() -> None:
    info = {"ready": False, "model": None, "indexed": 1234, "warnings": [],
            "checks": [{"name": "nats", "ok": True}, {"name": "search", "ok": False, "detail": "no answer"}]}
    code, out, _, _ = run(["--url", "http://x:1", "status"], Gateway({("GET", "/readyz"): (503, info)}))
    assert code == 2
    assert out.splitlines() == ["gateway http://x:1: NOT READY", "  ok   nats", "  FAIL search (no answer)",
                                "  images indexed: 1,234"]


def test_reconcile_repairs_unless_dry_run_and_prints_the_report() -> None:
    report = {"run_id": "r1", "repair": False, "drift": 3, "repaired": 0,
              "images": {"postgres": 7, "points": 4, "missing": 4, "embedded_without_vector": 2,
                         "orphans": 1},
              "faces": {"postgres": 4, "points": 4},
              "streams": [{"name": "IMGSEARCH_EVENTS", "messages": 9, "consumers": [
                  {"name": "embed", "pending": 0, "ack_pending": 1, "redelivered": 0}]}]}
    gateway = Gateway({("POST", "/api/v1/reconcile"): (200, report)})
    code, out, _, _ = run(["reconcile", "--dry-run"], gateway)
    assert code == 0 and gateway.bodies() == [{"repair": False}]
    lines = out.splitlines()
    assert lines[0] == "reconcile r1 (dry run): drift 3, repaired 0"
    assert "embedded 2," in lines[2] and lines[3].strip() == "orphan vectors: 1; deleted 0"
    assert "    embed: 0 pending, 1 unacknowledged, 0 redelivered" in lines
    assert lines[-1] == "run `imgsearch reconcile` (without --dry-run) to repair"
    code, out, _, _ = run(["reconcile", "--json"], gateway)
    assert gateway.bodies()[-1] == {"repair": True} and json.loads(out) == report


def test_bad_arguments_exit_2_with_usage() -> None:
    with pytest.raises(SystemExit) as exited:
        run(["ingest", "/p", "--priority", "urgent"])
    assert exited.value.code == 2


def test_the_console_script_runs_the_cli() -> None:
    """``make install`` puts ``imgsearch`` next to the venv's python (tools/link_sources.py)."""
    result = subprocess.run([sys.executable, "-m", "imgsearch.cli", "--url", "http://127.0.0.1:9", "status"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("imgsearch: cannot reach the gateway at http://127.0.0.1:9")
