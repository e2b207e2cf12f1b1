from __future__ import annotations

from pathlib import Path

import pytest

from imgsearch.common.errors import (
    BadImage,
    Disposition,
    ModelMismatch,
    NotFound,
    OutsideLibrary,
    Unavailable,
    from_kind,
)
from imgsearch.common.ids import message_id, point_id
from imgsearch.common.settings import Settings


def test_settings_read_prefixed_nested_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IMGSEARCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IMGSEARCH_CLIP__PRETRAINED", "random")
    monkeypatch.setenv("IMGSEARCH_CLIP__BATCH_SIZE", "8")
    monkeypatch.setenv("IMGSEARCH_LIBRARY_ROOTS", '["/photos", "/more"]')
    monkeypatch.setenv("IMGSEARCH_NATS__URL", "nats://nats:4222")
    settings = Settings()
    assert settings.clip.pretrained == "random" and settings.clip.batch_size == 8
    assert settings.library_roots == [Path("/photos"), Path("/more")]
    assert settings.nats.url == "nats://nats:4222" and settings.postgres.url is None
    assert settings.thumbnails_dir == tmp_path / "thumbnails"


@pytest.mark.parametrize(
    ("error", "disposition", "http", "grpc"),
    [
        (BadImage("x"), Disposition.TERM, 400, "INVALID_ARGUMENT"),
        (NotFound("x"), Disposition.TERM, 404, "NOT_FOUND"),
        (OutsideLibrary("x"), Disposition.TERM, 403, "PERMISSION_DENIED"),
        (ModelMismatch("x"), Disposition.TERM, 409, "FAILED_PRECONDITION"),
        (Unavailable("x"), Disposition.NAK, 503, "UNAVAILABLE"),
    ],
)
def test_one_hierarchy_decides_bus_http_and_grpc(error, disposition, http, grpc) -> None:  # type: ignore[no-untyped-def]
    assert (error.disposition, error.http_status, error.grpc_code) == (disposition, http, grpc)


def test_errors_survive_the_bus_by_kind() -> None:
    rebuilt = from_kind("ModelMismatch", "built by ViT-L-14")
    assert isinstance(rebuilt, ModelMismatch) and rebuilt.message == "built by ViT-L-14"
    assert type(from_kind("SomethingNew", "m")).__name__ == "ImgSearchError"


def test_ids_are_content_derived_and_stable() -> None:
    assert point_id("abc") == point_id("abc") != point_id("abd")
    assert message_id("s", "a", "b") == message_id("s", "a", "b") != message_id("s", "ab")


def test_bad_setting_is_a_configuration_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from imgsearch.common.errors import ConfigurationError
    from imgsearch.common.settings import load_settings

    monkeypatch.setenv("IMGSEARCH_HTTP__PORT", "eighty")
    with pytest.raises(ConfigurationError, match="IMGSEARCH_HTTP__PORT"):
        load_settings()
    monkeypatch.delenv("IMGSEARCH_HTTP__PORT")
    monkeypatch.setenv("IMGSEARCH_LIBRARY_ROOTS", "/photos")  # not JSON
    with pytest.raises(ConfigurationError, match="JSON"):
        load_settings()
