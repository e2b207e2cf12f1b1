"""EXIF metadata → plain values: capture time, GPS position, camera, orientation.

Pure functions over Pillow's ``Image.Exif`` mapping. Real-world EXIF is often broken (NUL-padded
strings, zero denominators, 4294967295 latitudes, "0000:00:00" dates), so every reader returns
``None`` for a value it cannot trust instead of raising: bad metadata never fails a good picture.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

# Tag numbers (PIL.ExifTags.Base / IFD), spelled out so the reader needs no lookup.
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
MAKE, MODEL, DATETIME = 0x010F, 0x0110, 0x0132
DATETIME_ORIGINAL, DATETIME_DIGITIZED = 0x9003, 0x9004
OFFSET_TIME, OFFSET_TIME_ORIGINAL, OFFSET_TIME_DIGITIZED = 0x9010, 0x9011, 0x9012
SUBSEC_TIME, SUBSEC_TIME_ORIGINAL, SUBSEC_TIME_DIGITIZED = 0x9290, 0x9291, 0x9292
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON, GPS_ALT_REF, GPS_ALT = 1, 2, 3, 4, 5, 6

# (tag, its offset tag, its sub-second tag, source name), best first. DateTimeDigitized beats
# DateTime: DateTime is rewritten by editors, Digitized usually still says when the shot was made.
_DATE_TAGS = (
    (DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL, SUBSEC_TIME_ORIGINAL, "exif:DateTimeOriginal"),
    (DATETIME_DIGITIZED, OFFSET_TIME_DIGITIZED, SUBSEC_TIME_DIGITIZED, "exif:DateTimeDigitized"),
    (DATETIME, OFFSET_TIME, SUBSEC_TIME, "exif:DateTime"),
)
_DATE = re.compile(r"^\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")
_FIRST_PHOTO_YEAR = 1826
_MAX_TEXT = 200


@dataclass(frozen=True)
class CaptureTime:
    taken_at: datetime  # always timezone-aware
    # e.g. "exif:DateTimeOriginal". A ":local" suffix means the camera gave no UTC offset: the wall
    # clock time is stored as if it were UTC (the true zone is unknown), so never convert it.
    source: str


@dataclass(frozen=True)
class GpsPosition:
    lat: float
    lon: float
    alt: float | None


def text(value: Any) -> str | None:
    """A printable, NUL-free string (PostgreSQL text rejects NUL), or None."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()
    return cleaned[:_MAX_TEXT] or None


def camera(ifd0: Mapping[int, Any]) -> tuple[str | None, str | None]:
    return text(ifd0.get(MAKE)), text(ifd0.get(MODEL))


def capture_time(ifd0: Mapping[int, Any], exif_ifd: Mapping[int, Any], now: datetime | None = None
                 ) -> CaptureTime | None:
    now = now or datetime.now(UTC)
    for tag, offset_tag, subsec_tag, source in _DATE_TAGS:
        raw = exif_ifd.get(tag, ifd0.get(tag))
        parsed = _parse_datetime(text(raw))
        if parsed is None:
            continue
        micros = _subsec_micros(text(exif_ifd.get(subsec_tag)))
        offset = _parse_offset(text(exif_ifd.get(offset_tag)))
        value = parsed.replace(microsecond=micros, tzinfo=offset or UTC)
        # A clock set to 2099 or a date before photography existed is noise, not a capture time.
        if value.year < _FIRST_PHOTO_YEAR or value > now + timedelta(days=2):
            continue
        return CaptureTime(value, source if offset else f"{source}:local")
    return None


def gps(gps_ifd: Mapping[int, Any]) -> GpsPosition | None:
    """Signed decimal degrees; None for empty blocks, NaN, out-of-range and 0,0 (an unset fix)."""
    lat = _degrees(gps_ifd.get(GPS_LAT), text(gps_ifd.get(GPS_LAT_REF)), "S")
    lon = _degrees(gps_ifd.get(GPS_LON), text(gps_ifd.get(GPS_LON_REF)), "W")
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180 or (lat == 0 and lon == 0):
        return None
    return GpsPosition(round(lat, 7), round(lon, 7), _altitude(gps_ifd))


def _parse_datetime(value: str | None) -> datetime | None:
    match = _DATE.match(value or "")
    if not match:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second)
    except ValueError:  # "0000:00:00 00:00:00", month 13, ...
        return None


def _parse_offset(value: str | None) -> timezone | None:
    if value in ("Z", "z"):
        return UTC
    match = _OFFSET.match(value or "")
    if not match:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14):
        return None
    return timezone(-delta if sign == "-" else delta)


def _subsec_micros(value: str | None) -> int:
    digits = "".join(ch for ch in (value or "") if ch.isdigit())[:6]
    return int(digits.ljust(6, "0")) if digits else 0


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _degrees(value: Any, ref: str | None, negative_ref: str) -> float | None:
    """(deg, min, sec) rationals, or fewer parts (degrees + decimal minutes, bare degrees)."""
    parts = value if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    numbers = [n for n in (_number(part) for part in parts) if n is not None and n >= 0]
    if len(numbers) != len(parts):
        return None
    degrees = sum(n / 60.0**i for i, n in enumerate(numbers))
    return -degrees if ref and ref.upper().startswith(negative_ref) else degrees


def _altitude(gps_ifd: Mapping[int, Any]) -> float | None:
    altitude = _number(gps_ifd.get(GPS_ALT))
    # Broken writers store negative altitudes as huge unsigned ints: keep only plausible heights.
    if altitude is None or altitude > 100_000:
        return None
    below_sea = gps_ifd.get(GPS_ALT_REF) in (1, b"\x01")
    return round(-altitude if below_sea else altitude, 2) + 0.0  # + 0.0: no "-0.0"
