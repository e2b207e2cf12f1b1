"""What the Import pages print, from listings and progress (pure): whole percent rounded down, rates,
ETA, when a session is finished, the breadcrumb, pagers, and names that are not UTF-8."""

from __future__ import annotations

import pytest

from imgsearch.common.db.session_records import SessionProgress, StageRates
from imgsearch.gateway.browse import DirectoryEntry, Listing
from imgsearch.gateway.ui import import_view as v


def _url(path: str | None) -> str:
    return f"/import?path={path}" if path else "/import"


@pytest.mark.parametrize(("value", "shown"), [(0.0, 0), (42.9, 42), (99.99, 99), (100.0, 100), (-1, 0)])
def test_percent_is_whole_and_reaches_100_only_when_everything_is_through(value: float, shown: int) -> None:
    assert v.percent(value) == shown


def test_rates_and_durations() -> None:
    assert [v.rate(r) for r in (0.0, 0.25, 12.345, 1234.5)] == ["—", "0.2/s", "12.3/s", "1,234/s"]
    assert [v.duration(s) for s in (None, 0.0, 59.6, 61, 3725)] == ["—", "0s", "1m00s", "1m01s", "1h02m"]


def test_a_session_is_finished_when_cancelled_or_done_with_every_stage_through() -> None:
    assert v.finished("cancelled", 10.0)
    assert v.finished("done", 100.0)
    assert not v.finished("done", 99.5)  # ingested, but embed or faces still working
    assert not v.finished("running", 100.0)


def test_summary_stages_and_no_eta_once_finished() -> None:
    progress = SessionProgress(discovered=10, ingested=8, embedded=5, faces_done=2, failed=1,
                               discovery_complete=True, percent=20.0, rates=StageRates(2.0, 1.0, 0.0),
                               eta_s=125.0)
    moving = v.summary(progress)
    assert (moving.percent, moving.discovered, moving.failed, moving.eta) == (20, 10, 1, "2m05s")
    assert [(s.key, s.count, s.total, s.rate) for s in moving.stages] == [
        ("ingested", 8, 10, "2.0/s"), ("embedded", 5, 10, "1.0/s"), ("faces_done", 2, 10, "—"),
        ("failed", 1, 10, "")]
    assert v.summary(progress, over=True).eta == "—"


def test_breadcrumb_from_the_root_down() -> None:
    listing = Listing("/lib/2021/summer", "/lib", [], 0, 0)
    assert [(c.label, c.url) for c in v.breadcrumb(listing, _url, several_roots=False)] == [
        ("/lib", "/import?path=/lib"), ("2021", "/import?path=/lib/2021"),
        ("summer", "/import?path=/lib/2021/summer")]
    assert v.breadcrumb(listing, _url, several_roots=True)[0] == v.Crumb("Library", "/import")
    assert v.breadcrumb(Listing(None, None, [], 0, 0), _url, several_roots=True) == [
        v.Crumb("Library", "/import")]


def test_directory_rows_number_on_from_the_offset_and_refuse_names_that_are_not_utf8() -> None:
    odd = "z-\udcff"  # os.fsdecode(b"z-\xff")
    listing = Listing("/lib", "/lib", [DirectoryEntry("a", "/lib/a", 3, 1),
                                       DirectoryEntry(odd, f"/lib/{odd}", 1, 0)], 4, 2)
    first, second = v.directory_rows(listing, 100, _url)
    assert (first.index, first.name, first.label, first.photos, first.selectable, first.open_url) == (
        100, "a", "a", 3, True, "/import?path=/lib/a")
    assert (second.index, second.name, second.label, second.selectable, second.open_url) == (
        101, "", "z-\ufffd", False, "")
    roots = v.directory_rows(Listing(None, None, [DirectoryEntry("lib", "/lib", 3, 1)], 3, 1), 0, _url)
    assert not roots[0].selectable  # a root is opened, not ticked


def test_pager_links_only_where_there_is_a_page() -> None:
    def page(at: int) -> str:
        return f"?offset={at}"

    first = v.pager(0, 20, 45, page)
    assert (first.previous_url, first.next_url, first.first, first.last) == ("", "?offset=20", 1, 20)
    last = v.pager(40, 20, 45, page)
    assert (last.previous_url, last.next_url, last.first, last.last) == ("?offset=20", "", 41, 45)
    empty = v.pager(0, 20, 0, page)
    assert (empty.previous_url, empty.next_url, empty.first, empty.last) == ("", "", 0, 0)
