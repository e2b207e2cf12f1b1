from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReconcileRequest(_message.Message):
    __slots__ = ("repair",)
    REPAIR_FIELD_NUMBER: _ClassVar[int]
    repair: bool
    def __init__(self, repair: _Optional[bool] = ...) -> None: ...

class ImagesCheck(_message.Message):
    __slots__ = ("collection_exists", "postgres", "points", "missing", "embedded_without_vector", "pending_stalled", "pending_queued", "failed", "no_file", "republished", "orphans", "orphans_deleted", "drift", "payload_drift", "payloads_fixed", "hashes_missing", "hashes_recorded")
    COLLECTION_EXISTS_FIELD_NUMBER: _ClassVar[int]
    POSTGRES_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    EMBEDDED_WITHOUT_VECTOR_FIELD_NUMBER: _ClassVar[int]
    PENDING_STALLED_FIELD_NUMBER: _ClassVar[int]
    PENDING_QUEUED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    NO_FILE_FIELD_NUMBER: _ClassVar[int]
    REPUBLISHED_FIELD_NUMBER: _ClassVar[int]
    ORPHANS_FIELD_NUMBER: _ClassVar[int]
    ORPHANS_DELETED_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_DRIFT_FIELD_NUMBER: _ClassVar[int]
    PAYLOADS_FIXED_FIELD_NUMBER: _ClassVar[int]
    HASHES_MISSING_FIELD_NUMBER: _ClassVar[int]
    HASHES_RECORDED_FIELD_NUMBER: _ClassVar[int]
    collection_exists: bool
    postgres: int
    points: int
    missing: int
    embedded_without_vector: int
    pending_stalled: int
    pending_queued: int
    failed: int
    no_file: int
    republished: int
    orphans: int
    orphans_deleted: int
    drift: int
    payload_drift: int
    payloads_fixed: int
    hashes_missing: int
    hashes_recorded: int
    def __init__(self, collection_exists: _Optional[bool] = ..., postgres: _Optional[int] = ..., points: _Optional[int] = ..., missing: _Optional[int] = ..., embedded_without_vector: _Optional[int] = ..., pending_stalled: _Optional[int] = ..., pending_queued: _Optional[int] = ..., failed: _Optional[int] = ..., no_file: _Optional[int] = ..., republished: _Optional[int] = ..., orphans: _Optional[int] = ..., orphans_deleted: _Optional[int] = ..., drift: _Optional[int] = ..., payload_drift: _Optional[int] = ..., payloads_fixed: _Optional[int] = ..., hashes_missing: _Optional[int] = ..., hashes_recorded: _Optional[int] = ...) -> None: ...

class FacesCheck(_message.Message):
    __slots__ = ("collection_exists", "postgres", "points", "missing", "restored", "orphans", "orphans_deleted", "payload_drift", "payloads_fixed", "drift")
    COLLECTION_EXISTS_FIELD_NUMBER: _ClassVar[int]
    POSTGRES_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    RESTORED_FIELD_NUMBER: _ClassVar[int]
    ORPHANS_FIELD_NUMBER: _ClassVar[int]
    ORPHANS_DELETED_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_DRIFT_FIELD_NUMBER: _ClassVar[int]
    PAYLOADS_FIXED_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    collection_exists: bool
    postgres: int
    points: int
    missing: int
    restored: int
    orphans: int
    orphans_deleted: int
    payload_drift: int
    payloads_fixed: int
    drift: int
    def __init__(self, collection_exists: _Optional[bool] = ..., postgres: _Optional[int] = ..., points: _Optional[int] = ..., missing: _Optional[int] = ..., restored: _Optional[int] = ..., orphans: _Optional[int] = ..., orphans_deleted: _Optional[int] = ..., payload_drift: _Optional[int] = ..., payloads_fixed: _Optional[int] = ..., drift: _Optional[int] = ...) -> None: ...

class ConsumerState(_message.Message):
    __slots__ = ("name", "pending", "ack_pending", "redelivered")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    ACK_PENDING_FIELD_NUMBER: _ClassVar[int]
    REDELIVERED_FIELD_NUMBER: _ClassVar[int]
    name: str
    pending: int
    ack_pending: int
    redelivered: int
    def __init__(self, name: _Optional[str] = ..., pending: _Optional[int] = ..., ack_pending: _Optional[int] = ..., redelivered: _Optional[int] = ...) -> None: ...

class StreamState(_message.Message):
    __slots__ = ("name", "messages", "consumers")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    CONSUMERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    messages: int
    consumers: _containers.RepeatedCompositeFieldContainer[ConsumerState]
    def __init__(self, name: _Optional[str] = ..., messages: _Optional[int] = ..., consumers: _Optional[_Iterable[_Union[ConsumerState, _Mapping]]] = ...) -> None: ...

class ReconcileReport(_message.Message):
    __slots__ = ("run_id", "repair", "images", "faces", "streams", "drift", "repaired")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    REPAIR_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    FACES_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    repair: bool
    images: ImagesCheck
    faces: FacesCheck
    streams: _containers.RepeatedCompositeFieldContainer[StreamState]
    drift: int
    repaired: int
    def __init__(self, run_id: _Optional[str] = ..., repair: _Optional[bool] = ..., images: _Optional[_Union[ImagesCheck, _Mapping]] = ..., faces: _Optional[_Union[FacesCheck, _Mapping]] = ..., streams: _Optional[_Iterable[_Union[StreamState, _Mapping]]] = ..., drift: _Optional[int] = ..., repaired: _Optional[int] = ...) -> None: ...
