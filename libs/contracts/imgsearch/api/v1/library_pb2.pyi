from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BrowseRequest(_message.Message):
    __slots__ = ("path", "limit", "offset")
    PATH_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    path: str
    limit: int
    offset: int
    def __init__(self, path: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class Directory(_message.Message):
    __slots__ = ("name", "path", "image_files", "subdirectories")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FILES_FIELD_NUMBER: _ClassVar[int]
    SUBDIRECTORIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    image_files: int
    subdirectories: int
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., image_files: _Optional[int] = ..., subdirectories: _Optional[int] = ...) -> None: ...

class BrowseResponse(_message.Message):
    __slots__ = ("path", "root", "directories", "image_files", "total")
    PATH_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    DIRECTORIES_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FILES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    path: str
    root: str
    directories: _containers.RepeatedCompositeFieldContainer[Directory]
    image_files: int
    total: int
    def __init__(self, path: _Optional[str] = ..., root: _Optional[str] = ..., directories: _Optional[_Iterable[_Union[Directory, _Mapping]]] = ..., image_files: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class ListDuplicatesRequest(_message.Message):
    __slots__ = ("kind", "limit", "offset")
    KIND_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    kind: str
    limit: int
    offset: int
    def __init__(self, kind: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class DuplicateImage(_message.Message):
    __slots__ = ("image_id", "paths", "thumbnail_url", "distance")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_URL_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    paths: _containers.RepeatedScalarFieldContainer[str]
    thumbnail_url: str
    distance: int
    def __init__(self, image_id: _Optional[str] = ..., paths: _Optional[_Iterable[str]] = ..., thumbnail_url: _Optional[str] = ..., distance: _Optional[int] = ...) -> None: ...

class DuplicateGroup(_message.Message):
    __slots__ = ("kind", "images")
    KIND_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    kind: str
    images: _containers.RepeatedCompositeFieldContainer[DuplicateImage]
    def __init__(self, kind: _Optional[str] = ..., images: _Optional[_Iterable[_Union[DuplicateImage, _Mapping]]] = ...) -> None: ...

class ListDuplicatesResponse(_message.Message):
    __slots__ = ("groups", "total")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[DuplicateGroup]
    total: int
    def __init__(self, groups: _Optional[_Iterable[_Union[DuplicateGroup, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...
