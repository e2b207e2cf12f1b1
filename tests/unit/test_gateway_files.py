"""LibraryRoots: what the gateway may read or ingest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imgsearch.common.errors import InvalidInput, NotFound, OutsideLibrary
from imgsearch.gateway.files import LibraryRoots, search_folder


def test_a_root_reached_through_a_symlink_still_counts(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "2020").mkdir(parents=True)
    (tmp_path / "photos").symlink_to(real)
    roots = LibraryRoots([tmp_path / "photos"])
    assert roots.folder(str(tmp_path / "photos" / "2020")) == real / "2020"
    assert roots.folder(str(real / "2020")) == real / "2020"  # the same place by its real name


def test_prefix_siblings_are_outside(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "library-private").mkdir()
    with pytest.raises(OutsideLibrary):
        LibraryRoots([tmp_path / "lib"]).folder(str(tmp_path / "library-private"))


def test_no_roots_configured_refuses_with_the_setting_named(tmp_path: Path) -> None:
    with pytest.raises(OutsideLibrary, match="IMGSEARCH_LIBRARY_ROOTS"):
        LibraryRoots([]).folder(str(tmp_path))


def test_stored_file_prefers_a_path_inside_the_roots(tmp_path: Path) -> None:
    inside, outside = tmp_path / "lib" / "a.jpg", tmp_path / "elsewhere" / "a.jpg"
    for path in (inside, outside):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x")
    roots = LibraryRoots([tmp_path / "lib"])
    assert roots.stored_file([str(outside), str(inside)]) == inside
    with pytest.raises(OutsideLibrary):
        roots.stored_file([str(outside)])
    with pytest.raises(NotFound):
        roots.stored_file([str(tmp_path / "lib" / "gone.jpg")])


def test_nul_bytes_are_invalid(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        LibraryRoots([tmp_path]).folder("a\x00b")


def _library_with_odd_entries(tmp_path: Path) -> Path:
    library = tmp_path / "lib"
    (library / "2020").mkdir(parents=True)
    (library / "loop").symlink_to(library / "loop")  # a link to itself: resolving it never ends
    os.mkdir(os.fsencode(library) + b"/caf\xe9")  # a real folder whose name is not UTF-8
    (library / "to-latin1").symlink_to(os.fsdecode(os.fsencode(library) + b"/caf\xe9"))
    return library


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("loop", InvalidInput),
        ("loop/deeper", InvalidInput),
        ("~nosuchuser/x", NotFound),  # taken literally: no home-directory lookup
        ("~", NotFound),
        ("a" * 300, InvalidInput),  # ENAMETOOLONG
        ("a/" * 2100, InvalidInput),  # a path longer than PATH_MAX
        ("\ud800", InvalidInput),
        ("caf\udce9", InvalidInput),  # names the non-UTF-8 folder (surrogateescape)
        ("to-latin1", InvalidInput),  # leads there through a link
    ],
)
def test_unusable_paths_are_client_errors(tmp_path: Path, raw: str, error: type[Exception]) -> None:
    roots = LibraryRoots([_library_with_odd_entries(tmp_path)])
    with pytest.raises(error):
        roots.folder(raw)


def test_stored_files_behind_a_loop_are_not_found(tmp_path: Path) -> None:
    library = _library_with_odd_entries(tmp_path)
    with pytest.raises(NotFound):
        LibraryRoots([library]).stored_file([str(library / "loop" / "a.jpg"), "\ud800"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", ""), ("  ", ""), ("//nowhere//2020/", "/nowhere/2020"), ("/nowhere/./2020", "/nowhere/2020"),
     ("/", "/")],
)
def test_search_folder_is_normalised(raw: str, expected: str) -> None:
    assert search_folder(raw) == expected


def test_search_folder_resolves_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "nas" / "photos"
    real.mkdir(parents=True)
    (tmp_path / "Pictures").symlink_to(real)
    assert search_folder(f"/{tmp_path}//Pictures/") == str(real)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    assert search_folder(str(tmp_path / "loop")) == str(tmp_path / "loop")  # matches nothing, no error


@pytest.mark.parametrize("raw", ["relative", "/a/../b", "/a\x00b", "/\ud800"])
def test_bad_search_folders_are_invalid(raw: str) -> None:
    with pytest.raises(InvalidInput):
        search_folder(raw)
