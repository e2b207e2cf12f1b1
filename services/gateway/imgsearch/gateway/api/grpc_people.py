"""gRPC People service (imgsearch.api.v1.People): the REST People API's operations, same checks and errors."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from imgsearch.api.v1 import people_pb2 as pb
from imgsearch.api.v1 import people_pb2_grpc
from imgsearch.common.db.people_records import ClusterRecord, FaceRecord, PersonRecord
from imgsearch.gateway.api.grpc_errors import answer
from imgsearch.gateway.people import PeopleService, PersonEdit, crop_url
from imgsearch.search.domain import thumbnail_url
from imgsearch.search.messages import timestamp

Context: TypeAlias = grpc.aio.ServicerContext


class PeopleServicer(people_pb2_grpc.PeopleServicer):
    def __init__(self, people: PeopleService) -> None:
        self.people = people

    # -- people -----------------------------------------------------------------------------------

    async def ListPeople(self, request: pb.ListPeopleRequest, context: Context) -> pb.PeoplePage:
        page = await answer(context, self.people.list_people(
            request.limit, request.offset, include_hidden=request.include_hidden, query=request.query
        ))
        return pb.PeoplePage(people=[person_message(p) for p in page.items], total=page.total)

    async def GetPerson(self, request: pb.GetPersonRequest, context: Context) -> pb.Person:
        return person_message(await answer(context, self.people.person(request.person_id)))

    async def ListPersonFaces(self, request: pb.ListPersonFacesRequest, context: Context) -> pb.FacePage:
        faces = self.people.person_faces(request.person_id, request.limit, request.offset)
        page = await answer(context, faces)
        return pb.FacePage(faces=[face_message(f) for f in page.items], total=page.total)

    async def ListPersonPhotos(self, request: pb.ListPersonPhotosRequest, context: Context) -> pb.PhotoPage:
        photo_ids = self.people.person_photos(request.person_id, request.limit, request.offset)
        page = await answer(context, photo_ids)
        photos = [pb.Photo(image_id=i, thumbnail_url=thumbnail_url(i)) for i in page.items]
        return pb.PhotoPage(photos=photos, total=page.total)

    async def CreatePerson(self, request: pb.CreatePersonRequest, context: Context) -> pb.Person:
        created = self.people.create_person(request.name, request.face_ids)
        return person_message(await answer(context, created))

    async def UpdatePerson(self, request: pb.UpdatePersonRequest, context: Context) -> pb.Person:
        edit = PersonEdit(
            name=request.name if request.HasField("name") else None,
            hidden=request.hidden if request.HasField("hidden") else None,
            birth_date=request.birth_date if request.HasField("birth_date") else None,
        )
        return person_message(await answer(context, self.people.update_person(request.person_id, edit)))

    async def MergePeople(self, request: pb.MergePeopleRequest, context: Context) -> pb.Person:
        merged = self.people.merge_people(request.person_id, request.source_ids)
        return person_message(await answer(context, merged))

    # -- clusters ---------------------------------------------------------------------------------

    async def ListClusters(self, request: pb.ListClustersRequest, context: Context) -> pb.ClusterPage:
        page = await answer(context, self.people.list_clusters(
            request.limit, request.offset, min_size=request.min_size, include_hidden=request.include_hidden
        ))
        return pb.ClusterPage(clusters=[cluster_message(c) for c in page.items], total=page.total)

    async def GetCluster(self, request: pb.GetClusterRequest, context: Context) -> pb.ClusterMembers:
        cluster, members = await answer(
            context, self.people.cluster(request.cluster_id, request.limit, request.offset)
        )
        faces = [face_message(f) for f in members.items]
        return pb.ClusterMembers(cluster=cluster_message(cluster), faces=faces, total=members.total)

    async def LabelCluster(self, request: pb.LabelClusterRequest, context: Context) -> pb.Person:
        target = request.WhichOneof("target")
        labeled = self.people.label_cluster(
            request.cluster_id, name=request.name if target == "name" else None,
            person_id=request.person_id if target == "person_id" else None,
        )
        return person_message(await answer(context, labeled))

    async def UpdateCluster(self, request: pb.UpdateClusterRequest, context: Context) -> pb.Cluster:
        hidden = request.hidden if request.HasField("hidden") else None
        return cluster_message(await answer(context, self.people.update_cluster(request.cluster_id, hidden)))

    async def RunClustering(
        self, request: pb.RunClusteringRequest, context: Context
    ) -> pb.RunClusteringResponse:
        request_id = await answer(context, self.people.request_clustering(request.full))
        return pb.RunClusteringResponse(request_id=request_id, full=request.full)

    # -- faces ------------------------------------------------------------------------------------

    async def GetFace(self, request: pb.GetFaceRequest, context: Context) -> pb.Face:
        return face_message(await answer(context, self.people.face(request.face_id)))

    async def GetFaceCrop(self, request: pb.GetFaceRequest, context: Context) -> pb.FaceCrop:
        face_id, jpeg = await answer(context, self.people.face_crop_bytes(request.face_id))
        return pb.FaceCrop(face_id=face_id, jpeg=jpeg)

    async def AssignFace(self, request: pb.AssignFaceRequest, context: Context) -> pb.Face:
        assigned = self.people.assign_face(request.face_id, request.person_id)
        return face_message(await answer(context, assigned))

    async def UnassignFace(self, request: pb.FaceRequest, context: Context) -> pb.Face:
        return face_message(await answer(context, self.people.unassign_face(request.face_id)))

    async def RejectFace(self, request: pb.RejectFaceRequest, context: Context) -> pb.Face:
        rejected = self.people.reject_face(request.face_id, request.person_id)
        return face_message(await answer(context, rejected))

    async def RemoveFaceFromCluster(self, request: pb.FaceRequest, context: Context) -> pb.Face:
        return face_message(await answer(context, self.people.remove_from_cluster(request.face_id)))

    async def PinFace(self, request: pb.PinFaceRequest, context: Context) -> pb.Face:
        return face_message(await answer(context, self.people.pin_face(request.face_id, request.pinned)))

    async def ListImageFaces(self, request: pb.ListImageFacesRequest, context: Context) -> pb.ImageFaces:
        listed = self.people.image_faces_page(request.image_id, request.limit, request.offset)
        image_id, page = await answer(context, listed)
        return pb.ImageFaces(image_id=image_id, faces=[face_message(f) for f in page.items], total=page.total)


def face_message(face: FaceRecord) -> pb.Face:
    x1, y1, x2, y2 = face.box
    message = pb.Face(
        face_id=face.id, image_id=face.image_id, box=pb.FaceBox(x1=x1, y1=y1, x2=x2, y2=y2),
        det_score=face.det_score, quality=face.quality, sex=face.sex or "", person_id=face.person_id or 0,
        person_name=face.person_name or "", assigned_by=face.assigned_by or "",
        confidence=face.confidence or 0.0, cluster_id=face.cluster_id or 0, era=face.era or "",
        prototype=face.prototype, pinned=face.pinned, crop_url=face.crop_url if face.crop_path else "",
        thumbnail_url=thumbnail_url(face.image_id),
    )
    if face.age is not None:
        message.age = face.age
    if face.taken_at is not None:
        message.taken_at.CopyFrom(timestamp(face.taken_at))
    return message


def person_message(person: PersonRecord) -> pb.Person:
    cover = person.cover_face_id or ""
    return pb.Person(
        person_id=person.id, name=person.name, hidden=person.hidden,
        birth_date=person.birth_date.isoformat() if person.birth_date else "", face_count=person.face_count,
        photo_count=person.photo_count, cover_face_id=cover,
        cover_crop_url=crop_url(cover) if cover else "", eras=person.eras,
    )


def cluster_message(cluster: ClusterRecord) -> pb.Cluster:
    return pb.Cluster(
        cluster_id=cluster.id, size=cluster.size, hidden=cluster.hidden,
        samples=[face_message(f) for f in cluster.samples],
    )

