"""REST routes of the People API: people, clusters, faces and an image's faces (mounted by api/http.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from imgsearch.gateway.api import people_schemas as s
from imgsearch.gateway.paging import DEFAULT_PAGE, MAX_OFFSET, MAX_PAGE
from imgsearch.gateway.people import MAX_NAME_CHARS, PeopleService, PersonEdit

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]
IncludeHidden = Annotated[bool, Query(description="list hidden ones too")]


def people_routes(people: PeopleService, errors: dict[int | str, dict[str, Any]]) -> APIRouter:
    router = APIRouter(prefix="/api/v1", responses=errors)
    _people(router, people)
    _clusters(router, people)
    _faces(router, people)
    return router


def _people(router: APIRouter, people: PeopleService) -> None:
    @router.get("/people", response_model=s.PeoplePage, tags=["people"])
    async def list_people(
        limit: Limit = DEFAULT_PAGE, offset: Offset = 0, include_hidden: IncludeHidden = False,
        q: Annotated[str, Query(max_length=MAX_NAME_CHARS, description="part of the name")] = "",
    ) -> s.PeoplePage:
        page = await people.list_people(limit, offset, include_hidden=include_hidden, query=q)
        return s.PeoplePage.from_page(page, limit, offset)

    @router.post("/people", status_code=201, response_model=s.Person, tags=["people"])
    async def create_person(body: s.CreatePerson) -> s.Person:
        return s.Person.from_record(await people.create_person(body.name, body.face_ids))

    @router.get("/people/{person_id}", response_model=s.Person, tags=["people"])
    async def get_person(person_id: int) -> s.Person:
        return s.Person.from_record(await people.person(person_id))

    @router.patch("/people/{person_id}", response_model=s.Person, tags=["people"])
    async def update_person(person_id: int, body: s.UpdatePerson) -> s.Person:
        birth_date = body.birth_date
        if "birth_date" in body.model_fields_set and birth_date is None:
            birth_date = ""  # null: clear it
        edit = PersonEdit(name=body.name, hidden=body.hidden, birth_date=birth_date)
        return s.Person.from_record(await people.update_person(person_id, edit))

    @router.post("/people/{person_id}/merge", response_model=s.Person, tags=["people"])
    async def merge_people(person_id: int, body: s.MergePeople) -> s.Person:
        return s.Person.from_record(await people.merge_people(person_id, body.source_ids))

    @router.get("/people/{person_id}/faces", response_model=s.FacePage, tags=["people"])
    async def person_faces(person_id: int, limit: Limit = DEFAULT_PAGE, offset: Offset = 0) -> s.FacePage:
        return s.FacePage.from_page(await people.person_faces(person_id, limit, offset), limit, offset)

    @router.get("/people/{person_id}/photos", response_model=s.PhotoPage, tags=["people"])
    async def person_photos(person_id: int, limit: Limit = DEFAULT_PAGE, offset: Offset = 0) -> s.PhotoPage:
        return s.PhotoPage.from_page(await people.person_photos(person_id, limit, offset), limit, offset)


def _clusters(router: APIRouter, people: PeopleService) -> None:
    @router.get("/clusters", response_model=s.ClusterPage, tags=["clusters"])
    async def list_clusters(
        limit: Limit = DEFAULT_PAGE, offset: Offset = 0,
        min_size: Annotated[int, Query(ge=1, le=1_000_000, description="smallest cluster listed")] = 2,
        include_hidden: IncludeHidden = False,
    ) -> s.ClusterPage:
        page = await people.list_clusters(limit, offset, min_size=min_size, include_hidden=include_hidden)
        return s.ClusterPage.from_page(page, limit, offset)

    # Declared before /clusters/{cluster_id}: "run" is no cluster id.
    @router.post("/clusters/run", status_code=202, response_model=s.ClusteringAccepted, tags=["clusters"])
    async def run_clustering(body: s.RunClustering | None = None) -> s.ClusteringAccepted:
        full = body.full if body is not None else False
        return s.ClusteringAccepted(request_id=await people.request_clustering(full), full=full)

    @router.get("/clusters/{cluster_id}", response_model=s.ClusterMembers, tags=["clusters"])
    async def get_cluster(
        cluster_id: int, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
    ) -> s.ClusterMembers:
        cluster, members = await people.cluster(cluster_id, limit, offset)
        return s.ClusterMembers.from_records(cluster, members, limit, offset)

    @router.patch("/clusters/{cluster_id}", response_model=s.Cluster, tags=["clusters"])
    async def update_cluster(cluster_id: int, body: s.UpdateCluster) -> s.Cluster:
        return s.Cluster.from_record(await people.update_cluster(cluster_id, body.hidden))

    @router.post("/clusters/{cluster_id}/label", response_model=s.Person, tags=["clusters"])
    async def label_cluster(cluster_id: int, body: s.LabelCluster) -> s.Person:
        person = await people.label_cluster(cluster_id, name=body.name, person_id=body.person_id)
        return s.Person.from_record(person)


def _faces(router: APIRouter, people: PeopleService) -> None:
    @router.get("/faces/{face_id}", response_model=s.Face, tags=["faces"])
    async def get_face(face_id: str) -> s.Face:
        return s.Face.from_record(await people.face(face_id))

    @router.get(
        "/faces/{face_id}/crop", tags=["faces"], response_class=FileResponse,
        responses={200: {"content": {"image/jpeg": {}}}},
    )
    async def face_crop(face_id: str) -> FileResponse:
        path = await people.face_crop(face_id)
        return FileResponse(path, media_type="image/jpeg",
                            headers={"Cache-Control": "private, max-age=86400"})  # no shared cache

    @router.put("/faces/{face_id}/person", response_model=s.Face, tags=["faces"])
    async def assign_face(face_id: str, body: s.FacePerson) -> s.Face:
        return s.Face.from_record(await people.assign_face(face_id, body.person_id))

    @router.delete("/faces/{face_id}/person", response_model=s.Face, tags=["faces"])
    async def unassign_face(face_id: str) -> s.Face:
        return s.Face.from_record(await people.unassign_face(face_id))

    @router.post("/faces/{face_id}/reject", response_model=s.Face, tags=["faces"])
    async def reject_face(face_id: str, body: s.FacePerson) -> s.Face:
        return s.Face.from_record(await people.reject_face(face_id, body.person_id))

    @router.delete("/faces/{face_id}/cluster", response_model=s.Face, tags=["faces"])
    async def remove_from_cluster(face_id: str) -> s.Face:
        return s.Face.from_record(await people.remove_from_cluster(face_id))

    @router.put("/faces/{face_id}/pin", response_model=s.Face, tags=["faces"])
    async def pin_face(face_id: str) -> s.Face:
        return s.Face.from_record(await people.pin_face(face_id, True))

    @router.delete("/faces/{face_id}/pin", response_model=s.Face, tags=["faces"])
    async def unpin_face(face_id: str) -> s.Face:
        return s.Face.from_record(await people.pin_face(face_id, False))

    @router.get("/images/{image_id}/faces", response_model=s.ImageFaces, tags=["images"])
    async def image_faces(image_id: str, limit: Limit = DEFAULT_PAGE, offset: Offset = 0) -> s.ImageFaces:
        image, page = await people.image_faces_page(image_id, limit, offset)
        faces = [s.Face.from_record(f) for f in page.items]
        return s.ImageFaces(image_id=image, faces=faces, total=page.total)
