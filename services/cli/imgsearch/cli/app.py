"""``imgsearch``: the command line over the gateway's REST API.

Exit codes: 0 done, 1 the gateway refused the request (its message is shown), 2 the gateway is unreachable
or unavailable, or the command line is wrong."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

import httpx

from imgsearch.cli import views
from imgsearch.cli.client import DEFAULT_URL, CliError, GatewayClient
from imgsearch.cli.follow import FollowConfig, follow
from imgsearch.cli.keys import add_keys_parser, run_keys
from imgsearch.cli.progress import render_line

PRIORITIES = ("high", "normal", "low", "bulk")
STATES = ("discovering", "running", "paused", "cancelled", "done")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="imgsearch", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--url", help=f"gateway base URL (default: $IMGSEARCH_URL or {DEFAULT_URL})")
    top.add_argument("--api-key", help="API key when the gateway asks for one (default: $IMGSEARCH_API_KEY)")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="import a folder (a session) and show its progress")
    ingest.add_argument("path", help="folder under a library root (as the gateway's machine sees it)")
    ingest.add_argument("--priority", choices=PRIORITIES, default="normal")
    ingest.add_argument("--subdir", action="append", default=[], metavar="D",
                        help="only this subdirectory of PATH (repeat for several; default: all of PATH)")
    ingest.add_argument("--detach", action="store_true", help="create the session and return at once")

    watch = commands.add_parser("watch", help="show a session's progress until it finishes")
    watch.add_argument("id", type=int)

    sessions = commands.add_parser("sessions", help="list ingest sessions")
    sessions.add_argument("--state", choices=STATES)
    sessions.add_argument("--limit", type=int, default=20)

    for action, text in (("pause", "pause a session"), ("resume", "resume a paused session"),
                         ("cancel", "cancel a session (what is imported stays)")):
        command = commands.add_parser(action, help=text)
        command.add_argument("id", type=int)

    search = commands.add_parser("search", help="text search: score and path of the best matches")
    search.add_argument("query", nargs="+")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--folder", help="only images under this absolute folder")
    search.add_argument("--camera", help="only this camera, as GET /api/v1/cameras names it")
    search.add_argument("--near", metavar="LAT,LON", help="only photos taken near this position")
    search.add_argument("--radius-km", type=float, help="radius around --near, in km")

    browse = commands.add_parser("browse", help="folders under the library roots with their image counts")
    browse.add_argument("path", nargs="?", help="a folder under a library root; none: the roots")
    browse.add_argument("--limit", type=int, default=500, help="folders per page (1-500)")
    browse.add_argument("--offset", type=int, default=0, help="folders to skip")

    commands.add_parser("status", help="readiness of the gateway and its dependencies, images indexed")

    reconcile = commands.add_parser(
        "reconcile", help="compare PostgreSQL, the vector collections and the stream; repair the drift"
    )
    reconcile.add_argument("--dry-run", action="store_true", help="report only, change nothing")
    reconcile.add_argument("--json", action="store_true", help="print the report as JSON")
    add_keys_parser(commands)
    return top


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None,
         env: Mapping[str, str] | None = None, transport: httpx.BaseTransport | None = None,
         sleep: Callable[[float], None] | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = parser().parse_args(argv)
    if args.command == "search" and (args.near is None) != (args.radius_km is None):
        err.write("imgsearch search: --near and --radius-km go together\n")
        return 2
    if args.command == "keys":
        return run_keys(args, out, err)
    environ = env if env is not None else os.environ
    url = args.url or environ.get("IMGSEARCH_URL") or DEFAULT_URL
    client = GatewayClient(url, transport=transport, api_key=args.api_key or environ.get("IMGSEARCH_API_KEY"))
    try:
        return _run(args, client, out, sleep)
    except CliError as exc:
        err.write(f"imgsearch: {exc.message}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        err.write("imgsearch: interrupted\n")
        return 130
    finally:
        client.close()


def _run(args: argparse.Namespace, client: GatewayClient, out: TextIO,
         sleep: Callable[[float], None] | None) -> int:
    command = args.command
    if command == "ingest":
        path = os.path.abspath(os.path.expanduser(args.path))
        session = client.create_session(path, list(args.subdir), args.priority)
        out.write(f"session {session.get('id')} created for {session.get('path', path)}"
                  f" ({session.get('priority', args.priority)} priority)\n")
        if args.detach:
            out.write(f"follow it with `imgsearch watch {session.get('id')}`\n")
            return 0
        return _follow(client, int(session["id"]), out, sleep)
    if command == "watch":
        return _follow(client, args.id, out, sleep)
    if command == "sessions":
        return _print(out, views.sessions_table(client.sessions(args.state, args.limit)))
    if command in ("pause", "resume", "cancel"):
        return _print(out, [render_line(client.session_action(args.id, command))])
    if command == "search":
        return _print(out, views.search_hits(client.search(search_params(args))))
    if command == "browse":
        path = os.path.abspath(os.path.expanduser(args.path)) if args.path else None
        return _print(out, views.directory_listing(client.browse(path, args.limit, args.offset), args.offset))
    if command == "status":
        info = client.readiness()
        _print(out, views.readiness(info, client.base_url))
        return 0 if info.get("ready") else 2
    report = client.reconcile(repair=not args.dry_run)
    if args.json:
        return _print(out, [json.dumps(report, indent=2)])
    return _print(out, views.reconcile_report(report))


def search_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {"q": " ".join(args.query), "limit": args.limit}
    for name in ("folder", "camera", "near"):
        if getattr(args, name):
            params[name] = getattr(args, name)
    if args.radius_km is not None:
        params["radius_km"] = args.radius_km
    return params


def _follow(client: GatewayClient, session_id: int, out: TextIO,
            sleep: Callable[[float], None] | None) -> int:
    tty = out.isatty()
    config = FollowConfig(tty=tty, width=shutil.get_terminal_size().columns if tty else 100)
    if sleep is None:
        return follow(lambda: client.session(session_id), out, config)
    return follow(lambda: client.session(session_id), out, config, sleep=sleep)


def _print(out: TextIO, lines: list[str]) -> int:
    out.write("\n".join(lines) + "\n")
    return 0
