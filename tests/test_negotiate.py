"""Request interpretation: encodings, freshness, integer query values."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.negotiate import BadQuery, etag_matches, is_fresh, pick_encoding, query_int

ETAG = '"0123abcd"'
MODIFIED = datetime(2021, 7, 4, 2, 0, 0, 500_000, tzinfo=UTC)  # sub-second part is not sent


@pytest.mark.parametrize(("header", "expected"), [
    (None, "identity"), ("", "identity"), ("gzip", "gzip"), ("br", "br"), ("gzip, br", "br"),
    ("br;q=0.5, gzip", "gzip"), ("br;q=1.0, gzip;q=1", "br"), ("*", "br"), ("*;q=0, gzip", "gzip"),
    ("gzip;q=0", "identity"), ("GZip ; Q=0.3", "gzip"), ("gzip;q=2", "identity"), ("gzip;q=x", "identity"),
    ("deflate, identity", "identity"), ("gzip;level=9", "gzip"),
])
def test_pick_encoding(header: str | None, expected: str) -> None:
    assert pick_encoding(header, ["br", "gzip"]) == expected


def test_pick_encoding_only_offers_what_is_available() -> None:
    assert pick_encoding("br, gzip", ["gzip"]) == "gzip"
    assert pick_encoding("br", []) == "identity"


@pytest.mark.parametrize(("header", "expected"), [
    (ETAG, True), ("W/" + ETAG, True), (f'"a", {ETAG}', True), (f'"a",{ETAG},"b"', True), ("*", True),
    ('"a"', False), ("", False), ("0123abcd", False), (f"{ETAG[:-1]}-gz\"", False), ('"a", junk, ' + ETAG, False),
    (f" {ETAG} ", True), ('W/"a" ,W/' + ETAG, True),
])
def test_etag_matches(header: str, expected: bool) -> None:
    assert etag_matches(header, ETAG) is expected


@pytest.mark.parametrize(("inm", "ims", "fresh"), [
    (None, None, False),
    (ETAG, None, True),
    ('"other"', "Sun, 04 Jul 2021 02:00:00 GMT", False),  # If-None-Match wins
    (ETAG, "Thu, 01 Jan 1970 00:00:00 GMT", True),
    (None, "Sun, 04 Jul 2021 02:00:00 GMT", True),  # equal to the second
    (None, "Sun, 04 Jul 2021 01:59:59 GMT", False),
    (None, "not a date", False),
    (None, "Sun, 04 Jul 2021 02:00:00 +99999999999999999999", False),
])
def test_is_fresh(inm: str | None, ims: str | None, fresh: bool) -> None:
    assert is_fresh(inm, ims, ETAG, MODIFIED) is fresh


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("1", 1), ("+2", 2), ("007", 7), ("0", 0), ("-3", -3), (" 4 ", 4),
    ("9" * 30, 10**9), ("-" + "9" * 30, -(10**9)), ("0" * 40 + "5", 5),
])
def test_query_int(value: str | None, expected: int | None) -> None:
    assert query_int(value, "limit") == expected


@pytest.mark.parametrize("value", ["", "x", "1.0", "1e3", "0x10", "١", "--1", "1 2", "9" * 5000 + "x"])
def test_query_int_refuses_what_is_not_an_integer(value: str) -> None:
    with pytest.raises(BadQuery, match=r"^bad query: page must be a positive integer, got "):
        query_int(value, "page", minimum=1)


def test_query_int_minimum() -> None:
    assert query_int("1", "page", minimum=1) == 1
    with pytest.raises(BadQuery, match=r"^bad query: page must be a positive integer, got '0'$"):
        query_int("0", "page", minimum=1)


@given(st.text(max_size=200))
def test_malformed_headers_never_raise(text: str) -> None:
    pick_encoding(text, ["br", "gzip"])
    etag_matches(text, ETAG)
    is_fresh(None, text, ETAG, MODIFIED)


@given(st.text(max_size=60))
def test_query_values_raise_only_bad_query(text: str) -> None:
    with contextlib.suppress(BadQuery):
        query_int(text, "limit")
