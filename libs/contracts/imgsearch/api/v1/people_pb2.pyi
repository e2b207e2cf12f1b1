import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FaceBox(_message.Message):
    __slots__ = ("x1", "y1", "x2", "y2")
    X1_FIELD_NUMBER: _ClassVar[int]
    Y1_FIELD_NUMBER: _ClassVar[int]
    X2_FIELD_NUMBER: _ClassVar[int]
    Y2_FIELD_NUMBER: _ClassVar[int]
    x1: int
    y1: int
    x2: int
    y2: int
    def __init__(self, x1: _Optional[int] = ..., y1: _Optional[int] = ..., x2: _Optional[int] = ..., y2: _Optional[int] = ...) -> None: ...

class Face(_message.Message):
    __slots__ = ("face_id", "image_id", "box", "det_score", "quality", "age", "sex", "person_id", "person_name", "assigned_by", "confidence", "cluster_id", "era", "prototype", "pinned", "taken_at", "crop_url", "thumbnail_url")
    FACE_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    DET_SCORE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    AGE_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_NAME_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_BY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    ERA_FIELD_NUMBER: _ClassVar[int]
    PROTOTYPE_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    TAKEN_AT_FIELD_NUMBER: _ClassVar[int]
    CROP_URL_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_URL_FIELD_NUMBER: _ClassVar[int]
    face_id: str
    image_id: str
    box: FaceBox
    det_score: float
    quality: float
    age: float
    sex: str
    person_id: int
    person_name: str
    assigned_by: str
    confidence: float
    cluster_id: int
    era: str
    prototype: bool
    pinned: bool
    taken_at: _timestamp_pb2.Timestamp
    crop_url: str
    thumbnail_url: str
    def __init__(self, face_id: _Optional[str] = ..., image_id: _Optional[str] = ..., box: _Optional[_Union[FaceBox, _Mapping]] = ..., det_score: _Optional[float] = ..., quality: _Optional[float] = ..., age: _Optional[float] = ..., sex: _Optional[str] = ..., person_id: _Optional[int] = ..., person_name: _Optional[str] = ..., assigned_by: _Optional[str] = ..., confidence: _Optional[float] = ..., cluster_id: _Optional[int] = ..., era: _Optional[str] = ..., prototype: _Optional[bool] = ..., pinned: _Optional[bool] = ..., taken_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., crop_url: _Optional[str] = ..., thumbnail_url: _Optional[str] = ...) -> None: ...

class Person(_message.Message):
    __slots__ = ("person_id", "name", "hidden", "birth_date", "face_count", "photo_count", "cover_face_id", "cover_crop_url", "eras")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    FACE_COUNT_FIELD_NUMBER: _ClassVar[int]
    PHOTO_COUNT_FIELD_NUMBER: _ClassVar[int]
    COVER_FACE_ID_FIELD_NUMBER: _ClassVar[int]
    COVER_CROP_URL_FIELD_NUMBER: _ClassVar[int]
    ERAS_FIELD_NUMBER: _ClassVar[int]
    person_id: int
    name: str
    hidden: bool
    birth_date: str
    face_count: int
    photo_count: int
    cover_face_id: str
    cover_crop_url: str
    eras: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, person_id: _Optional[int] = ..., name: _Optional[str] = ..., hidden: _Optional[bool] = ..., birth_date: _Optional[str] = ..., face_count: _Optional[int] = ..., photo_count: _Optional[int] = ..., cover_face_id: _Optional[str] = ..., cover_crop_url: _Optional[str] = ..., eras: _Optional[_Iterable[str]] = ...) -> None: ...

class Cluster(_message.Message):
    __slots__ = ("cluster_id", "size", "hidden", "samples")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    size: int
    hidden: bool
    samples: _containers.RepeatedCompositeFieldContainer[Face]
    def __init__(self, cluster_id: _Optional[int] = ..., size: _Optional[int] = ..., hidden: _Optional[bool] = ..., samples: _Optional[_Iterable[_Union[Face, _Mapping]]] = ...) -> None: ...

class Photo(_message.Message):
    __slots__ = ("image_id", "thumbnail_url")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_URL_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    thumbnail_url: str
    def __init__(self, image_id: _Optional[str] = ..., thumbnail_url: _Optional[str] = ...) -> None: ...

class ListPeopleRequest(_message.Message):
    __slots__ = ("limit", "offset", "include_hidden", "query")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_HIDDEN_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    limit: int
    offset: int
    include_hidden: bool
    query: str
    def __init__(self, limit: _Optional[int] = ..., offset: _Optional[int] = ..., include_hidden: _Optional[bool] = ..., query: _Optional[str] = ...) -> None: ...

class PeoplePage(_message.Message):
    __slots__ = ("people", "total")
    PEOPLE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    people: _containers.RepeatedCompositeFieldContainer[Person]
    total: int
    def __init__(self, people: _Optional[_Iterable[_Union[Person, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class GetPersonRequest(_message.Message):
    __slots__ = ("person_id",)
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: int
    def __init__(self, person_id: _Optional[int] = ...) -> None: ...

class ListPersonFacesRequest(_message.Message):
    __slots__ = ("person_id", "limit", "offset")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    person_id: int
    limit: int
    offset: int
    def __init__(self, person_id: _Optional[int] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class FacePage(_message.Message):
    __slots__ = ("faces", "total")
    FACES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    faces: _containers.RepeatedCompositeFieldContainer[Face]
    total: int
    def __init__(self, faces: _Optional[_Iterable[_Union[Face, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class ListPersonPhotosRequest(_message.Message):
    __slots__ = ("person_id", "limit", "offset")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    person_id: int
    limit: int
    offset: int
    def __init__(self, person_id: _Optional[int] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class PhotoPage(_message.Message):
    __slots__ = ("photos", "total")
    PHOTOS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    photos: _containers.RepeatedCompositeFieldContainer[Photo]
    total: int
    def __init__(self, photos: _Optional[_Iterable[_Union[Photo, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class CreatePersonRequest(_message.Message):
    __slots__ = ("name", "face_ids")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FACE_IDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    face_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., face_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdatePersonRequest(_message.Message):
    __slots__ = ("person_id", "name", "hidden", "birth_date")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    person_id: int
    name: str
    hidden: bool
    birth_date: str
    def __init__(self, person_id: _Optional[int] = ..., name: _Optional[str] = ..., hidden: _Optional[bool] = ..., birth_date: _Optional[str] = ...) -> None: ...

class MergePeopleRequest(_message.Message):
    __slots__ = ("person_id", "source_ids")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IDS_FIELD_NUMBER: _ClassVar[int]
    person_id: int
    source_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, person_id: _Optional[int] = ..., source_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class ListClustersRequest(_message.Message):
    __slots__ = ("limit", "offset", "min_size", "include_hidden")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    MIN_SIZE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_HIDDEN_FIELD_NUMBER: _ClassVar[int]
    limit: int
    offset: int
    min_size: int
    include_hidden: bool
    def __init__(self, limit: _Optional[int] = ..., offset: _Optional[int] = ..., min_size: _Optional[int] = ..., include_hidden: _Optional[bool] = ...) -> None: ...

class ClusterPage(_message.Message):
    __slots__ = ("clusters", "total")
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    clusters: _containers.RepeatedCompositeFieldContainer[Cluster]
    total: int
    def __init__(self, clusters: _Optional[_Iterable[_Union[Cluster, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class GetClusterRequest(_message.Message):
    __slots__ = ("cluster_id", "limit", "offset")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    limit: int
    offset: int
    def __init__(self, cluster_id: _Optional[int] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ClusterMembers(_message.Message):
    __slots__ = ("cluster", "faces", "total")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    FACES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    cluster: Cluster
    faces: _containers.RepeatedCompositeFieldContainer[Face]
    total: int
    def __init__(self, cluster: _Optional[_Union[Cluster, _Mapping]] = ..., faces: _Optional[_Iterable[_Union[Face, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class LabelClusterRequest(_message.Message):
    __slots__ = ("cluster_id", "name", "person_id")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    name: str
    person_id: int
    def __init__(self, cluster_id: _Optional[int] = ..., name: _Optional[str] = ..., person_id: _Optional[int] = ...) -> None: ...

class UpdateClusterRequest(_message.Message):
    __slots__ = ("cluster_id", "hidden")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    hidden: bool
    def __init__(self, cluster_id: _Optional[int] = ..., hidden: _Optional[bool] = ...) -> None: ...

class RunClusteringRequest(_message.Message):
    __slots__ = ("full",)
    FULL_FIELD_NUMBER: _ClassVar[int]
    full: bool
    def __init__(self, full: _Optional[bool] = ...) -> None: ...

class RunClusteringResponse(_message.Message):
    __slots__ = ("request_id", "full")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    full: bool
    def __init__(self, request_id: _Optional[str] = ..., full: _Optional[bool] = ...) -> None: ...

class GetFaceRequest(_message.Message):
    __slots__ = ("face_id",)
    FACE_ID_FIELD_NUMBER: _ClassVar[int]
    face_id: str
    def __init__(self, face_id: _Optional[str] = ...) -> None: ...

class FaceCrop(_message.Message):
    __slots__ = ("face_id", "jpeg")
    FACE_ID_FIELD_NUMBER: _ClassVar[int]
    JPEG_FIELD_NUMBER: _ClassVar[int]
    face_id: str
    jpeg: bytes
    def __init__(self, face_id: _Optional[str] = ..., jpeg: _Optional[bytes] = ...) -> None: ...

class AssignFaceRequest(_message.Message):
    __slots__ = ("face_id", "person_id")
    FACE_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    face_id: str
    person_id: int
    def __init__(self, face_id: _Optional[str] = ..., person_id: _Optional[int] = ...) -> None: ...

class FaceRequest(_message.Message):
    __slots__ = ("face_id",)
    FACE_ID_FIELD_NUMBER: _ClassVar[int]
    face_id: str
    def __init__(self, face_id: _Optional[str] = ...) -> None: ...

class RejectFaceRequest(_message.Message):
    __slots__ = ("face_id", "person_id")
    FACE_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    face_id: str
    person_id: int
    def __init__(self, face_id: _Optional[str] = ..., person_id: _Optional[int] = ...) -> None: ...

class PinFaceRequest(_message.Message):
    __slots__ = ("face_id", "pinned")
    FACE_ID_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    face_id: str
    pinned: bool
    def __init__(self, face_id: _Optional[str] = ..., pinned: _Optional[bool] = ...) -> None: ...

class ListImageFacesRequest(_message.Message):
    __slots__ = ("image_id", "limit", "offset")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    limit: int
    offset: int
    def __init__(self, image_id: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ImageFaces(_message.Message):
    __slots__ = ("image_id", "faces", "total")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    FACES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    faces: _containers.RepeatedCompositeFieldContainer[Face]
    total: int
    def __init__(self, image_id: _Optional[str] = ..., faces: _Optional[_Iterable[_Union[Face, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...
