"""Front-matter dates to aware UTC datetimes.

One public function, :func:`parse_date`.  It is pure: it never looks at the
clock or at file times, so the same input always gives the same instant.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from feeds.errors import DateError

__all__ = ["parse_date"]

_HINT = "try 2021-07-10 21:41:00"
_QUOTE_MAX = 60
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_EPOCH = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // timedelta(seconds=1)
_MAX_EPOCH = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // timedelta(seconds=1)

# Zone names: the RFC 822 ones, except that CST is China Standard Time here
# (the site is Chinese; US Central would be six hours in the past).
_UTC_NAMES = frozenset({"UT", "UTC", "GMT", "Z"})
_ZONE_HOURS = dict.fromkeys(_UTC_NAMES, 0) | {
    "EST": -5, "EDT": -4, "CDT": -5, "MST": -7, "MDT": -6,
    "PST": -8, "PDT": -7, "CST": 8, "BJT": 8,
}  # fmt: skip
_WEEKDAYS = frozenset(n for d in ("mon", "tues", "wednes", "thurs", "fri", "satur", "sun") for n in (d[:3], f"{d}day"))
_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december",
)  # fmt: skip
_MONTHS = {
    **{name: i for i, name in enumerate(_MONTH_NAMES, 1)},
    **{name[:3]: i for i, name in enumerate(_MONTH_NAMES, 1)},
    "sept": 9,
}

_ZONE = r"(?P<zone>[+-](?:[0-9]{2}(?::?[0-9]{2}){0,2}|[0-9])|[A-Za-z]{1,5})"
_OFFSET = re.compile(r"([+-])([0-9]{1,2}):?([0-9]{2})?:?([0-9]{2})?")
_CLOCK = r"(?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:[.,](?P<F>[0-9]+))?)?"
_EPOCH_TEXT = re.compile(r"[0-9]{9,13}")
_MILLIS = (10**11, 10**14)  # seconds would be years 5138 and later: these are milliseconds (JavaScript)
_NUMERIC = re.compile(  # 2021-07-14T08:15:00+08:00, 2021/7/10 21:41, 2021.07.10
    r"(?P<y>[0-9]{4})(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})"
    rf"(?:(?:[Tt]|\s+){_CLOCK}(?:\s*{_ZONE})?)?"
)
_RFC822 = re.compile(  # Sat, 10 Jul 2021 21:41:00 GMT
    r"(?:(?P<wd>[A-Za-z]+)(?:\s*,\s*|\s+))?(?P<d>[0-9]{1,2})\s+(?P<mon>[A-Za-z]+)\.?\s+"
    rf"(?P<y>[0-9]{{4}}|[0-9]{{2}})\s+{_CLOCK}(?:\s*{_ZONE})?"
)
_CHINESE = re.compile(  # 2021年7月10日 21:41, 2021年07月10日21时41分
    r"(?P<y>[0-9]{4})\s*年\s*(?P<m>[0-9]{1,2})\s*月\s*(?P<d>[0-9]{1,2})\s*[日号號]"
    r"(?:\s*(?:(?P<H>[0-9]{1,2})\s*[:：]\s*(?P<M>[0-9]{2})(?:\s*[:：]\s*(?P<S>[0-9]{2}))?"
    r"|(?P<h>[0-9]{1,2})\s*[时時点點]\s*(?:(?P<m2>[0-9]{1,2})\s*"
    r"(?:分(?:\s*(?P<s>[0-9]{1,2})\s*秒)?)?)?))?"
)
_COMMENT = re.compile(r"\s*[(（][^()（）]*[)）]$")  # "+0800 (CST)", "（周六）"
_WEEKDAY = re.compile(r"\s*(?:星期|周|礼拜|禮拜)[一二三四五六日天七]\s*")  # "2021年7月10日 星期六 21:41"
_ZONE_NAME = re.compile(r"(?<=[0-9Z])\[[A-Za-z_/+-]+\]$")  # RFC 9557: "…+08:00[Asia/Shanghai]"
_HALF_DAY = re.compile(r"(上午|早上|早晨|凌晨|中午|下午|晚上|傍晚|夜间)\s*([0-9]{1,2})(?=\s*[:：点點时時])")
_AFTERNOON = {"中午", "下午", "晚上", "傍晚", "夜间"}
_GMT_PLUS = re.compile(r"\b(?:GMT|UTC|UT)\s*(?=[+-][0-9])", re.IGNORECASE)  # dateutil: GMT+8 is UTC-8
_YEAR4 = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")
_WORD = re.compile(r"[A-Za-z]+")
# Two different fallback defaults: a part missing from the text shows up as a
# difference between the two results, so dateutil can never fill one in.
_DEFAULTS = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2001, 2, 2, tzinfo=UTC))


class _Reject(Exception):
    """Why a value is not a date; :func:`parse_date` adds the quoted value."""


def parse_date(value: object, tz: tzinfo) -> datetime:
    """Return the instant *value* names, as an aware datetime in UTC.

    *tz* is the site time zone: any time written without an offset (and a bare
    date, which means midnight) is taken as site time.  Nonexistent or doubled
    local times around a DST change resolve with ``fold=0``.

    Accepted: ``datetime.date`` and naive/aware ``datetime`` (what YAML gives);
    an ``int`` of Unix seconds, or a string of 9-11 digits; RFC 822/2822
    (``Sat, 10 Jul 2021 21:41:00 GMT``; weekday optional and not checked
    against the date, the date wins; ``CST``/``BJT`` mean +08:00, other names
    are the RFC 822 ones, an unknown name is an error); ISO 8601
    (``2021-07-14T08:15:00.123+08:00``, ``2021-07-14 08:15``, ``2021-07-14``),
    also with ``/`` or ``.`` between the date parts; ``2021年7月10日 21:41``
    and ``2021年07月10日21时41分``; and, last, English dates dateutil reads
    that name a month and have a four-digit year and a day
    (``July 10, 2021 9:41 PM``).  ``GMT+0800`` means eight hours east.

    Raises :class:`~feeds.errors.DateError` for anything else, including bools,
    floats, impossible dates (2021-02-30, 25:00) and instants outside years
    1..9999.
    """
    if value is None:
        raise DateError("no date")
    if isinstance(value, str) and not value.strip():
        raise DateError(f"empty date ({_HINT})")
    try:
        return _to_utc(_parse(value, tz))
    except _Reject as why:
        raise DateError(f"{_quote(value)} is not a date ({why})") from None


def _parse(value: object, tz: tzinfo) -> datetime:
    """Dispatch on the type YAML gave; the result may be in any zone."""
    if isinstance(value, str):
        return _parse_text(value.strip(), tz)
    if isinstance(value, bool) or not isinstance(value, (int, date)):
        raise _Reject(_HINT)
    if isinstance(value, int):
        return _from_epoch(value)
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if value.utcoffset() is None:
        return value.replace(tzinfo=tz, fold=0)
    return value


def _to_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise _Reject("out of range: years 1..9999") from None


def _quote(value: object) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int too long to turn into digits
        return "a huge number"
    return text if len(text) <= _QUOTE_MAX else f"{text[: _QUOTE_MAX - 1]}…"


def _from_epoch(seconds: int) -> datetime:
    """Unix epoch seconds; 12 to 14 digits are milliseconds, as JavaScript writes them."""
    if _MILLIS[0] <= seconds < _MILLIS[1]:
        return _EPOCH + timedelta(milliseconds=seconds)
    if not _MIN_EPOCH <= seconds <= _MAX_EPOCH:
        raise _Reject("out of range: years 1..9999")
    return _EPOCH + timedelta(seconds=seconds)


def _clean(text: str) -> str:
    """Drop what Chinese sites add around a date: comments, weekdays, zone names, 上午/下午."""
    if text.isascii() and "[" not in text and not text.endswith(")"):
        return text  # each pattern below needs a Han character, a '[' or a final ')'
    text = _ZONE_NAME.sub("", _COMMENT.sub("", text))
    text = _WEEKDAY.sub(" ", text).strip()
    return _HALF_DAY.sub(_twenty_four_hour, text)


def _twenty_four_hour(match: re.Match[str]) -> str:
    """``下午9`` -> ``21``, ``中午12`` -> ``12``, ``凌晨12`` -> ``0``: the hour on a 24-hour clock."""
    hour = int(match.group(2))
    if match.group(1) in _AFTERNOON:
        hour = hour + 12 if hour < 12 and not (match.group(1) == "中午" and hour >= 11) else hour
    elif hour == 12:
        hour = 0
    return f" {hour:02d}"


def _parse_text(text: str, tz: tzinfo) -> datetime:
    """Try the fast regex forms, then dateutil for English month names."""
    text = _clean(text)
    if _EPOCH_TEXT.fullmatch(text):
        return _from_epoch(int(text))
    for pattern, build in _FAST:
        match = pattern.fullmatch(text)
        if match:
            return build(match, tz)
    return _fallback(text, tz)


def _build(parts: tuple[int, int, int, int, int, int], zone: tzinfo, fraction: str = "") -> datetime:
    """Make the datetime, or say which part is impossible (2021-02-30)."""
    year, month, day, hour, minute, second = parts
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
    except ValueError as why:
        raise _Reject(str(why)) from None


def _num(match: re.Match[str], *names: str) -> int:
    """The first of the named groups that matched, as an int (else 0)."""
    for name in names:  # a loop, not a generator: five calls per date
        group = match[name]
        if group:
            return int(group)
    return 0


def _clock(match: re.Match[str]) -> tuple[int, int, int]:
    return _num(match, "H"), _num(match, "M"), _num(match, "S")


def _from_numeric(match: re.Match[str], tz: tzinfo) -> datetime:
    day = (_num(match, "y"), _num(match, "m"), _num(match, "d"))
    zone = _zone(match["zone"]) if match["zone"] else tz
    return _build(day + _clock(match), zone, match["F"] or "")


def _from_rfc822(match: re.Match[str], tz: tzinfo) -> datetime:
    weekday, month = match["wd"], _MONTHS.get(match["mon"].lower())
    if month is None or (weekday and weekday.lower() not in _WEEKDAYS):
        raise _Reject(_HINT)
    year = _num(match, "y")
    if len(match["y"]) == 2:  # RFC 2822 section 4.3
        year += 2000 if year < 50 else 1900
    zone = _zone(match["zone"]) if match["zone"] else tz
    return _build((year, month, _num(match, "d"), *_clock(match)), zone, match["F"] or "")


def _from_chinese(match: re.Match[str], tz: tzinfo) -> datetime:
    day = (_num(match, "y"), _num(match, "m"), _num(match, "d"))
    clock = (_num(match, "H", "h"), _num(match, "M", "m2"), _num(match, "S", "s"))
    return _build(day + clock, tz)


_FAST = (
    (_NUMERIC, _from_numeric),
    (_RFC822, _from_rfc822),
    (_CHINESE, _from_chinese),
)


def _zone(text: str) -> tzinfo:
    """``Z``, ``+08``, ``+0800``, ``+08:00``, ``+8`` or a known zone name."""
    hours = _ZONE_HOURS.get(text.upper())
    if hours is not None:
        return UTC if hours == 0 else timezone(timedelta(hours=hours))
    match = _OFFSET.fullmatch(text)
    if match is None:
        raise _Reject(f"unknown time zone {text!r}")
    sign = -1 if match[1] == "-" else 1
    h, m, s = (int(g or 0) for g in match.groups()[1:])
    if m > 59 or s > 59 or h > 23:
        raise _Reject(f"bad offset {text!r}")
    return timezone(sign * timedelta(hours=h, minutes=m, seconds=s))


def _fallback(text: str, tz: tzinfo) -> datetime:
    """dateutil, only for text with a month name, a 4-digit year and a day.

    All-number forms never get here: ``10/07/2021`` could be July or October.
    """
    words = {w.lower() for w in _WORD.findall(text)}
    if words.isdisjoint(_MONTHS) or not _YEAR4.search(text):
        raise _Reject(_HINT)
    # Weekdays go: the date wins, and dateutil would turn "July 2021 Sat" into a day.
    text = _WORD.sub(_drop_weekday, _GMT_PLUS.sub("", text))
    first, second = (_dateutil_parse(text, default) for default in _DEFAULTS)
    if first.date() != second.date():
        raise _Reject(f"needs a year, a month and a day; {_HINT}")
    if f"{first.year:04d}" not in _YEAR4.findall(text):  # "7 May 07 2021" is 2007 at 20:21
        raise _Reject(_HINT)
    if first.utcoffset() is None:
        return first.replace(tzinfo=tz, fold=0)
    return first


def _drop_weekday(word: re.Match[str]) -> str:
    return " " if word[0].lower() in _WEEKDAYS else word[0]


def _dateutil_parse(text: str, default: datetime) -> datetime:
    try:
        from dateutil import parser  # the rare forms only: not imported by a build that parses none

        return parser.parse(text, default=default, tzinfos=_dateutil_zone)
    except (ValueError, OverflowError):
        raise _Reject(_HINT) from None


def _dateutil_zone(name: str | None, offset: int | None) -> tzinfo | None:
    """Our zone names for dateutil; unknown names are errors, never UTC."""
    if name is not None:
        return _zone(name)
    if offset is None:
        return None
    if abs(offset) >= 24 * 3600:
        raise _Reject("bad offset")
    return timezone(timedelta(seconds=offset))
