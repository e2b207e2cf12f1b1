import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImageIngested(_message.Message):
    __slots__ = ("image_id", "path", "library_root", "size_bytes", "width", "height", "format", "taken_at", "folders")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    LIBRARY_ROOT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    TAKEN_AT_FIELD_NUMBER: _ClassVar[int]
    FOLDERS_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    path: str
    library_root: str
    size_bytes: int
    width: int
    height: int
    format: str
    taken_at: _timestamp_pb2.Timestamp
    folders: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, image_id: _Optional[str] = ..., path: _Optional[str] = ..., library_root: _Optional[str] = ..., size_bytes: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., format: _Optional[str] = ..., taken_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., folders: _Optional[_Iterable[str]] = ...) -> None: ...

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

class IngestRequested(_message.Message):
    __slots__ = ("path", "include", "exclude", "request_id")
    PATH_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    path: str
    include: _containers.RepeatedScalarFieldContainer[str]
    exclude: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, path: _Optional[str] = ..., include: _Optional[_Iterable[str]] = ..., exclude: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...
