"""feeds.dates.parse_date: every accepted form, the error messages, properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from feeds.dates import parse_date
from feeds.errors import DateError

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
HINT = "(try 2021-07-10 21:41:00)"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# --- every accepted form, with the exact instant (site zone Asia/Shanghai) ---

GOOD: list[tuple[object, datetime]] = [
    # RFC 822 / 2822
    ("Sat, 10 Jul 2021 21:41:00 GMT", utc(2021, 7, 10, 21, 41)),
    ("Sat, 10 Jul 2021 21:41:00 UT", utc(2021, 7, 10, 21, 41)),
    ("Sat, 10 Jul 2021 21:41:00 UTC", utc(2021, 7, 10, 21, 41)),
    ("Sat, 10 Jul 2021 21:41:00 Z", utc(2021, 7, 10, 21, 41)),
    ("Sat, 10 Jul 2021 21:41:00 +0800", utc(2021, 7, 10, 13, 41)),
    ("Sat, 10 Jul 2021 21:41:00 -0500", utc(2021, 7, 11, 2, 41)),
    ("Sat, 10 Jul 2021 21:41:00 -0000", utc(2021, 7, 10, 21, 41)),
    ("Tue, 13 Jul 2021 10:00:00 CST", utc(2021, 7, 13, 2)),  # China, not US Central
    ("Tue, 13 Jul 2021 10:00:00 BJT", utc(2021, 7, 13, 2)),
    ("Tue, 13 Jul 2021 10:00:00 EST", utc(2021, 7, 13, 15)),
    ("Tue, 13 Jul 2021 10:00:00 EDT", utc(2021, 7, 13, 14)),
    ("Tue, 13 Jul 2021 10:00:00 CDT", utc(2021, 7, 13, 15)),
    ("Tue, 13 Jul 2021 10:00:00 MST", utc(2021, 7, 13, 17)),
    ("Tue, 13 Jul 2021 10:00:00 MDT", utc(2021, 7, 13, 16)),
    ("Tue, 13 Jul 2021 10:00:00 PST", utc(2021, 7, 13, 18)),
    ("Tue, 13 Jul 2021 10:00:00 PDT", utc(2021, 7, 13, 17)),
    ("Tue, 13 Jul 2021 10:00:00 gmt", utc(2021, 7, 13, 10)),
    ("Mon, 10 Jul 2021 21:41:00 GMT", utc(2021, 7, 10, 21, 41)),  # wrong weekday: date wins
    ("10 Jul 2021 21:41:00 GMT", utc(2021, 7, 10, 21, 41)),  # no weekday
    ("Sat, 10 Jul 2021 21:41 GMT", utc(2021, 7, 10, 21, 41)),  # no seconds
    ("Sat, 10 Jul 21 21:41:00 GMT", utc(2021, 7, 10, 21, 41)),  # 2-digit year, RFC 2822 4.3
    ("Sat, 10 Jul 99 21:41:00 GMT", utc(1999, 7, 10, 21, 41)),
    ("Saturday, 10 July 2021 21:41:00 GMT", utc(2021, 7, 10, 21, 41)),
    ("Sat, 10 Jul 2021 21:41:00", utc(2021, 7, 10, 13, 41)),  # no zone: site time
    ("Sat, 10 Jul 2021 21:41:00 +0800 (CST)", utc(2021, 7, 10, 13, 41)),  # comment
    # ISO 8601 and YAML timestamps
    ("2021-07-14T08:15:00+08:00", utc(2021, 7, 14, 0, 15)),
    ("2021-07-14T08:15:00+0800", utc(2021, 7, 14, 0, 15)),
    ("2021-07-14T08:15:00+08", utc(2021, 7, 14, 0, 15)),
    ("2021-07-14 08:15:00 +8", utc(2021, 7, 14, 0, 15)),
    ("2021-07-14T08:15:00-05:00", utc(2021, 7, 14, 13, 15)),
    ("2021-07-14T08:15:00+05:45:30", utc(2021, 7, 14, 2, 29, 30)),
    ("2021-07-14T08:15:00Z", utc(2021, 7, 14, 8, 15)),
    ("2021-07-14t08:15:00z", utc(2021, 7, 14, 8, 15)),
    ("2021-07-14T08:15:00.123Z", utc(2021, 7, 14, 8, 15, 0, 123000)),
    ("2021-07-14T08:15:00,5+08:00", utc(2021, 7, 14, 0, 15, 0, 500000)),
    ("2021-07-14T08:15:00.1234567Z", utc(2021, 7, 14, 8, 15, 0, 123456)),
    ("2021-07-14 08:15:00 UTC", utc(2021, 7, 14, 8, 15)),
    ("2021-07-14 08:15:00 CST", utc(2021, 7, 14, 0, 15)),
    ("2021-07-15 14:20:00", utc(2021, 7, 15, 6, 20)),
    ("2021-07-14 08:15", utc(2021, 7, 14, 0, 15)),
    ("2021-07-14T08:15", utc(2021, 7, 14, 0, 15)),
    ("2021-07-14", utc(2021, 7, 13, 16)),
    ("2021-7-4", utc(2021, 7, 3, 16)),
    # 2021/07/10 and 2021.07.10
    ("2021/07/10 21:41", utc(2021, 7, 10, 13, 41)),
    ("2021/07/10 21:41:30", utc(2021, 7, 10, 13, 41, 30)),
    ("2021/7/10", utc(2021, 7, 9, 16)),
    ("2021.07.10 21:41", utc(2021, 7, 10, 13, 41)),
    ("2021.7.10", utc(2021, 7, 9, 16)),
    # Chinese
    ("2021年7月18日", utc(2021, 7, 17, 16)),
    ("2021年7月10日 21:41", utc(2021, 7, 10, 13, 41)),
    ("2021年7月10日 21:41:30", utc(2021, 7, 10, 13, 41, 30)),
    ("2021年7月10日21:41", utc(2021, 7, 10, 13, 41)),
    ("2021 年 7 月 10 日 21:41", utc(2021, 7, 10, 13, 41)),
    ("2021年07月10日21时41分", utc(2021, 7, 10, 13, 41)),
    ("2021年07月10日 21时41分30秒", utc(2021, 7, 10, 13, 41, 30)),
    ("2021年07月10日 21点41分", utc(2021, 7, 10, 13, 41)),
    ("2021年07月10日 21点", utc(2021, 7, 10, 13)),
    ("2021年7月10日 21：41", utc(2021, 7, 10, 13, 41)),  # full-width colon
    ("2021年7月10号", utc(2021, 7, 9, 16)),
    ("2021年7月10日（周六）", utc(2021, 7, 9, 16)),
    # epoch seconds
    (1626745200, utc(2021, 7, 20, 1, 40)),
    ("1626745200", utc(2021, 7, 20, 1, 40)),
    ("999999999", utc(2001, 9, 9, 1, 46, 39)),
    (0, utc(1970, 1, 1)),
    (-1, utc(1969, 12, 31, 23, 59, 59)),
    (99999999999, utc(5138, 11, 16, 9, 46, 39)),  # the largest value read as seconds
    (253402300799, utc(1978, 1, 11, 21, 31, 40, 799000)),  # 12 digits: milliseconds
    (-62135596800, utc(1, 1, 1)),
    # the dateutil fallback: English month names only
    ("July 10, 2021 9:41 PM", utc(2021, 7, 10, 13, 41)),
    ("10 July 2021", utc(2021, 7, 9, 16)),
    ("Sat Jul 10 2021 21:41:00 GMT+0800 (China Standard Time)", utc(2021, 7, 10, 13, 41)),
    ("July 10 2021 21:41 UTC+8", utc(2021, 7, 10, 13, 41)),  # human, not POSIX, sign
    ("July 10 2021 21:41 EST", utc(2021, 7, 11, 2, 41)),
    ("10-Jul-2021 21:41", utc(2021, 7, 10, 13, 41)),
    # YAML's own values
    (date(2021, 7, 18), utc(2021, 7, 17, 16)),
    (datetime(2021, 7, 15, 14, 20), utc(2021, 7, 15, 6, 20)),  # noqa: DTZ001 - naive on purpose
    (datetime(2021, 7, 14, 8, 15, tzinfo=timezone(timedelta(hours=8))), utc(2021, 7, 14, 0, 15)),
    (datetime(2021, 7, 14, 8, 15, tzinfo=UTC), utc(2021, 7, 14, 8, 15)),
    # surrounding white space
    ("  2021-07-15 14:20:00\n", utc(2021, 7, 15, 6, 20)),
    ("\u30002021年7月18日\u3000", utc(2021, 7, 17, 16)),
]


@pytest.mark.parametrize(("value", "expected"), GOOD, ids=[repr(v) for v, _ in GOOD])
def test_accepted_forms(value: object, expected: datetime) -> None:
    got = parse_date(value, SH)
    assert got == expected
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("d: 2021-07-14T08:15:00+08:00", utc(2021, 7, 14, 0, 15)),
        ("d: 2021-07-14T08:15:00Z", utc(2021, 7, 14, 8, 15)),
        ("d: 2021-07-14 08:15:00", utc(2021, 7, 14, 0, 15)),
        ("d: 2021-07-14", utc(2021, 7, 13, 16)),
        ("d: 1626745200", utc(2021, 7, 20, 1, 40)),
        ("d: Sat, 10 Jul 2021 21:41:00 GMT", utc(2021, 7, 10, 21, 41)),
        ("d: 2021年7月10日 21:41", utc(2021, 7, 10, 13, 41)),
    ],
)
def test_values_straight_from_yaml(text: str, expected: datetime) -> None:
    assert parse_date(yaml.safe_load(text)["d"], SH) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # spring forward: 02:30 does not exist; fold=0 reads it with the old offset (EST)
        ("2021-03-14 02:30:00", utc(2021, 3, 14, 7, 30)),
        # fall back: 01:30 happens twice; fold=0 is the first one (EDT)
        ("2021-11-07 01:30:00", utc(2021, 11, 7, 5, 30)),
        (datetime(2021, 11, 7, 1, 30, fold=1), utc(2021, 11, 7, 5, 30)),  # noqa: DTZ001
        ("2021-07-14", utc(2021, 7, 14, 4)),
        ("2021-01-14", utc(2021, 1, 14, 5)),
    ],
)
def test_site_time_across_dst(value: object, expected: datetime) -> None:
    assert parse_date(value, NY) == expected


# --- errors, with the exact message ---

BAD = [
    pytest.param(None, "no date", id="None"),
    pytest.param("", f"empty date {HINT}", id="empty"),
    pytest.param(" \t\n", f"empty date {HINT}", id="blank"),
    pytest.param("sometime", f"'sometime' is not a date {HINT}", id="sometime"),
    pytest.param("hello 12", f"'hello 12' is not a date {HINT}", id="hello 12"),
    pytest.param("1", f"'1' is not a date {HINT}", id="'1'"),
    pytest.param("7月", f"'7月' is not a date {HINT}", id="7月"),
    pytest.param("2021", f"'2021' is not a date {HINT}", id="'2021'"),
    pytest.param("20210710", f"'20210710' is not a date {HINT}", id="8 digits"),
    pytest.param("10/07/2021", f"'10/07/2021' is not a date {HINT}", id="day-month ambiguous"),
    pytest.param("July 10", f"'July 10' is not a date {HINT}", id="no year"),
    pytest.param(
        "July 2021",
        "'July 2021' is not a date (needs a year, a month and a day; try 2021-07-10 21:41:00)",
        id="no day",
    ),
    pytest.param(
        "Sat July 2021",
        "'Sat July 2021' is not a date (needs a year, a month and a day; try 2021-07-10 21:41:00)",
        id="weekday is no day",
    ),
    pytest.param("7 May 07 2021", f"'7 May 07 2021' is not a date {HINT}", id="2-digit year, fallback"),
    pytest.param("2021-02-30", "'2021-02-30' is not a date (day is out of range for month)", id="Feb 30"),
    pytest.param("2021年2月30日", "'2021年2月30日' is not a date (day is out of range for month)", id="2月30日"),
    pytest.param("2021-07-10 25:00", "'2021-07-10 25:00' is not a date (hour must be in 0..23)", id="25:00"),
    pytest.param("2021/07/10 21:61", "'2021/07/10 21:61' is not a date (minute must be in 0..59)", id="21:61"),
    pytest.param(
        "Sat, 10 Jux 2021 21:41:00 GMT",
        f"'Sat, 10 Jux 2021 21:41:00 GMT' is not a date {HINT}",
        id="bad month",
    ),
    pytest.param(
        "Sat, 10 Jul 2021 21:41:00 XYZ",
        "'Sat, 10 Jul 2021 21:41:00 XYZ' is not a date (unknown time zone 'XYZ')",
        id="unknown zone",
    ),
    pytest.param(
        "July 10 2021 21:41 BRST",
        "'July 10 2021 21:41 BRST' is not a date (unknown time zone 'BRST')",
        id="unknown zone, fallback",
    ),
    pytest.param(
        "2021-07-14T08:15:00+24:00",
        "'2021-07-14T08:15:00+24:00' is not a date (bad offset '+24:00')",
        id="offset 24h",
    ),
    pytest.param("0001-01-01", "'0001-01-01' is not a date (out of range: years 1..9999)", id="before year 1 UTC"),
    pytest.param(True, f"True is not a date {HINT}", id="True"),
    pytest.param(False, f"False is not a date {HINT}", id="False"),
    pytest.param(1.5, f"1.5 is not a date {HINT}", id="1.5"),
    pytest.param(1626745200.0, f"1626745200.0 is not a date {HINT}", id="whole float"),
    pytest.param([2021, 7, 10], f"[2021, 7, 10] is not a date {HINT}", id="list"),
    pytest.param({"y": 2021}, f"{{'y': 2021}} is not a date {HINT}", id="dict"),
    pytest.param(10**20, "100000000000000000000 is not a date (out of range: years 1..9999)", id="10**20"),
    pytest.param(10**14, "100000000000000 is not a date (out of range: years 1..9999)", id="after 9999"),
    pytest.param(10**5000, "a huge number is not a date (out of range: years 1..9999)", id="10**5000"),
    pytest.param("x" * 100, f"'{'x' * 58}… is not a date {HINT}", id="long text is cut"),
]


@pytest.mark.parametrize(("value", "message"), BAD)
def test_rejected_with_message(value: object, message: str) -> None:
    with pytest.raises(DateError) as caught:
        parse_date(value, SH)
    assert str(caught.value) == message


def test_date_error_is_a_value_error() -> None:
    assert issubclass(DateError, ValueError)


# --- properties ---

FIXED_ZONES = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
SITE_ZONES = st.sampled_from(
    [
        UTC,
        SH,
        NY,
        ZoneInfo("Europe/London"),
        ZoneInfo("Australia/Lord_Howe"),  # half-hour DST
        ZoneInfo("Asia/Kathmandu"),  # +05:45
    ]
)
AWARE = st.datetimes(
    min_value=datetime(1970, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2100, 12, 31, 23, 59, 59),  # noqa: DTZ001
    timezones=st.one_of(FIXED_ZONES, st.timezones()),
    allow_imaginary=False,
).map(lambda d: d.replace(microsecond=0))
NAIVE = st.datetimes(
    min_value=datetime(1900, 1, 1),  # noqa: DTZ001
    max_value=datetime(2200, 12, 31, 23, 59, 59),  # noqa: DTZ001
).map(lambda d: d.replace(microsecond=0, fold=0))
TOKENS = st.sampled_from(
    [
        "2021", "07", "7", "10", "31", "9", "0000", "9999", "99999999999999999999",
        "Jul", "July", "May", "Sat", "Mon", "Foo", "AM", "PM", "of", "at",
        ",", " ", ":", "-", "/", ".", "T", "Z", "+", "(", ")", "（", "）",
        "+0800", "+08:00", "-05", "+24:00", "GMT", "UTC", "CST", "EST", "XYZ", "BRST",
        "年", "月", "日", "号", "时", "点", "分", "秒", "：",
    ]
)  # fmt: skip
DATE_LIKE = st.lists(TOKENS, max_size=14).map("".join)


@given(AWARE)
def test_rfc2822_and_iso_round_trip(moment: datetime) -> None:
    expected = moment.astimezone(UTC)
    texts = [format_datetime(moment), moment.isoformat(), format_datetime(expected, usegmt=True)]
    for text in texts:
        got = parse_date(text, SH)
        assert got == expected, text
        assert got.tzinfo is UTC
        assert (got.year, got.month, got.day, got.hour, got.minute, got.second) == (
            expected.year,
            expected.month,
            expected.day,
            expected.hour,
            expected.minute,
            expected.second,
        )


@given(AWARE)
def test_aware_datetime_values_are_converted(moment: datetime) -> None:
    got = parse_date(moment, SH)
    assert got == moment
    assert got.tzinfo is UTC


@given(NAIVE, SITE_ZONES)
def test_naive_means_site_time(naive: datetime, tz: tzinfo) -> None:
    expected = naive.replace(tzinfo=tz).astimezone(UTC)
    assert parse_date(naive, tz) == expected
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y年%m月%d日 %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        got = parse_date(naive.strftime(fmt), tz)
        assert got == expected, fmt
        assert got.tzinfo is UTC


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), SITE_ZONES)
def test_dates_are_midnight_site_time(day: date, tz: tzinfo) -> None:
    expected = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    assert parse_date(day, tz) == expected
    assert parse_date(day.isoformat(), tz) == expected
    assert parse_date(f"{day.year}年{day.month}月{day.day}日", tz) == expected


@given(st.integers(min_value=-62135596800, max_value=10**11 - 1), SITE_ZONES)
def test_epoch_seconds(seconds: int, tz: tzinfo) -> None:
    """Up to 11 digits, seconds; 12 to 14 digits are milliseconds (see the test below)."""
    got = parse_date(seconds, tz)
    assert got == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    assert got.tzinfo is UTC
    if 10**8 <= seconds < 10**11:
        assert parse_date(str(seconds), tz) == got


def _only_date_error(value: object, tz: tzinfo) -> None:
    """parse_date returns an aware UTC datetime or raises DateError, nothing else."""
    try:
        got = parse_date(value, tz)
    except DateError as error:
        assert str(error)
    else:
        assert isinstance(got, datetime)
        assert got.tzinfo is UTC


@given(st.text(), SITE_ZONES)
def test_any_text_gives_utc_or_date_error(text: str, tz: tzinfo) -> None:
    _only_date_error(text, tz)


@given(DATE_LIKE, SITE_ZONES)
def test_date_like_text_gives_utc_or_date_error(text: str, tz: tzinfo) -> None:
    _only_date_error(text, tz)


@given(st.integers(), SITE_ZONES)
def test_any_int_gives_utc_or_date_error(number: int, tz: tzinfo) -> None:
    _only_date_error(number, tz)


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.floats(),
        st.dates(),
        st.datetimes(),
        st.datetimes(timezones=st.one_of(FIXED_ZONES, st.timezones())),
        st.lists(st.integers(), max_size=3),
    ),
    SITE_ZONES,
)
def test_any_yaml_value_gives_utc_or_date_error(value: object, tz: tzinfo) -> None:
    _only_date_error(value, tz)


@pytest.mark.parametrize("value", [1626745200000, "1626745200000", 1626745200, "1626745200"])
def test_epoch_milliseconds_as_javascript_writes_them(value: object) -> None:
    assert parse_date(value, ZoneInfo("Asia/Shanghai")) == datetime(2021, 7, 20, 1, 40, tzinfo=UTC)


@pytest.mark.parametrize(("text", "local"), [
    ("2021-07-10 21:41:00 星期六", (2021, 7, 10, 21, 41)),
    ("2021年7月10日 星期六 21:41", (2021, 7, 10, 21, 41)),
    ("周六 2021-07-10", (2021, 7, 10, 0, 0)),
    ("2021-07-10T21:41:00+08:00[Asia/Shanghai]", (2021, 7, 10, 21, 41)),
    ("2021-07-10 下午9:41", (2021, 7, 10, 21, 41)),
    ("2021年7月10日 下午9点41分", (2021, 7, 10, 21, 41)),
    ("2021年7月10日 晚上11:05", (2021, 7, 10, 23, 5)),
    ("2021年7月10日 中午12:30", (2021, 7, 10, 12, 30)),
    ("2021年7月10日 凌晨12:30", (2021, 7, 10, 0, 30)),
    ("2021/07/10 上午 9:41", (2021, 7, 10, 9, 41)),
    ("2021-07-10 下午13:00", (2021, 7, 10, 13, 0)),
])
def test_what_chinese_sites_add_around_dates(text: str, local: tuple[int, ...]) -> None:
    tz = ZoneInfo("Asia/Shanghai")
    assert parse_date(text, tz) == datetime(*local, tzinfo=tz).astimezone(UTC)
