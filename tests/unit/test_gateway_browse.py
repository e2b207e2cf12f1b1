"""The directory browser over a real temporary tree: recursive counts of image files, the ingest's exclude
patterns, links inside and outside the roots, refusals, and the mtime-checked, bounded cache."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from imgsearch.common.errors import InvalidInput, NotFound, OutsideLibrary
from imgsearch.common.settings import IngestSettings
from imgsearch.gateway.browse import DirectoryBrowser, Listing
from imgsearch.gateway.files import LibraryRoots

EXCLUDE = IngestSettings().exclude


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


def age(tree: Path) -> None:
    """Move every directory's mtime an hour back: listings of it may be cached."""
    past = time.time() - 3600
    for folder in [tree, *(p for p in tree.rglob("*") if p.is_dir() and not p.is_symlink())]:
        os.utime(folder, (past, past))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    library = tmp_path / "library"
    for name in ("2020/a.jpg", "2020/b.PNG", "2020/.hidden.jpg", "2020/a.xmp", "2020/clip.mov",
                 "2020/notes.txt", "2020/summer/c.heic", "2020/@eaDir/d.jpg", "2020/.thumbs/e.jpg",
                 "../outside/secret.jpg", "../outside/deep/f.jpg"):
        touch(library / name)
    (library / "2021").mkdir()
    (library / "escape").symlink_to(tmp_path / "outside")  # a link that leads out of the root
    (library / "escape.jpg").symlink_to(tmp_path / "outside" / "secret.jpg")
    (library / "inner").symlink_to(library / "2020" / "summer")  # a link that stays inside
    (library / "2020" / "summer" / "loop").symlink_to(library / "2020")  # back up: counted once
    age(tmp_path)
    return library


def browser(library: Path, max_cached: int = 1000) -> DirectoryBrowser:
    return DirectoryBrowser(LibraryRoots([library]), EXCLUDE, max_cached)


def counts(listing: Listing) -> dict[str, tuple[int, int]]:
    return {d.name: (d.image_files, d.subdirectories) for d in listing.directories}


async def test_roots_and_folders_with_recursive_counts(tree: Path) -> None:
    b = browser(tree)
    roots = await b.browse(None)
    assert (roots.path, roots.root, roots.image_files) == (None, None, 3)
    assert [(d.name, d.path, d.image_files) for d in roots.directories] == [("library", str(tree), 3)]

    top = await b.browse(str(tree))
    assert (top.path, top.root, top.image_files) == (str(tree), str(tree), 3)
    # hidden, NAS, sidecar, video and text files do not count; the link out is not listed
    assert counts(top) == {"2020": (3, 1), "2021": (0, 0), "inner": (3, 1)}
    assert next(d for d in top.directories if d.name == "inner").path == str(tree / "inner")

    summer = await b.browse(str(tree / "2020" / "summer"))
    assert (summer.image_files, counts(summer)) == (3, {"loop": (2, 1)})
    assert (await b.browse(str(tree / "2021"))).directories == []


@pytest.mark.parametrize(("path", "error"), [
    ("{tree}/../outside", OutsideLibrary),
    ("{tree}/2020/../../outside", OutsideLibrary),
    ("{tree}/../library/2020", OutsideLibrary),  # '..' is refused even when it leads back inside
    ("{outside}", OutsideLibrary),
    ("{tree}/escape", OutsideLibrary),
    ("{tree}/escape/deep", OutsideLibrary),
    ("/", OutsideLibrary),
    ("{tree}/missing", NotFound),
    ("{tree}/2020/a.jpg", InvalidInput),
    ("{tree}/bad\x00name", InvalidInput),
])
async def test_paths_outside_the_roots_missing_or_odd_are_refused(
        tree: Path, path: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        await browser(tree).browse(path.format(tree=tree, outside=tree.parent / "outside"))


async def test_counts_follow_changes_and_unchanged_folders_come_from_the_cache(tree: Path) -> None:
    b = browser(tree)
    assert (await b.browse(str(tree))).image_files == 3
    touch(tree / "2020" / "summer" / "new.jpg")  # the folder's mtime moves: listed again
    (tree / "2021" / "g.webp").write_bytes(b"x")
    top = await b.browse(str(tree))
    assert (top.image_files, counts(top)["2020"], counts(top)["2021"]) == (5, (4, 1), (1, 0))
    (tree / "2020" / "b.PNG").unlink()
    assert (await b.browse(str(tree))).image_files == 4

    # a file added while the folder's mtime is put back is not seen: the cached listing was used
    age(tree)
    assert (await b.browse(str(tree))).image_files == 4
    stat = (tree / "2021").stat()
    touch(tree / "2021" / "h.jpg")
    os.utime(tree / "2021", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (await b.browse(str(tree))).image_files == 4
    # ... a fresh browser lists it
    assert (await browser(tree).browse(str(tree))).image_files == 5


async def test_a_removed_folder_disappears_and_the_cache_stays_bounded(tree: Path) -> None:
    b = browser(tree, max_cached=2)
    await b.browse(str(tree))
    assert len(b._cache) <= 2
    for name in ("c.heic", "loop"):
        (tree / "2020" / "summer" / name).unlink()
    (tree / "2020" / "summer").rmdir()
    top = await b.browse(str(tree))
    assert counts(top) == {"2020": (2, 0), "2021": (0, 0)}  # inner now dangles: not a folder
    for gone in ("2020/summer", "inner"):
        with pytest.raises(NotFound):
            await b.browse(str(tree / gone))
