import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SearchFilters(_message.Message):
    __slots__ = ("taken_after", "taken_before", "folder", "people_all", "people_any", "people_none", "near", "camera")
    TAKEN_AFTER_FIELD_NUMBER: _ClassVar[int]
    TAKEN_BEFORE_FIELD_NUMBER: _ClassVar[int]
    FOLDER_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_ALL_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_ANY_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_NONE_FIELD_NUMBER: _ClassVar[int]
    NEAR_FIELD_NUMBER: _ClassVar[int]
    CAMERA_FIELD_NUMBER: _ClassVar[int]
    taken_after: _timestamp_pb2.Timestamp
    taken_before: _timestamp_pb2.Timestamp
    folder: str
    people_all: _containers.RepeatedScalarFieldContainer[int]
    people_any: _containers.RepeatedScalarFieldContainer[int]
    people_none: _containers.RepeatedScalarFieldContainer[int]
    near: GeoRadius
    camera: str
    def __init__(self, taken_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., taken_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., folder: _Optional[str] = ..., people_all: _Optional[_Iterable[int]] = ..., people_any: _Optional[_Iterable[int]] = ..., people_none: _Optional[_Iterable[int]] = ..., near: _Optional[_Union[GeoRadius, _Mapping]] = ..., camera: _Optional[str] = ...) -> None: ...

class GeoRadius(_message.Message):
    __slots__ = ("lat", "lon", "radius_km")
    LAT_FIELD_NUMBER: _ClassVar[int]
    LON_FIELD_NUMBER: _ClassVar[int]
    RADIUS_KM_FIELD_NUMBER: _ClassVar[int]
    lat: float
    lon: float
    radius_km: float
    def __init__(self, lat: _Optional[float] = ..., lon: _Optional[float] = ..., radius_km: _Optional[float] = ...) -> None: ...

class ListCamerasRequest(_message.Message):
    __slots__ = ("limit", "offset")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    limit: int
    offset: int
    def __init__(self, limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class CameraCount(_message.Message):
    __slots__ = ("camera", "images")
    CAMERA_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    camera: str
    images: int
    def __init__(self, camera: _Optional[str] = ..., images: _Optional[int] = ...) -> None: ...

class ListCamerasResponse(_message.Message):
    __slots__ = ("cameras", "total")
    CAMERAS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    cameras: _containers.RepeatedCompositeFieldContainer[CameraCount]
    total: int
    def __init__(self, cameras: _Optional[_Iterable[_Union[CameraCount, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class TextSearchRequest(_message.Message):
    __slots__ = ("query", "limit", "offset", "filters")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    query: str
    limit: int
    offset: int
    filters: SearchFilters
    def __init__(self, query: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., filters: _Optional[_Union[SearchFilters, _Mapping]] = ...) -> None: ...

class SimilarSearchRequest(_message.Message):
    __slots__ = ("image_id", "limit", "offset", "filters")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    limit: int
    offset: int
    filters: SearchFilters
    def __init__(self, image_id: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., filters: _Optional[_Union[SearchFilters, _Mapping]] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("image_id", "score", "path", "taken_at", "thumbnail_url", "width", "height")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    TAKEN_AT_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_URL_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    score: float
    path: str
    taken_at: _timestamp_pb2.Timestamp
    thumbnail_url: str
    width: int
    height: int
    def __init__(self, image_id: _Optional[str] = ..., score: _Optional[float] = ..., path: _Optional[str] = ..., taken_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., thumbnail_url: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("model", "pretrained", "dim", "random_weights")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PRETRAINED_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    RANDOM_WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    model: str
    pretrained: str
    dim: int
    random_weights: bool
    def __init__(self, model: _Optional[str] = ..., pretrained: _Optional[str] = ..., dim: _Optional[int] = ..., random_weights: _Optional[bool] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("hits", "model", "next_offset")
    HITS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    NEXT_OFFSET_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    model: ModelInfo
    next_offset: int
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ..., model: _Optional[_Union[ModelInfo, _Mapping]] = ..., next_offset: _Optional[int] = ...) -> None: ...

class SearchReply(_message.Message):
    __slots__ = ("response", "error", "info")
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    response: SearchResponse
    error: Error
    info: SearchInfo
    def __init__(self, response: _Optional[_Union[SearchResponse, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., info: _Optional[_Union[SearchInfo, _Mapping]] = ...) -> None: ...

class SearchInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SearchInfo(_message.Message):
    __slots__ = ("model", "collection_exists", "indexed", "warnings")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_EXISTS_FIELD_NUMBER: _ClassVar[int]
    INDEXED_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    model: ModelInfo
    collection_exists: bool
    indexed: int
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, model: _Optional[_Union[ModelInfo, _Mapping]] = ..., collection_exists: _Optional[bool] = ..., indexed: _Optional[int] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("kind", "message")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    message: str
    def __init__(self, kind: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class GetImageRequest(_message.Message):
    __slots__ = ("image_id",)
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    def __init__(self, image_id: _Optional[str] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("image_id", "paths", "size_bytes", "width", "height", "format", "taken_at", "camera_make", "camera_model", "orientation", "has_gps", "latitude", "longitude", "ingest_status", "embed_status", "error", "thumbnail_url", "taken_at_source", "camera")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    TAKEN_AT_FIELD_NUMBER: _ClassVar[int]
    CAMERA_MAKE_FIELD_NUMBER: _ClassVar[int]
    CAMERA_MODEL_FIELD_NUMBER: _ClassVar[int]
    ORIENTATION_FIELD_NUMBER: _ClassVar[int]
    HAS_GPS_FIELD_NUMBER: _ClassVar[int]
    LATITUDE_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_FIELD_NUMBER: _ClassVar[int]
    INGEST_STATUS_FIELD_NUMBER: _ClassVar[int]
    EMBED_STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_URL_FIELD_NUMBER: _ClassVar[int]
    TAKEN_AT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    CAMERA_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    paths: _containers.RepeatedScalarFieldContainer[str]
    size_bytes: int
    width: int
    height: int
    format: str
    taken_at: _timestamp_pb2.Timestamp
    camera_make: str
    camera_model: str
    orientation: int
    has_gps: bool
    latitude: float
    longitude: float
    ingest_status: str
    embed_status: str
    error: str
    thumbnail_url: str
    taken_at_source: str
    camera: str
    def __init__(self, image_id: _Optional[str] = ..., paths: _Optional[_Iterable[str]] = ..., size_bytes: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., format: _Optional[str] = ..., taken_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., camera_make: _Optional[str] = ..., camera_model: _Optional[str] = ..., orientation: _Optional[int] = ..., has_gps: _Optional[bool] = ..., latitude: _Optional[float] = ..., longitude: _Optional[float] = ..., ingest_status: _Optional[str] = ..., embed_status: _Optional[str] = ..., error: _Optional[str] = ..., thumbnail_url: _Optional[str] = ..., taken_at_source: _Optional[str] = ..., camera: _Optional[str] = ...) -> None: ...

class ImageFile(_message.Message):
    __slots__ = ("image_id", "media_type", "data")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    media_type: str
    data: bytes
    def __init__(self, image_id: _Optional[str] = ..., media_type: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class FileChunk(_message.Message):
    __slots__ = ("image_id", "file_name", "media_type", "size_bytes", "offset", "data")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    file_name: str
    media_type: str
    size_bytes: int
    offset: int
    data: bytes
    def __init__(self, image_id: _Optional[str] = ..., file_name: _Optional[str] = ..., media_type: _Optional[str] = ..., size_bytes: _Optional[int] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class IngestFolderRequest(_message.Message):
    __slots__ = ("path", "include", "exclude")
    PATH_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    path: str
    include: _containers.RepeatedScalarFieldContainer[str]
    exclude: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, path: _Optional[str] = ..., include: _Optional[_Iterable[str]] = ..., exclude: _Optional[_Iterable[str]] = ...) -> None: ...

class IngestFolderResponse(_message.Message):
    __slots__ = ("request_id", "path", "session_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    path: str
    session_id: int
    def __init__(self, request_id: _Optional[str] = ..., path: _Optional[str] = ..., session_id: _Optional[int] = ...) -> None: ...

class GetSystemInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReadinessCheck(_message.Message):
    __slots__ = ("name", "ok", "detail")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    ok: bool
    detail: str
    def __init__(self, name: _Optional[str] = ..., ok: _Optional[bool] = ..., detail: _Optional[str] = ...) -> None: ...

class SystemInfo(_message.Message):
    __slots__ = ("ready", "model", "indexed", "warnings", "checks")
    READY_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INDEXED_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    ready: bool
    model: ModelInfo
    indexed: int
    warnings: _containers.RepeatedScalarFieldContainer[str]
    checks: _containers.RepeatedCompositeFieldContainer[ReadinessCheck]
    def __init__(self, ready: _Optional[bool] = ..., model: _Optional[_Union[ModelInfo, _Mapping]] = ..., indexed: _Optional[int] = ..., warnings: _Optional[_Iterable[str]] = ..., checks: _Optional[_Iterable[_Union[ReadinessCheck, _Mapping]]] = ...) -> None: ...
