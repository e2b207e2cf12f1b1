"""gRPC Library service (imgsearch.api.v1.Library): the REST browse and duplicates operations, same checks."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from imgsearch.api.v1 import library_pb2 as pb
from imgsearch.api.v1 import library_pb2_grpc
from imgsearch.gateway.api.grpc_errors import answer
from imgsearch.gateway.library import LibraryCatalog
from imgsearch.search.domain import thumbnail_url

Context: TypeAlias = grpc.aio.ServicerContext
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Library"].full_name


class LibraryServicer(library_pb2_grpc.LibraryServicer):
    def __init__(self, catalog: LibraryCatalog) -> None:
        self.catalog = catalog

    async def Browse(self, request: pb.BrowseRequest, context: Context) -> pb.BrowseResponse:
        browsed = self.catalog.browse(request.path or None, request.limit, request.offset)
        listing = await answer(context, browsed)
        return pb.BrowseResponse(
            path=listing.path or "", root=listing.root or "", image_files=listing.image_files,
            total=listing.total,
            directories=[
                pb.Directory(name=d.name, path=d.path, image_files=d.image_files,
                             subdirectories=d.subdirectories)
                for d in listing.directories
            ],
        )

    async def ListDuplicates(self, request: pb.ListDuplicatesRequest, context: Context
                             ) -> pb.ListDuplicatesResponse:
        page = await answer(context, self.catalog.duplicates(request.kind, request.limit, request.offset))
        return pb.ListDuplicatesResponse(total=page.total, groups=[
            pb.DuplicateGroup(kind=group.kind, images=[
                pb.DuplicateImage(image_id=i.image_id, paths=i.paths, thumbnail_url=thumbnail_url(i.image_id),
                                  distance=i.distance)
                for i in group.images
            ])
            for group in page.groups
        ])


def add_library_service(server: grpc.aio.Server, catalog: LibraryCatalog) -> str:
    """Register the servicer; returns its full name (for health and reflection)."""
    library_pb2_grpc.add_LibraryServicer_to_server(  # type: ignore[no-untyped-call]
        LibraryServicer(catalog), server
    )
    return SERVICE_NAME
