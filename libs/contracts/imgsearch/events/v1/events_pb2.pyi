import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImageIngested(_message.Message):
    __slots__ = ("image_id", "path", "library_root", "size_bytes", "width", "height", "format", "taken_at", "folders", "location", "camera", "taken_at_source")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    LIBRARY_ROOT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    TAKEN_AT_FIELD_NUMBER: _ClassVar[int]
    FOLDERS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    CAMERA_FIELD_NUMBER: _ClassVar[int]
    TAKEN_AT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    path: str
    library_root: str
    size_bytes: int
    width: int
    height: int
    format: str
    taken_at: _timestamp_pb2.Timestamp
    folders: _containers.RepeatedScalarFieldContainer[str]
    location: GeoPoint
    camera: str
    taken_at_source: str
    def __init__(self, image_id: _Optional[str] = ..., path: _Optional[str] = ..., library_root: _Optional[str] = ..., size_bytes: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., format: _Optional[str] = ..., taken_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., folders: _Optional[_Iterable[str]] = ..., location: _Optional[_Union[GeoPoint, _Mapping]] = ..., camera: _Optional[str] = ..., taken_at_source: _Optional[str] = ...) -> None: ...

class GeoPoint(_message.Message):
    __slots__ = ("lat", "lon")
    LAT_FIELD_NUMBER: _ClassVar[int]
    LON_FIELD_NUMBER: _ClassVar[int]
    lat: float
    lon: float
    def __init__(self, lat: _Optional[float] = ..., lon: _Optional[float] = ...) -> None: ...

class ImageEmbedded(_message.Message):
    __slots__ = ("image_id", "collection", "model", "pretrained", "dim", "random_weights")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PRETRAINED_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    RANDOM_WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    collection: str
    model: str
    pretrained: str
    dim: int
    random_weights: bool
    def __init__(self, image_id: _Optional[str] = ..., collection: _Optional[str] = ..., model: _Optional[str] = ..., pretrained: _Optional[str] = ..., dim: _Optional[int] = ..., random_weights: _Optional[bool] = ...) -> None: ...

class ImageFailed(_message.Message):
    __slots__ = ("image_id", "path", "stage", "reason", "deliveries")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    path: str
    stage: str
    reason: str
    deliveries: int
    def __init__(self, image_id: _Optional[str] = ..., path: _Optional[str] = ..., stage: _Optional[str] = ..., reason: _Optional[str] = ..., deliveries: _Optional[int] = ...) -> None: ...

class ImageDeleted(_message.Message):
    __slots__ = ("image_id", "path", "reason", "image_removed", "moved_to", "face_ids", "person_ids")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    IMAGE_REMOVED_FIELD_NUMBER: _ClassVar[int]
    MOVED_TO_FIELD_NUMBER: _ClassVar[int]
    FACE_IDS_FIELD_NUMBER: _ClassVar[int]
    PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    path: str
    reason: str
    image_removed: bool
    moved_to: str
    face_ids: _containers.RepeatedScalarFieldContainer[str]
    person_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, image_id: _Optional[str] = ..., path: _Optional[str] = ..., reason: _Optional[str] = ..., image_removed: _Optional[bool] = ..., moved_to: _Optional[str] = ..., face_ids: _Optional[_Iterable[str]] = ..., person_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class IngestRequested(_message.Message):
    __slots__ = ("path", "include", "exclude", "request_id", "session_id", "priority")
    PATH_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    path: str
    include: _containers.RepeatedScalarFieldContainer[str]
    exclude: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    session_id: int
    priority: str
    def __init__(self, path: _Optional[str] = ..., include: _Optional[_Iterable[str]] = ..., exclude: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ..., session_id: _Optional[int] = ..., priority: _Optional[str] = ...) -> None: ...

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

class FaceRef(_message.Message):
    __slots__ = ("face_id", "box", "quality", "person_id", "confidence")
    FACE_ID_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    face_id: str
    box: FaceBox
    quality: float
    person_id: int
    confidence: float
    def __init__(self, face_id: _Optional[str] = ..., box: _Optional[_Union[FaceBox, _Mapping]] = ..., quality: _Optional[float] = ..., person_id: _Optional[int] = ..., confidence: _Optional[float] = ...) -> None: ...

class FacesDetected(_message.Message):
    __slots__ = ("image_id", "backend", "model", "faces")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    FACES_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    backend: str
    model: str
    faces: _containers.RepeatedCompositeFieldContainer[FaceRef]
    def __init__(self, image_id: _Optional[str] = ..., backend: _Optional[str] = ..., model: _Optional[str] = ..., faces: _Optional[_Iterable[_Union[FaceRef, _Mapping]]] = ...) -> None: ...

class FacesAssigned(_message.Message):
    __slots__ = ("assignments",)
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    assignments: _containers.RepeatedCompositeFieldContainer[FaceAssignment]
    def __init__(self, assignments: _Optional[_Iterable[_Union[FaceAssignment, _Mapping]]] = ...) -> None: ...

class FaceAssignment(_message.Message):
    __slots__ = ("face_id", "image_id", "person_id", "confidence", "source")
    FACE_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    face_id: str
    image_id: str
    person_id: int
    confidence: float
    source: str
    def __init__(self, face_id: _Optional[str] = ..., image_id: _Optional[str] = ..., person_id: _Optional[int] = ..., confidence: _Optional[float] = ..., source: _Optional[str] = ...) -> None: ...

class PeopleChanged(_message.Message):
    __slots__ = ("person_ids", "change", "request_id", "face_ids")
    PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FACE_IDS_FIELD_NUMBER: _ClassVar[int]
    person_ids: _containers.RepeatedScalarFieldContainer[int]
    change: str
    request_id: str
    face_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, person_ids: _Optional[_Iterable[int]] = ..., change: _Optional[str] = ..., request_id: _Optional[str] = ..., face_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ClustersUpdated(_message.Message):
    __slots__ = ("run_id", "faces", "clusters", "noise", "new_clusters", "full")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    FACES_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    NOISE_FIELD_NUMBER: _ClassVar[int]
    NEW_CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    faces: int
    clusters: int
    noise: int
    new_clusters: int
    full: bool
    def __init__(self, run_id: _Optional[int] = ..., faces: _Optional[int] = ..., clusters: _Optional[int] = ..., noise: _Optional[int] = ..., new_clusters: _Optional[int] = ..., full: _Optional[bool] = ...) -> None: ...

class ClusteringRequested(_message.Message):
    __slots__ = ("full", "request_id", "reason")
    FULL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    full: bool
    request_id: str
    reason: str
    def __init__(self, full: _Optional[bool] = ..., request_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DetectFacesRequested(_message.Message):
    __slots__ = ("image_id", "path", "request_id")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    path: str
    request_id: str
    def __init__(self, image_id: _Optional[str] = ..., path: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...
