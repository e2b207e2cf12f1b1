"""REST bodies of the library API (pydantic): the directory browser and the duplicates lists."""

from __future__ import annotations

from pydantic import BaseModel, Field

from imgsearch.common.db.duplicates import DuplicateGroup as GroupRecord
from imgsearch.common.db.duplicates import DuplicatePage
from imgsearch.gateway.browse import DirectoryEntry, Listing
from imgsearch.search.domain import thumbnail_url


class Directory(BaseModel):
    name: str
    path: str
    image_files: int = Field(description="image-like files below it, recursive (hidden, sidecar and video "
                             "files not counted)")
    subdirectories: int = Field(description="immediate subdirectories")

    @classmethod
    def from_entry(cls, entry: DirectoryEntry) -> Directory:
        return cls(name=entry.name, path=entry.path, image_files=entry.image_files,
                   subdirectories=entry.subdirectories)


class BrowseListing(BaseModel):
    path: str | None = Field(description="the folder listed; null for the library roots")
    root: str | None = Field(description="its library root; null for the roots")
    directories: list[Directory] = Field(description="this page of its subdirectories, by name")
    image_files: int = Field(description="image-like files below path (or every root), recursive")
    total: int = Field(description="subdirectories of path (or library roots), whatever the page")

    @classmethod
    def from_listing(cls, listing: Listing) -> BrowseListing:
        return cls(path=listing.path, root=listing.root, image_files=listing.image_files, total=listing.total,
                   directories=[Directory.from_entry(e) for e in listing.directories])


class DuplicateImage(BaseModel):
    image_id: str
    paths: list[str]
    thumbnail_url: str
    distance: int = Field(description="perceptual-hash bits to the group's first image (0 for exact)")


class DuplicateGroup(BaseModel):
    kind: str = Field(description="exact: one image at several paths; near: similar images, largest first")
    images: list[DuplicateImage]

    @classmethod
    def from_record(cls, group: GroupRecord) -> DuplicateGroup:
        return cls(kind=group.kind, images=[
            DuplicateImage(image_id=i.image_id, paths=i.paths, thumbnail_url=thumbnail_url(i.image_id),
                           distance=i.distance)
            for i in group.images
        ])


class DuplicateGroups(BaseModel):
    groups: list[DuplicateGroup]
    total: int = Field(description="groups of that kind")

    @classmethod
    def from_page(cls, page: DuplicatePage) -> DuplicateGroups:
        return cls(groups=[DuplicateGroup.from_record(g) for g in page.groups], total=page.total)
