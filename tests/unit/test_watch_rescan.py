"""One watcher pass (LibraryRescan) over a real tmp tree, with fakes at its ports (files table, sessions,
bus): new, changed, touched, moved, deleted and excluded files, and the guards that keep rows."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from google.protobuf.message import Message

from imgsearch.common.errors import Unavailable
from imgsearch.common.ids import content_hash
from imgsearch.common.subjects import IMAGES_DELETED
from imgsearch.events.v1.events_pb2 import ImageDeleted
from imgsearch.ingest.rescan import LibraryRescan
from imgsearch.ingest.scan import PathFilter, ScannedFile
from imgsearch.ingest.watch_repository import FileRow, Removal


@dataclass
class FakeStore:
    """The files/images tables as the watcher sees them; remove() follows WatchRepository's rules."""

    # path → (root, size, mtime_ns, image id)
    files: dict[str, tuple[str, int, int, str | None]] = field(default_factory=dict)
    images: dict[str, int] = field(default_factory=dict)  # id → size
    faces: dict[str, list[tuple[str, int | None]]] = field(default_factory=dict)
    queued_files: set[tuple[str, int, int]] = field(default_factory=set)

    def ingest(self, path: Path, root: Path) -> str:
        stat = path.stat()
        image_id = content_hash(path)
        self.files[str(path)] = (str(root), stat.st_size, stat.st_mtime_ns, image_id)
        self.images[image_id] = stat.st_size
        return image_id

    async def rows(self, paths: Sequence[str]) -> dict[str, FileRow]:
        return {p: FileRow(p, *self.files[p][1:]) for p in paths if p in self.files}

    async def queued(self, paths: Sequence[str]) -> set[tuple[str, int, int]]:
        return {q for q in self.queued_files if q[0] in paths}

    async def rows_under(self, root: str, folder: str, batch: int) -> AsyncIterator[list[FileRow]]:
        prefix = folder.rstrip("/") + "/"
        paths = sorted(p for p, row in self.files.items() if row[0] == root and p.startswith(prefix))
        for start in range(0, len(paths), batch):
            yield [FileRow(p, *self.files[p][1:]) for p in paths[start:start + batch]]

    async def imported_folders(self, root: str) -> set[str]:
        return {str(Path(p).parent) for p, row in self.files.items() if row[0] == root}

    async def image_sizes(self, image_ids: Sequence[str]) -> dict[str, int]:
        return {i: self.images[i] for i in image_ids if i in self.images}

    async def rows_of_size(self, scopes: Sequence[tuple[str, str]], sizes: Sequence[int]
                           ) -> list[tuple[int, FileRow]]:
        return [(self.images[row[3]], FileRow(p, *row[1:])) for p, row in sorted(self.files.items())
                if row[3] is not None and self.images.get(row[3]) in sizes
                and any(row[0] == r and p.startswith(f.rstrip("/") + "/") for r, f in scopes)]

    async def move(self, old_path: str, file: ScannedFile, root: Path) -> bool:
        row = self.files.pop(old_path, None)
        if row is None:
            return False
        self.files[str(file.path)] = (str(root), file.size, file.mtime_ns, row[3])
        return True

    async def touch(self, file: ScannedFile) -> None:
        root, _, _, image_id = self.files[str(file.path)]
        self.files[str(file.path)] = (root, file.size, file.mtime_ns, image_id)

    async def remove(self, path: str) -> Removal | None:
        row = self.files.pop(path, None)
        if row is None or row[3] is None:
            return None
        image_id = row[3]
        remaining = tuple((p, r[0]) for p, r in sorted(self.files.items()) if r[3] == image_id)
        if remaining:
            return Removal(path, image_id, False, remaining=remaining)
        self.images.pop(image_id, None)
        faces = self.faces.pop(image_id, [])
        return Removal(path, image_id, True, None, tuple(f for f, _ in faces),
                       tuple(sorted({p for _, p in faces if p is not None})))


@dataclass
class FakeSessions:
    """Watch sessions: (root, origin, every file given) per session, each call's file count, and which
    sessions were closed and when (the file count they held then)."""

    created: list[tuple[Path, str, list[Path]]] = field(default_factory=list)
    chunks: list[list[int]] = field(default_factory=list)
    closed: dict[int, int] = field(default_factory=dict)

    async def open(self, root: Path, priority: str, files: Sequence[ScannedFile]) -> int:
        self.created.append((root, "watch", sorted(f.path for f in files)))
        self.chunks.append([len(files)])
        return len(self.created)

    async def add(self, session_id: int, files: Sequence[ScannedFile]) -> bool:
        if session_id in self.closed:
            return False
        root, origin, paths = self.created[session_id - 1]
        self.created[session_id - 1] = (root, origin, sorted([*paths, *(f.path for f in files)]))
        self.chunks[session_id - 1].append(len(files))
        return True

    async def close(self, session_id: int) -> None:
        self.closed[session_id] = len(self.created[session_id - 1][2])

    async def close_left_open(self, roots: Sequence[Path] | None = None) -> list[int]:
        left = [i for i in range(1, len(self.created) + 1) if i not in self.closed
                and (roots is None or self.created[i - 1][0] in roots)]
        for session_id in left:
            await self.close(session_id)
        return left


@dataclass
class FakeBus:
    published: list[tuple[str, ImageDeleted, str]] = field(default_factory=list)
    down: bool = False

    async def publish(self, subject: str, message: Message | bytes, msg_id: str) -> bool:
        assert isinstance(message, ImageDeleted)
        if self.down:
            raise Unavailable("JetStream publish failed: the server is away")
        self.published.append((subject, message, msg_id))
        return True


@dataclass
class World:
    root: Path
    store: FakeStore
    sessions: FakeSessions
    bus: FakeBus
    rescan: LibraryRescan


def world(tmp_path: Path, import_new_folders: bool = False, chunk: int = 512) -> World:
    root = (tmp_path / "library").resolve()
    (root / "2023").mkdir(parents=True)
    (root / "2024").mkdir()
    for name, content in [("2023/a.jpg", b"aaa"), ("2023/b.jpg", b"bbbb"), ("2024/c.jpg", b"ccccc")]:
        (root / name).write_bytes(content)
    store, sessions, bus = FakeStore(), FakeSessions(), FakeBus()
    for name in ("2023/a.jpg", "2023/b.jpg", "2024/c.jpg"):
        store.ingest(root / name, root)
    rescan = LibraryRescan([root], PathFilter.of([], [".*", "*.xmp"]), store, sessions, bus,
                           tmp_path / "thumbnails", import_new_folders=import_new_folders, chunk=chunk)
    return World(root, store, sessions, bus, rescan)


async def test_an_unchanged_library_changes_nothing(tmp_path: Path) -> None:
    w = world(tmp_path)
    report = await w.rescan.run()
    assert report.quiet and report.scanned == 3
    assert w.sessions.created == [] and w.bus.published == []


async def test_new_files_in_imported_folders_go_to_one_watch_session(tmp_path: Path) -> None:
    w = world(tmp_path)
    (w.root / "2023" / "d.jpg").write_bytes(b"dd")
    (w.root / "2023" / "trip").mkdir()
    (w.root / "2023" / "trip" / "e.jpg").write_bytes(b"ee")
    (w.root / "2023" / ".hidden.jpg").write_bytes(b"hh")  # excluded
    (w.root / "2023" / "d.xmp").write_bytes(b"<x/>")  # excluded
    (w.root / "elsewhere").mkdir()
    (w.root / "elsewhere" / "f.jpg").write_bytes(b"ff")  # a folder never imported
    report = await w.rescan.run()
    assert report.new == 2
    assert w.sessions.created == [(w.root, "watch", [w.root / "2023" / "d.jpg", w.root / "2023/trip/e.jpg"])]


async def test_import_new_folders_takes_everything_under_the_roots(tmp_path: Path) -> None:
    w = world(tmp_path, import_new_folders=True)
    (w.root / "elsewhere").mkdir()
    (w.root / "elsewhere" / "f.jpg").write_bytes(b"ff")
    await w.rescan.run()
    assert w.sessions.created == [(w.root, "watch", [w.root / "elsewhere" / "f.jpg"])]


async def test_a_file_queued_in_an_open_session_is_not_queued_again(tmp_path: Path) -> None:
    w = world(tmp_path)
    new = w.root / "2023" / "d.jpg"
    new.write_bytes(b"dd")
    w.store.queued_files.add((str(new), new.stat().st_size, new.stat().st_mtime_ns))
    assert (await w.rescan.run()).quiet and w.sessions.created == []


async def test_a_deleted_file_removes_its_image_and_says_so(tmp_path: Path) -> None:
    w = world(tmp_path)
    path = w.root / "2024" / "c.jpg"
    image_id = w.store.files[str(path)][3]
    assert image_id is not None
    w.store.faces[image_id] = [("face-1", 7), ("face-2", None)]
    path.unlink()
    report = await w.rescan.run()
    assert (report.removed, report.images_removed) == (1, 1)
    assert image_id not in w.store.images and str(path) not in w.store.files
    [(subject, event, _)] = w.bus.published
    assert subject == IMAGES_DELETED
    assert (event.image_id, event.path, event.reason) == (image_id, str(path), "deleted")
    assert event.image_removed
    assert list(event.face_ids) == ["face-1", "face-2"] and list(event.person_ids) == [7]


async def test_a_deletion_the_bus_missed_is_announced_in_the_next_pass(tmp_path: Path) -> None:
    w = world(tmp_path)
    path = w.root / "2024" / "c.jpg"
    image_id = w.store.files[str(path)][3]
    path.unlink()
    w.bus.down = True
    with pytest.raises(Unavailable):
        await w.rescan.run()
    assert str(path) not in w.store.files  # the row went before the publish failed
    w.bus.down = False
    await w.rescan.run()
    [(_, event, _)] = w.bus.published
    assert (event.image_id, event.path, event.reason, event.image_removed) == (image_id, str(path), "deleted",
                                                                               True)


async def test_deleting_one_copy_keeps_the_image(tmp_path: Path) -> None:
    w = world(tmp_path)
    copy = w.root / "2024" / "a-copy.jpg"
    shutil.copy2(w.root / "2023" / "a.jpg", copy)
    image_id = w.store.ingest(copy, w.root)
    (w.root / "2023" / "a.jpg").unlink()
    await w.rescan.run()
    [(_, event, _)] = w.bus.published
    assert (event.image_id, event.image_removed, event.reason) == (image_id, False, "deleted")
    assert image_id in w.store.images and str(copy) in w.store.files


async def test_a_moved_file_keeps_its_image_and_only_its_path_changes(tmp_path: Path) -> None:
    w = world(tmp_path)
    old = w.root / "2023" / "b.jpg"
    image_id = w.store.files[str(old)][3]
    (w.root / "2024" / "moved").mkdir()
    new = w.root / "2024" / "moved" / "b.jpg"
    os.rename(old, new)
    report = await w.rescan.run()
    assert (report.moved, report.new, report.images_removed) == (1, 0, 0)
    assert w.sessions.created == []
    assert str(old) not in w.store.files and w.store.files[str(new)][3] == image_id
    [(_, event, _)] = w.bus.published
    assert (event.reason, event.image_removed, event.moved_to) == ("moved", False, str(new))


async def test_a_move_that_finds_its_row_gone_queues_the_file_as_new(tmp_path: Path) -> None:
    w = world(tmp_path)
    old, new = w.root / "2023" / "b.jpg", w.root / "2023" / "b-renamed.jpg"
    os.rename(old, new)
    moves = w.store.move

    async def row_gone_meanwhile(old_path: str, file: ScannedFile, root: Path) -> bool:
        w.store.files.pop(old_path)  # another removal got there first
        return await moves(old_path, file, root)

    w.store.move = row_gone_meanwhile  # type: ignore[method-assign]
    report = await w.rescan.run()
    assert (report.moved, report.new) == (0, 1)
    assert w.sessions.created == [(w.root, "watch", [new])]


async def test_a_moved_folder_moves_every_file_in_it(tmp_path: Path) -> None:
    w = world(tmp_path)
    os.rename(w.root / "2023", w.root / "2024" / "old-2023")
    report = await w.rescan.run([w.root / "2023", w.root / "2024"])  # the folders inotify would name
    assert (report.moved, report.removed, report.new) == (2, 0, 0)
    assert sorted(w.store.files) == sorted(str(w.root / p) for p in ("2024/c.jpg", "2024/old-2023/a.jpg",
                                                                     "2024/old-2023/b.jpg"))


async def test_a_file_moved_to_a_folder_never_imported_is_still_a_move(tmp_path: Path) -> None:
    w = world(tmp_path)
    (w.root / "elsewhere").mkdir()
    os.rename(w.root / "2024" / "c.jpg", w.root / "elsewhere" / "c.jpg")
    report = await w.rescan.run()
    assert (report.moved, report.images_removed, report.new) == (1, 0, 0)
    assert str(w.root / "elsewhere" / "c.jpg") in w.store.files


async def test_a_touched_file_only_updates_its_row(tmp_path: Path) -> None:
    w = world(tmp_path)
    path = w.root / "2023" / "a.jpg"
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    report = await w.rescan.run()
    assert (report.touched, report.changed) == (1, 0)
    assert w.store.files[str(path)][2] == 1_000_000_000 and w.sessions.created == []


async def test_a_changed_file_drops_the_old_content_and_ingests_the_new(tmp_path: Path) -> None:
    w = world(tmp_path)
    path = w.root / "2023" / "a.jpg"
    old_id = w.store.files[str(path)][3]
    path.write_bytes(b"new content")
    report = await w.rescan.run()
    assert (report.changed, report.images_removed) == (1, 1)
    [(_, event, _)] = w.bus.published
    assert (event.image_id, event.reason, event.image_removed) == (old_id, "changed", True)
    assert w.sessions.created == [(w.root, "watch", [path])]


async def test_an_excluded_or_unreadable_file_that_still_exists_is_kept(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.rescan.path_filter = PathFilter.of([], ["2024"])  # the folder is excluded now, its file still there
    report = await w.rescan.run()
    assert report.removed == 0 and str(w.root / "2024" / "c.jpg") in w.store.files


async def test_an_empty_or_missing_root_removes_nothing(tmp_path: Path) -> None:
    w = world(tmp_path)
    shutil.rmtree(w.root)
    w.root.mkdir()  # an unmounted drive's mount point
    assert (await w.rescan.run()).quiet
    w.root.rmdir()
    assert (await w.rescan.run()).quiet
    assert len(w.store.files) == 3 and w.bus.published == []


async def test_a_folder_pass_only_looks_inside_that_folder(tmp_path: Path) -> None:
    w = world(tmp_path)
    (w.root / "2023" / "a.jpg").unlink()
    (w.root / "2024" / "c.jpg").unlink()
    report = await w.rescan.run([w.root / "2024"])
    assert report.removed == 1 and str(w.root / "2023" / "a.jpg") in w.store.files


async def test_a_pass_larger_than_its_chunk_fills_one_session_chunk_by_chunk(tmp_path: Path) -> None:
    w = world(tmp_path, chunk=5)
    (w.root / "2023" / "trip").mkdir()
    new = [w.root / "2023" / "trip" / f"n{i:02}.jpg" for i in range(12)]
    for i, path in enumerate(new):
        path.write_bytes(b"new %d" % i)
    # Moves whose old rows lie in a chunk walked before or after their new paths.
    os.rename(w.root / "2024" / "c.jpg", w.root / "2023" / "trip" / "zz-c.jpg")
    os.rename(w.root / "2023" / "b.jpg", w.root / "2024" / "b.jpg")
    report = await w.rescan.run()
    assert (report.new, report.moved, report.removed, report.images_removed) == (12, 2, 0, 0)
    assert report.sessions == [1] and w.sessions.created == [(w.root, "watch", sorted(new))]
    assert len(w.sessions.chunks[0]) > 1 and max(w.sessions.chunks[0]) <= 5
    assert w.sessions.closed == {1: 12}  # closed once, after its last chunk
    assert str(w.root / "2023" / "trip" / "zz-c.jpg") in w.store.files
    assert str(w.root / "2024" / "b.jpg") in w.store.files
    assert sorted(e.reason for _, e, _ in w.bus.published) == ["moved", "moved"]


async def test_a_session_an_interrupted_pass_left_open_is_closed_by_the_next(tmp_path: Path) -> None:
    w = world(tmp_path, chunk=2)
    for i in range(5):
        (w.root / "2023" / f"n{i}.jpg").write_bytes(b"n%d" % i)
    (w.root / "2024" / "c.jpg").unlink()
    w.bus.down = True  # the removal after the walk fails: the pass stops
    with pytest.raises(Unavailable):
        await w.rescan.run()
    assert w.sessions.closed == {1: 5}  # closed all the same
    w.sessions.closed.clear()  # as if the close had failed too
    for path in w.sessions.created[0][2]:  # pending in session 1
        w.store.queued_files.add((str(path), path.stat().st_size, path.stat().st_mtime_ns))
    w.bus.down = False
    report = await w.rescan.run()
    assert w.sessions.closed == {1: 5} and report.sessions == []  # closed first; its files stay queued
    assert [e.reason for _, e, _ in w.bus.published] == ["deleted"]  # the removal the bus missed
