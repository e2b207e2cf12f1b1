"""One error hierarchy. Each class decides how a message is settled on the bus (ack / nak / term)
and which gRPC and HTTP status an API answers with. Services raise these; adapters translate."""

from __future__ import annotations

import enum


class Disposition(enum.Enum):
    ACK = "ack"
    NAK = "nak"  # retry later, with backoff
    TERM = "term"  # poison: never redeliver, record the reason


class ImgSearchError(Exception):
    """Base class. Unknown exceptions are treated like this one: retryable, HTTP 500."""

    disposition: Disposition = Disposition.NAK
    grpc_code: str = "INTERNAL"  # name of a grpc.StatusCode member
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def kind(self) -> str:
        return type(self).__name__


class InvalidInput(ImgSearchError):
    disposition = Disposition.TERM
    grpc_code = "INVALID_ARGUMENT"
    http_status = 400


class BadImage(InvalidInput):
    """The file is not an image we can read: corrupt, truncated, unsupported, empty, too large."""


class NotFound(ImgSearchError):
    disposition = Disposition.TERM
    grpc_code = "NOT_FOUND"
    http_status = 404


class OutsideLibrary(ImgSearchError):
    """A path outside every configured library root (or escaping one through .. or a symlink)."""

    disposition = Disposition.TERM
    grpc_code = "PERMISSION_DENIED"
    http_status = 403


class ModelMismatch(ImgSearchError):
    """A vector collection was built by another model / pretrained tag / dimension."""

    disposition = Disposition.TERM
    grpc_code = "FAILED_PRECONDITION"
    http_status = 409


class Conflict(ImgSearchError):
    """The request is valid but clashes with the current state (e.g. pinning a face that has no person)."""

    disposition = Disposition.TERM
    grpc_code = "FAILED_PRECONDITION"
    http_status = 409


class Unauthenticated(ImgSearchError):
    """No valid API key (or UI session) came with a request while authentication is on."""

    disposition = Disposition.TERM
    grpc_code = "UNAUTHENTICATED"
    http_status = 401


class Unavailable(ImgSearchError):
    """A dependency (NATS, PostgreSQL, Qdrant, a service) did not answer: retry later."""

    disposition = Disposition.NAK
    grpc_code = "UNAVAILABLE"
    http_status = 503


class ConfigurationError(ImgSearchError):
    """Settings that cannot work (missing model weights, bad URL). Raised at startup, fail fast."""

    disposition = Disposition.NAK
    grpc_code = "FAILED_PRECONDITION"
    http_status = 503


ERRORS_BY_KIND: dict[str, type[ImgSearchError]] = {
    cls.__name__: cls
    for cls in (
        ImgSearchError,
        InvalidInput,
        BadImage,
        NotFound,
        Conflict,
        OutsideLibrary,
        ModelMismatch,
        Unauthenticated,
        Unavailable,
        ConfigurationError,
    )
}


def describe(error: BaseException) -> str:
    """One line for a dead letter, a status column or a log: "<kind>: <message>"."""
    if isinstance(error, ImgSearchError):
        return f"{error.kind}: {error.message}"
    return f"{type(error).__name__}: {error}"


def from_kind(kind: str, message: str) -> ImgSearchError:
    """Rebuild an error that crossed the bus as (kind, message)."""
    return ERRORS_BY_KIND.get(kind, ImgSearchError)(message)
