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
GPS_TIME, GPS_DATE = 7, 29
IPTC_DATE_CREATED, IPTC_TIME_CREATED = (2, 55), (2, 60)

# (tag, its offset tag, its sub-second tag, source name), best first. DateTimeDigitized beats
# DateTime: DateTime is rewritten by editors, Digitized usually still says when the shot was made.
# Between them (see capture_time): IPTC DateCreated, then the GPS fix time (UTC).
_DATE_TAGS = (
    (DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL, SUBSEC_TIME_ORIGINAL, "exif:DateTimeOriginal"),
    (DATETIME_DIGITIZED, OFFSET_TIME_DIGITIZED, SUBSEC_TIME_DIGITIZED, "exif:DateTimeDigitized"),
)
_MODIFIED = (DATETIME, OFFSET_TIME, SUBSEC_TIME, "exif:DateTime")
_DATE = re.compile(r"^\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_DAY = re.compile(r"^\s*(\d{4})[:\-/]?(\d{2})[:\-/]?(\d{2})\s*$")
_IPTC_TIME = re.compile(r"^\s*(\d{2}):?(\d{2}):?(\d{2})\s*([+-]\d{2}:?\d{2}|Z)?\s*$")
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


def capture_time(ifd0: Mapping[int, Any], exif_ifd: Mapping[int, Any], now: datetime | None = None, *,
                 gps_ifd: Mapping[int, Any] | None = None, iptc: Mapping[tuple[int, int], Any] | None = None
                 ) -> CaptureTime | None:
    """The first plausible date of: EXIF DateTimeOriginal, DateTimeDigitized (each with its offset and
    sub-seconds), IPTC DateCreated (+ TimeCreated), the GPS date and time, EXIF DateTime. None when
    none is usable: the caller falls back to the file's time."""
    now = now or datetime.now(UTC)
    candidates = [
        *(_exif_candidate(ifd0, exif_ifd, entry) for entry in _DATE_TAGS),
        _iptc_candidate(iptc or {}),
        _gps_candidate(gps_ifd or {}),
        _exif_candidate(ifd0, exif_ifd, _MODIFIED),
    ]
    for candidate in candidates:
        # A clock set to 2099 or a date before photography existed is noise, not a capture time.
        if candidate is not None and candidate.taken_at.year >= _FIRST_PHOTO_YEAR and (
                candidate.taken_at <= now + timedelta(days=2)):
            return candidate
    return None


def _exif_candidate(ifd0: Mapping[int, Any], exif_ifd: Mapping[int, Any],
                    entry: tuple[int, int, int, str]) -> CaptureTime | None:
    tag, offset_tag, subsec_tag, source = entry
    parsed = _parse_datetime(text(exif_ifd.get(tag, ifd0.get(tag))))
    if parsed is None:
        return None
    micros = _subsec_micros(text(exif_ifd.get(subsec_tag)))
    offset = _parse_offset(text(exif_ifd.get(offset_tag)))
    value = parsed.replace(microsecond=micros, tzinfo=offset or UTC)
    return CaptureTime(value, source if offset else f"{source}:local")


def _iptc_candidate(iptc: Mapping[tuple[int, int], Any]) -> CaptureTime | None:
    """IPTC DateCreated "YYYYMMDD" with TimeCreated "HHMMSS±HHMM" (midnight when the time is absent)."""
    day = _parse_day(text(_first(iptc.get(IPTC_DATE_CREATED))))
    if day is None:
        return None
    clock = _IPTC_TIME.match(text(_first(iptc.get(IPTC_TIME_CREATED))) or "")
    hour, minute, second = (int(part) for part in clock.groups()[:3]) if clock else (0, 0, 0)
    offset = _parse_offset(clock.group(4)) if clock and clock.group(4) else None
    try:
        value = datetime(day[0], day[1], day[2], hour, minute, second, tzinfo=offset or UTC)
    except ValueError:
        return None
    return CaptureTime(value, "iptc:DateCreated" if offset else "iptc:DateCreated:local")


def _gps_candidate(gps_ifd: Mapping[int, Any]) -> CaptureTime | None:
    """GPSDateStamp + GPSTimeStamp: the satellite fix time, always UTC."""
    day = _parse_day(text(gps_ifd.get(GPS_DATE)))
    clock = gps_ifd.get(GPS_TIME)
    if day is None or not isinstance(clock, tuple | list) or len(clock) != 3:
        return None
    parts = [_number(part) for part in clock]
    if any(part is None or part < 0 for part in parts):
        return None
    seconds = sum(float(part or 0) * 60.0 ** (2 - i) for i, part in enumerate(parts))
    if seconds >= 86_400:
        return None
    try:
        midnight = datetime(day[0], day[1], day[2], tzinfo=UTC)
    except ValueError:  # "1999:99:99"
        return None
    return CaptureTime(midnight + timedelta(seconds=round(seconds, 6)), "exif:GPSDateTime")


def _parse_day(value: str | None) -> tuple[int, int, int] | None:
    """(year, month, day) of "YYYY:MM:DD" or "YYYYMMDD", unchecked (datetime() checks the ranges)."""
    match = _DAY.match(value or "")
    if not match:
        return None
    year, month, day = (int(part) for part in match.groups())
    return year, month, day


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


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
