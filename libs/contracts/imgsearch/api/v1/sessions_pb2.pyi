import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StageRates(_message.Message):
    __slots__ = ("ingested", "embedded", "faces_done")
    INGESTED_FIELD_NUMBER: _ClassVar[int]
    EMBEDDED_FIELD_NUMBER: _ClassVar[int]
    FACES_DONE_FIELD_NUMBER: _ClassVar[int]
    ingested: float
    embedded: float
    faces_done: float
    def __init__(self, ingested: _Optional[float] = ..., embedded: _Optional[float] = ..., faces_done: _Optional[float] = ...) -> None: ...

class SessionProgress(_message.Message):
    __slots__ = ("discovered", "ingested", "embedded", "faces_done", "failed", "discovery_complete", "percent", "rates", "eta_s", "has_eta")
    DISCOVERED_FIELD_NUMBER: _ClassVar[int]
    INGESTED_FIELD_NUMBER: _ClassVar[int]
    EMBEDDED_FIELD_NUMBER: _ClassVar[int]
    FACES_DONE_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    DISCOVERY_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    ETA_S_FIELD_NUMBER: _ClassVar[int]
    HAS_ETA_FIELD_NUMBER: _ClassVar[int]
    discovered: int
    ingested: int
    embedded: int
    faces_done: int
    failed: int
    discovery_complete: bool
    percent: float
    rates: StageRates
    eta_s: float
    has_eta: bool
    def __init__(self, discovered: _Optional[int] = ..., ingested: _Optional[int] = ..., embedded: _Optional[int] = ..., faces_done: _Optional[int] = ..., failed: _Optional[int] = ..., discovery_complete: _Optional[bool] = ..., percent: _Optional[float] = ..., rates: _Optional[_Union[StageRates, _Mapping]] = ..., eta_s: _Optional[float] = ..., has_eta: _Optional[bool] = ...) -> None: ...

class SubdirectoryProgress(_message.Message):
    __slots__ = ("subdirectory", "progress")
    SUBDIRECTORY_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    subdirectory: str
    progress: SessionProgress
    def __init__(self, subdirectory: _Optional[str] = ..., progress: _Optional[_Union[SessionProgress, _Mapping]] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("id", "path", "subdirectories", "priority", "state", "origin", "created_at", "updated_at", "finished_at", "progress", "subdirectory_progress")
    ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SUBDIRECTORIES_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SUBDIRECTORY_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    id: int
    path: str
    subdirectories: _containers.RepeatedScalarFieldContainer[str]
    priority: str
    state: str
    origin: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    progress: SessionProgress
    subdirectory_progress: _containers.RepeatedCompositeFieldContainer[SubdirectoryProgress]
    def __init__(self, id: _Optional[int] = ..., path: _Optional[str] = ..., subdirectories: _Optional[_Iterable[str]] = ..., priority: _Optional[str] = ..., state: _Optional[str] = ..., origin: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., progress: _Optional[_Union[SessionProgress, _Mapping]] = ..., subdirectory_progress: _Optional[_Iterable[_Union[SubdirectoryProgress, _Mapping]]] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ("path", "subdirectories", "priority", "include", "exclude")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SUBDIRECTORIES_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    path: str
    subdirectories: _containers.RepeatedScalarFieldContainer[str]
    priority: str
    include: _containers.RepeatedScalarFieldContainer[str]
    exclude: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, path: _Optional[str] = ..., subdirectories: _Optional[_Iterable[str]] = ..., priority: _Optional[str] = ..., include: _Optional[_Iterable[str]] = ..., exclude: _Optional[_Iterable[str]] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("state", "limit", "offset")
    STATE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    state: str
    limit: int
    offset: int
    def __init__(self, state: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "total")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    total: int
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class SessionActionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class ListSessionFailuresRequest(_message.Message):
    __slots__ = ("id", "limit", "offset")
    ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    id: int
    limit: int
    offset: int
    def __init__(self, id: _Optional[int] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class SessionFailure(_message.Message):
    __slots__ = ("path", "stage", "reason")
    PATH_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    path: str
    stage: str
    reason: str
    def __init__(self, path: _Optional[str] = ..., stage: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ListSessionFailuresResponse(_message.Message):
    __slots__ = ("files", "total")
    FILES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[SessionFailure]
    total: int
    def __init__(self, files: _Optional[_Iterable[_Union[SessionFailure, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...
