"""scan(): patterns, deterministic order, symlinks (inside / outside roots, loops), unreadable dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imgsearch.ingest.scan import PathFilter, inside, scan


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _names(folder: Path, roots: list[Path], path_filter: PathFilter | None = None) -> list[str]:
    return [str(f.path.relative_to(folder)) for f in scan(folder, roots, path_filter or PathFilter())]


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "lib"
    for rel in ("b.jpg", "a.JPG", "notes.txt", ".hidden.jpg", "2023/z.jpg", "2023/a.png",
                ".cache/x.jpg", "@eaDir/thumb.jpg", "2022/deep/er/c.jpg"):
        _touch(root / rel)
    return root


def test_order_is_deterministic_files_first_then_folders_by_name(library: Path) -> None:
    assert _names(library, [library]) == [
        ".hidden.jpg", "a.JPG", "b.jpg", "notes.txt", ".cache/x.jpg", "2022/deep/er/c.jpg",
        "2023/a.png", "2023/z.jpg", "@eaDir/thumb.jpg",
    ]


def test_exclude_names_prune_folders_and_include_is_case_insensitive(library: Path) -> None:
    path_filter = PathFilter.of(include=["*.jpg"], exclude=[".*", "@eaDir"])
    assert _names(library, [library], path_filter) == ["a.JPG", "b.jpg", "2022/deep/er/c.jpg", "2023/z.jpg"]


def test_relative_path_patterns(library: Path) -> None:
    assert _names(library, [library], PathFilter.of(["2023/*"], [])) == ["2023/a.png", "2023/z.jpg"]
    assert _names(library, [library], PathFilter.of([], ["2022", "2023/z.jpg", ".*", "@*"])) == [
        "a.JPG", "b.jpg", "notes.txt", "2023/a.png",
    ]


def test_stat_is_reported(library: Path) -> None:
    first = next(scan(library, [library]))
    stat = first.path.stat()
    assert (first.size, first.mtime_ns) == (stat.st_size, stat.st_mtime_ns)


def test_symlink_loops_end(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    _touch(root / "a" / "1.jpg")
    (root / "a" / "loop").symlink_to(root)  # ancestor: a loop
    (root / "a" / "self").symlink_to(root / "a")
    (root / "a" / "chain1").symlink_to(root / "a" / "chain2")  # link to a link to itself
    (root / "a" / "chain2").symlink_to(root / "a" / "chain1")
    assert _names(root, [root]) == ["a/1.jpg"]


def test_symlinks_followed_only_inside_roots(tmp_path: Path) -> None:
    root, other_root, outside = tmp_path / "lib", tmp_path / "other", tmp_path / "outside"
    _touch(root / "real.jpg")
    _touch(other_root / "album" / "o.jpg")
    secret = _touch(outside / "secret.jpg")
    (root / "alias.jpg").symlink_to(root / "real.jpg")  # a file link inside the root: followed
    (root / "escape.jpg").symlink_to(secret)
    (root / "escape_dir").symlink_to(outside)
    (root / "linked_album").symlink_to(other_root / "album")  # a directory in another root
    (root / "dangling.jpg").symlink_to(tmp_path / "missing.jpg")
    (other_root / "album" / "back").symlink_to(root)  # from the other root back into this one
    assert _names(root, [root, other_root]) == ["alias.jpg", "real.jpg", "linked_album/o.jpg"]
    assert _names(root, [root]) == ["alias.jpg", "real.jpg"]


def test_unreadable_folder_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "lib"
    _touch(root / "locked" / "x.jpg")
    _touch(root / "open" / "y.jpg")
    real_scandir = os.scandir

    def scandir(path: Path) -> object:
        if Path(path).name == "locked":  # running as root, chmod would not stop us: simulate it
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert _names(root, [root]) == ["open/y.jpg"]


def test_a_file_target_yields_itself(tmp_path: Path) -> None:
    photo = _touch(tmp_path / "lib" / "p.jpg")
    assert [f.path for f in scan(photo, [tmp_path / "lib"])] == [photo]


def test_inside_picks_the_deepest_root(tmp_path: Path) -> None:
    outer, inner = tmp_path, tmp_path / "photos"
    assert inside(inner / "a" / "b.jpg", [outer, inner]) == inner
    assert inside(tmp_path.parent, [outer, inner]) is None
