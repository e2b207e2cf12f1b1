"""The command line's progress display: a pure function of the session JSON, and the follow loop."""

from __future__ import annotations

import io
from typing import Any

from imgsearch.cli.follow import FollowConfig, follow
from imgsearch.cli.progress import bar, duration, rate, render_bars, render_line


def session(state: str = "running", discovered: int = 200, ingested: int = 100, embedded: int = 50,
            faces: int = 20, failed: int = 3, complete: bool = True, eta: float | None = 95.0,
            subdirectories: int = 0, percent: float | None = None) -> dict[str, Any]:
    if percent is None:
        percent = 100.0 if state == "done" else 10.0
    progress = {
        "discovered": discovered, "ingested": ingested, "embedded": embedded, "faces_done": faces,
        "failed": failed, "discovery_complete": complete, "percent": percent,
        "rates": {"ingested": 12.34, "embedded": 0.0, "faces_done": 250.0}, "eta_s": eta,
    }
    return {
        "id": 7, "path": "/photos/2023", "subdirectories": [f"d{k}" for k in range(subdirectories)],
        "priority": "high", "state": state, "origin": "user", "progress": progress,
        "subdirectory_progress": [
            {"subdirectory": f"d{k}", "progress": {**progress, "percent": 50.0, "discovered": 10 + k}}
            for k in range(subdirectories)
        ],
    }


def test_bars_show_every_stage_against_the_files_discovered() -> None:
    lines = render_bars(session(), width=100)
    assert lines[0] == "session 7 · /photos/2023 · high priority · RUNNING"
    assert lines[1].split() == ["discovered", "200"]
    ingested, embedded, faces = lines[2:5]
    assert ingested.split()[0] == "ingested" and "100/200" in ingested and "50%" in ingested
    assert "12.3/s" in ingested and embedded.rstrip().endswith("—") and "250/s" in faces
    assert bar(100, 200, 40) in ingested and bar(20, 200, 40) in faces
    assert lines[5].strip() == "10.0% · 3 failed · ETA 1m35s"
    assert all(len(line) <= 100 for line in lines)


def test_discovery_still_running_unknown_eta_and_subdirectories() -> None:
    lines = render_bars(session(complete=False, eta=None, subdirectories=10), width=120)
    assert "(still discovering)" in lines[1] and lines[5].strip().endswith("ETA —")
    assert lines[0].endswith("(10 subdirectories) · high priority · RUNNING")
    assert lines[6].split()[:4] == ["d0", "50.0%", "10", "files"]
    assert len(lines) == 6 + 8 + 1 and lines[-1].strip() == "… and 2 more subdirectories"


def test_narrow_terminals_and_missing_fields_do_not_break_the_display() -> None:
    assert all(len(line) <= 40 for line in render_bars(session(), width=40))
    empty = render_bars({"id": 1, "state": "discovering"})
    assert "[----------" in empty[2] and empty[5].strip() == "0.0% · 0 failed · ETA —"


def test_plain_line() -> None:
    assert render_line(session(complete=False)) == (
        "session 7 running: discovered=200+ ingested=100 embedded=50 faces=20 failed=3 10.0% ETA 1m35s"
    )


def test_helpers() -> None:
    assert bar(0, 0, 4) == "[----]" and bar(5, 4, 4) == "[####]" and bar(1, 4, 4) == "[#---]"
    assert (duration(0.4), duration(61), duration(3 * 3600 + 120)) == ("0s", "1m01s", "3h02m")
    assert (rate(None), rate(0.04), rate(1234.5)) == ("—", "0.0/s", "1,234/s")


class Script:
    """Answers one session per poll; a clock that advances with every sleep."""

    def __init__(self, answers: list[dict[str, Any] | BaseException]) -> None:
        self.answers, self.now, self.sleeps = answers, 0.0, 0

    def fetch(self) -> dict[str, Any]:
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1


def test_terminal_display_is_redrawn_in_place_until_done() -> None:
    script = Script([session(ingested=10), session(ingested=150), session(state="done", ingested=200)])
    out = io.StringIO()
    assert follow(script.fetch, out, FollowConfig(tty=True, width=100), script.sleep, lambda: script.now) == 0
    text = out.getvalue()
    drawn = len(render_bars(session(), 100))
    assert text.count(f"\x1b[{drawn}F\x1b[J") == 2 and text.count("session 7 ·") == 3
    assert "DONE" in text.splitlines()[-drawn] and script.sleeps == 2


def test_a_done_session_is_followed_until_embed_and_faces_are_through() -> None:
    # "done" means every file is ingested; embed and faces still work on them until percent reaches 100.
    script = Script([session(state="done", ingested=200, embedded=150, percent=77.8),
                     session(state="done", ingested=200, embedded=200, percent=100.0)])
    out = io.StringIO()
    assert follow(script.fetch, out, FollowConfig(tty=False), script.sleep, lambda: script.now) == 0
    assert script.sleeps == 1 and out.getvalue().splitlines()[-1].endswith("100.0% ETA 1m35s")


def test_plain_output_prints_changes_at_most_every_interval_and_the_end() -> None:
    answers: list[dict[str, Any] | BaseException] = [session(ingested=k) for k in range(30)]
    answers.append(session(state="cancelled", ingested=30))
    script = Script(answers)
    out = io.StringIO()
    config = FollowConfig(tty=False, interval_s=1.0, plain_every_s=10.0)
    assert follow(script.fetch, out, config, script.sleep, lambda: script.now) == 0
    lines = out.getvalue().splitlines()
    assert [line.split()[4] for line in lines] == [
        "ingested=0", "ingested=10", "ingested=20", "ingested=30"
    ]
    assert "\x1b" not in out.getvalue() and lines[-1].startswith("session 7 cancelled")


def test_plain_output_repeats_when_nothing_changes_for_a_minute() -> None:
    script = Script([session()] * 125 + [KeyboardInterrupt()])
    out = io.StringIO()
    follow(script.fetch, out, FollowConfig(tty=False), script.sleep, lambda: script.now)
    assert sum(line.startswith("session 7 running") for line in out.getvalue().splitlines()) == 3


def test_ctrl_c_detaches_and_says_how_to_pause_or_cancel() -> None:
    script = Script([session(), KeyboardInterrupt()])
    out = io.StringIO()
    assert follow(script.fetch, out, FollowConfig(tty=True), script.sleep, lambda: script.now) == 0
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("detached: session 7 keeps running")
    assert "imgsearch pause 7" in last and "imgsearch cancel 7" in last and "imgsearch watch 7" in last
