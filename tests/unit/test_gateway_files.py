"""LibraryRoots: what the gateway may read or ingest."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgsearch.common.errors import InvalidInput, NotFound, OutsideLibrary
from imgsearch.gateway.files import LibraryRoots


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
