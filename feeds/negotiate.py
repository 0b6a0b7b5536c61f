"""What a request asks for: which encoding, whether it is fresh, which page.

Pure functions of header and query strings. A malformed header is ignored;
a malformed query value raises BadQuery, which the app answers with a 400.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import datetime

from werkzeug.http import parse_date

_ETAG = re.compile(r'\s*(?:(\*)|(?:W/)?("[^"]*"))\s*(?:,|$)')
_INTEGER = re.compile(r"[+-]?[0-9]+")
_BIG = 10**9  # larger numbers are all the same to us


class BadQuery(ValueError):
    """A query value the app cannot use; the message is the 400's body."""


def pick_encoding(accept_encoding: str | None, available: Iterable[str]) -> str:
    """The coding with the highest q the client accepts; "identity" if none.

    ``available`` is in order of preference, which breaks ties.
    """
    return _pick(accept_encoding or "", tuple(available))


@functools.lru_cache(maxsize=256)  # a feed reader sends the same header on every poll
def _pick(accept_encoding: str, available: tuple[str, ...]) -> str:
    accepted = _qualities(accept_encoding)
    best, best_q = "identity", 0.0
    for coding in available:
        q = accepted.get(coding, accepted.get("*", 0.0))
        if q > best_q:
            best, best_q = coding, q
    return best


def _qualities(header: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in header.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if name:
            out[name] = _quality(params)
    return out


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def is_fresh(if_none_match: str | None, if_modified_since: str | None,
             etag: str, last_modified: datetime) -> bool:
    """True when the client's copy is current, so a 304 is the answer.

    If-None-Match wins when present (weak comparison, ``*`` matches);
    otherwise an If-Modified-Since at or after ``last_modified`` (to the
    second) does. An unparsable date is ignored.
    """
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    if if_modified_since is None:
        return False
    since = http_date_or_none(if_modified_since)
    return since is not None and since >= last_modified.replace(microsecond=0)


def http_date_or_none(value: str) -> datetime | None:
    """werkzeug's parse_date, which lets OverflowError out for a huge zone offset."""
    try:
        return parse_date(value)
    except (OverflowError, ValueError, TypeError):
        return None


def etag_matches(header: str, etag: str) -> bool:
    """Does the If-None-Match list ``header`` name ``etag`` (or ``*``)?"""
    if header == etag:  # what a client that kept our ETag sends back
        return True
    pos = 0
    while pos < len(header):
        found = _ETAG.match(header, pos)
        if found is None or found.end() == pos:
            return False  # malformed from here on: no match
        if found.group(1) or found.group(2) == etag:
            return True
        pos = found.end()
    return False


def query_int(value: str | None, name: str, *, minimum: int | None = None) -> int | None:
    """An integer query value, or None when absent; BadQuery when malformed."""
    if value is None:
        return None
    text = value.strip()
    reason = f"bad query: {name} must be {'a positive integer' if minimum == 1 else 'an integer'}"
    if not _INTEGER.fullmatch(text):
        raise BadQuery(f"{reason}, got {value[:40]!r}")
    digits = text.lstrip("+-").lstrip("0")
    number = _BIG if len(digits) > 9 else int(digits or "0")
    number = -number if text.startswith("-") else number
    if minimum is not None and number < minimum:
        raise BadQuery(f"{reason}, got {value[:40]!r}")
    return number
