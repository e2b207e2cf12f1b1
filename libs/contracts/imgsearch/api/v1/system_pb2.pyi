import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from imgsearch.api.v1 import search_pb2 as _search_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamStatus(_message.Message):
    __slots__ = ("name", "messages", "bytes", "consumers")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    CONSUMERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    messages: int
    bytes: int
    consumers: int
    def __init__(self, name: _Optional[str] = ..., messages: _Optional[int] = ..., bytes: _Optional[int] = ..., consumers: _Optional[int] = ...) -> None: ...

class ConsumerStatus(_message.Message):
    __slots__ = ("stream", "consumer", "pending", "unacked", "redelivered", "waiting", "delivered_seq", "ack_floor_seq", "last_active", "filter_subject")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    UNACKED_FIELD_NUMBER: _ClassVar[int]
    REDELIVERED_FIELD_NUMBER: _ClassVar[int]
    WAITING_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_SEQ_FIELD_NUMBER: _ClassVar[int]
    ACK_FLOOR_SEQ_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    FILTER_SUBJECT_FIELD_NUMBER: _ClassVar[int]
    stream: str
    consumer: str
    pending: int
    unacked: int
    redelivered: int
    waiting: int
    delivered_seq: int
    ack_floor_seq: int
    last_active: _timestamp_pb2.Timestamp
    filter_subject: str
    def __init__(self, stream: _Optional[str] = ..., consumer: _Optional[str] = ..., pending: _Optional[int] = ..., unacked: _Optional[int] = ..., redelivered: _Optional[int] = ..., waiting: _Optional[int] = ..., delivered_seq: _Optional[int] = ..., ack_floor_seq: _Optional[int] = ..., last_active: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., filter_subject: _Optional[str] = ...) -> None: ...

class FaceBackendStatus(_message.Message):
    __slots__ = ("recorded", "backend", "model", "dim", "reason")
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    recorded: bool
    backend: str
    model: str
    dim: int
    reason: str
    def __init__(self, recorded: _Optional[bool] = ..., backend: _Optional[str] = ..., model: _Optional[str] = ..., dim: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class VectorStoreStatus(_message.Message):
    __slots__ = ("kind", "location")
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    kind: str
    location: str
    def __init__(self, kind: _Optional[str] = ..., location: _Optional[str] = ...) -> None: ...

class SystemStatus(_message.Message):
    __slots__ = ("ready", "model", "indexed", "warnings", "checks", "streams", "consumers", "faces", "vectors", "auth", "checked_at", "auth_reason")
    READY_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INDEXED_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    CONSUMERS_FIELD_NUMBER: _ClassVar[int]
    FACES_FIELD_NUMBER: _ClassVar[int]
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    AUTH_REASON_FIELD_NUMBER: _ClassVar[int]
    ready: bool
    model: _search_pb2.ModelInfo
    indexed: int
    warnings: _containers.RepeatedScalarFieldContainer[str]
    checks: _containers.RepeatedCompositeFieldContainer[_search_pb2.ReadinessCheck]
    streams: _containers.RepeatedCompositeFieldContainer[StreamStatus]
    consumers: _containers.RepeatedCompositeFieldContainer[ConsumerStatus]
    faces: FaceBackendStatus
    vectors: VectorStoreStatus
    auth: str
    checked_at: _timestamp_pb2.Timestamp
    auth_reason: str
    def __init__(self, ready: _Optional[bool] = ..., model: _Optional[_Union[_search_pb2.ModelInfo, _Mapping]] = ..., indexed: _Optional[int] = ..., warnings: _Optional[_Iterable[str]] = ..., checks: _Optional[_Iterable[_Union[_search_pb2.ReadinessCheck, _Mapping]]] = ..., streams: _Optional[_Iterable[_Union[StreamStatus, _Mapping]]] = ..., consumers: _Optional[_Iterable[_Union[ConsumerStatus, _Mapping]]] = ..., faces: _Optional[_Union[FaceBackendStatus, _Mapping]] = ..., vectors: _Optional[_Union[VectorStoreStatus, _Mapping]] = ..., auth: _Optional[str] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., auth_reason: _Optional[str] = ...) -> None: ...
