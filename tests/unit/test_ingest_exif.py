"""EXIF readers on hand-made tag blocks: dates, offsets, GPS edge cases, text cleaning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from PIL.TiffImagePlugin import IFDRational

from imgsearch.common import imaging
from imgsearch.ingest import exif

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_original_with_offset_wins() -> None:
    got = exif.capture_time(
        {exif.DATETIME: "2020:01:01 00:00:00"},
        {exif.DATETIME_ORIGINAL: "2019:06:30 23:59:58\x00", exif.OFFSET_TIME_ORIGINAL: "-05:00",
         exif.SUBSEC_TIME_ORIGINAL: "25"},
        NOW,
    )
    assert got == exif.CaptureTime(
        datetime(2019, 6, 30, 23, 59, 58, 250000, tzinfo=timezone(timedelta(hours=-5))),
        "exif:DateTimeOriginal",
    )


def test_naive_time_is_stored_as_utc_and_marked_local() -> None:
    got = exif.capture_time({}, {exif.DATETIME_ORIGINAL: "2019:06:30 10:00:00"}, NOW)
    assert got == exif.CaptureTime(datetime(2019, 6, 30, 10, tzinfo=UTC), "exif:DateTimeOriginal:local")


def test_fallbacks_and_garbage() -> None:
    assert exif.capture_time({exif.DATETIME: "2010:08:15 13:58:09"}, {}, NOW) == exif.CaptureTime(
        datetime(2010, 8, 15, 13, 58, 9, tzinfo=UTC), "exif:DateTime:local")
    digitized = exif.capture_time(
        {exif.DATETIME: "2012:01:01 00:00:00"},
        {exif.DATETIME_ORIGINAL: "0000:00:00 00:00:00", exif.DATETIME_DIGITIZED: "2011:01:01 00:00:00"},
        NOW,
    )
    assert digitized is not None and digitized.source == "exif:DateTimeDigitized:local"
    assert exif.capture_time({}, {exif.DATETIME_ORIGINAL: "2099:09:29 10:10:10"}, NOW) is None
    assert exif.capture_time({}, {exif.DATETIME_ORIGINAL: "    :  :     :  :  "}, NOW) is None
    assert exif.capture_time({}, {exif.DATETIME_ORIGINAL: b"\xff\xfe"}, NOW) is None
    assert exif.capture_time({}, {}, NOW) is None


def _dms(d: float, m: float, s: float) -> tuple[IFDRational, ...]:
    return tuple(IFDRational(int(v * 1000), 1000) for v in (d, m, s))


def test_gps_dms_and_refs() -> None:
    block = {exif.GPS_LAT_REF: "S", exif.GPS_LAT: _dms(38, 24, 18.7), exif.GPS_LON_REF: "W",
             exif.GPS_LON: _dms(108, 0, 0), exif.GPS_ALT_REF: b"\x01", exif.GPS_ALT: IFDRational(105, 1)}
    assert exif.gps(block) == exif.GpsPosition(-38.4051944, -108.0, -105.0)


def test_gps_degrees_and_decimal_minutes() -> None:
    block = {exif.GPS_LAT_REF: "N", exif.GPS_LAT: (IFDRational(38, 1), IFDRational(243114, 10000)),
             exif.GPS_LON_REF: "E", exif.GPS_LON: (IFDRational(144, 1),)}
    position = exif.gps(block)
    assert position is not None and abs(position.lat - 38.40519) < 1e-5 and position.lon == 144.0


def test_gps_rejects_nan_out_of_range_empty_and_null_island() -> None:
    nan = (IFDRational(0, 0), IFDRational(0, 0), IFDRational(0, 0))
    assert exif.gps({}) is None
    assert exif.gps({exif.GPS_LAT: nan, exif.GPS_LON: nan}) is None
    assert exif.gps({exif.GPS_LAT: _dms(4294967295, 0, 0), exif.GPS_LON: _dms(10, 0, 0)}) is None
    assert exif.gps({exif.GPS_LAT: _dms(0, 0, 0), exif.GPS_LON: _dms(0, 0, 0)}) is None
    assert exif.gps({exif.GPS_LAT: "garbage", exif.GPS_LON: _dms(1, 0, 0)}) is None
    assert exif.gps({exif.GPS_LAT: (1, 2, 3, 4), exif.GPS_LON: _dms(1, 0, 0)}) is None


def test_gps_drops_an_overflowed_altitude_but_keeps_the_position() -> None:
    block = {exif.GPS_LAT: _dms(45, 0, 0), exif.GPS_LON: _dms(33, 0, 0),
             exif.GPS_ALT: IFDRational(4294967284, 1)}
    assert exif.gps(block) == exif.GpsPosition(45.0, 33.0, None)


def test_text_and_orientation_cleaning() -> None:
    assert exif.text("Canon\x00\x00 ") == "Canon"
    assert exif.text(b"NIKON\x00") == "NIKON"
    assert exif.text("\x00") is None and exif.text(7) is None
    assert imaging.orientation({imaging.ORIENTATION_TAG: 6}) == 6
    assert imaging.orientation({imaging.ORIENTATION_TAG: 0}) == 1
    assert imaging.orientation({imaging.ORIENTATION_TAG: 9}) == 1
    assert exif.camera({exif.MAKE: "Apple", exif.MODEL: "iPhone 7"}) == ("Apple", "iPhone 7")


def test_gps_time_and_iptc_date_come_between_digitized_and_datetime() -> None:
    gps_block = {exif.GPS_DATE: "2008:10:23", exif.GPS_TIME: (IFDRational(14, 1), IFDRational(27, 1),
                                                               IFDRational(724, 100))}
    modified = {exif.DATETIME: "2008:11:01 21:15:07"}
    got = exif.capture_time(modified, {}, NOW, gps_ifd=gps_block)
    assert got == exif.CaptureTime(datetime(2008, 10, 23, 14, 27, 7, 240000, tzinfo=UTC), "exif:GPSDateTime")
    iptc = {exif.IPTC_DATE_CREATED: b"20220110", exif.IPTC_TIME_CREATED: b"151544-0400"}
    assert exif.capture_time(modified, {}, NOW, gps_ifd=gps_block, iptc=iptc) == exif.CaptureTime(
        datetime(2022, 1, 10, 15, 15, 44, tzinfo=timezone(timedelta(hours=-4))), "iptc:DateCreated")
    day_only = {exif.IPTC_DATE_CREATED: [b"20220110"]}
    assert exif.capture_time(modified, {}, NOW, iptc=day_only) == exif.CaptureTime(
        datetime(2022, 1, 10, tzinfo=UTC), "iptc:DateCreated:local")
    original = {exif.DATETIME_ORIGINAL: "2008:10:22 16:28:39"}
    first = exif.capture_time(modified, original, NOW, gps_ifd=gps_block, iptc=iptc)
    assert first is not None and first.source == "exif:DateTimeOriginal:local"


def test_broken_gps_and_iptc_dates_fall_through() -> None:
    bad_day = {exif.GPS_DATE: "1999:99:99", exif.GPS_TIME: (IFDRational(1, 1),) * 3}
    bad_time = {exif.GPS_DATE: "2020:01:01", exif.GPS_TIME: (IFDRational(25, 1), IFDRational(0, 1),
                                                              IFDRational(0, 1))}
    nan_time = {exif.GPS_DATE: "2020:01:01", exif.GPS_TIME: (IFDRational(0, 0),) * 3}
    for block in (bad_day, bad_time, nan_time, {exif.GPS_DATE: "2020:01:01"}):
        assert exif.capture_time({}, {}, NOW, gps_ifd=block) is None
    assert exif.capture_time({}, {}, NOW, iptc={exif.IPTC_TIME_CREATED: b"143000+0000"}) is None
    assert exif.capture_time({}, {}, NOW, iptc={exif.IPTC_DATE_CREATED: b"20221340"}) is None
