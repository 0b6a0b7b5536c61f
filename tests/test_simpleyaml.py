"""The front matter fast path agrees with libyaml wherever it answers."""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from feeds.errors import ArticleError
from feeds.parser import split_front_matter
from feeds.simpleyaml import load_simple

ROOT = Path(__file__).resolve().parent.parent


def libyaml(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)


def same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down (True == 1 and 1 == 1.0 in Python)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, datetime):
        return a == b and a.tzinfo == b.tzinfo
    return bool(a == b)


def agrees(text: str) -> bool:
    """The fast path said nothing, or exactly what libyaml says."""
    fast = load_simple(text)
    if fast is None:
        return True
    return same(fast, libyaml(text))


# Pieces that touch YAML's rules: indicators, types of plain scalars,
# comments, quotes, escapes, line breaks libyaml knows and we do not.
TRICKY = [
    "yes", "No", "on", "OFF", "true", "y", "n", "~", "null", "Null", "NULL", "", " ",
    "0", "-1", "+1", "0x1F", "0o17", "0b101", "1_000", "1:30", "190:20:30", "1e3", "1.5", ".5", ".inf",
    "-.inf", ".NaN", "2021-07-10", "2021-07-10 21:41:00", "2021-07-10T21:41:00+08:00",
    "2021-7-1 9:05", "2021-07-10 21:41:00 +8", "Wed, 04 Sep 2019 12:54:00 GMT",
    "-", "- ", "?", ": ", ":", "a:b", "a: b", "#", " #", "a#b", "&a", "*a", "!tag", "!!str", "|", ">",
    "'", "''", '"', '\\', "%", "@", "`", "[a, b]", "{a: b}", ",", "<<", "=", "\t", "\x85",
    "\u2028", "\u3000", "\xa0", "\ufeff", "\x07", "\x7f", "\ud800", "...", "---",
    "峰会季度", "中证网", "https://x.cn/a?b=1#c", "a  b", "a ",
]
piece = st.one_of(st.sampled_from(TRICKY), st.text(max_size=4))
fragment = st.lists(piece, max_size=4).map("".join)
keys = st.one_of(
    st.sampled_from(["title", "date", "categories", "tags", "yes", "null", "on", "y", "n", "a-b", "_x",
                     "标题", "1", "t itle", "<<", "x" * 130]),
    st.text(alphabet="abcXY_-:1 ", min_size=1, max_size=6),
)
quoted = st.one_of(fragment.map(lambda v: f"'{v}'"), fragment.map(lambda v: f'"{v}"'))
value = st.one_of(fragment, quoted)
indent = st.sampled_from(["", " ", "  ", "    "])
line = st.one_of(
    st.tuples(keys, value).map(lambda kv: f"{kv[0]}: {kv[1]}"),
    keys.map(lambda k: f"{k}:"),
    st.tuples(indent, value).map(lambda iv: f"{iv[0]}- {iv[1]}"),
    st.tuples(indent, fragment).map("".join),
    st.sampled_from(["", "# comment", "  # comment", "---", "%YAML 1.1", "- - a", "key: |", "  more"]),
)
documents = st.lists(line, max_size=8).map("\n".join)

# Documents in (or one piece away from) the simple shape, so that most of
# them take the fast path and their scalars meet the resolver.
plain_key = st.sampled_from(["title", "date", "categories", "tags", "author", "x_1", "y", "a-b"])
entry = st.one_of(
    st.tuples(plain_key, value).map(lambda kv: f"{kv[0]}: {kv[1]}"),
    st.tuples(plain_key, indent, st.lists(value, min_size=1, max_size=3)).map(
        lambda kil: "\n".join([f"{kil[0]}:", *(f"{kil[1]}- {v}" for v in kil[2])])
    ),
)
near_simple = st.lists(entry, min_size=1, max_size=6).map("\n".join)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(documents, near_simple))
@example("title: a\ncategories:\n - 股市\n - 中证网\ndate: 2021-07-10 21:41:00\n")
@example("tags:\n- a\ntags:\n- b\n")
@example("a: 'x'' y'\nb: \"q'\"\nc: 1:30\nd: 0x1F\ne: ~\nf: yes\ng: .inf\n")
def test_agrees_with_libyaml(text: str) -> None:
    try:
        expected_ok = True
        libyaml(text)
    except yaml.YAMLError:
        expected_ok = False
    except (RecursionError, UnicodeError):
        expected_ok = False
    fast = load_simple(text)
    if not expected_ok:
        assert fast is None, f"libyaml refuses {text!r}, the fast path read {fast!r}"
    else:
        assert agrees(text), f"{text!r}: fast {fast!r} != libyaml {libyaml(text)!r}"


@pytest.mark.parametrize(
    "text",
    [
        "title: 峰会\ncategories:\n - 股市\n - 中证网\nauthor: 第一财经\ncomments: false\n"
        "date: Wed, 04 Sep 2019 12:54:00 GMT\nheadimg: 'https://picsum.photos/400/300?random=97'\n",
        "date: 2021-07-10 21:41:00\nupdated: 2021-07-10\nid: 12\nweight: 1.5\ndraft: yes\nx: ~\n",
        "title: 'It''s'\nsummary: \"quoted\"\n# a comment line\n\ntags:\n  - a\n  - b\n",
    ],
)
def test_common_front_matter_takes_the_fast_path(text: str) -> None:
    fast = load_simple(text)
    assert fast is not None
    assert same(fast, libyaml(text))


def test_types_come_from_pyyaml() -> None:
    assert load_simple("a: 1\nf: -\n") is None  # '-' alone is libyaml's business
    fast = load_simple("a: 2021-07-10 21:41:00\nb: 2021-07-10\nc: 017\nd: on\ne: ''\nf: 0o17\n")
    assert fast == {"a": datetime(2021, 7, 10, 21, 41),  # noqa: DTZ001 - YAML gives naive
                    "b": date(2021, 7, 10), "c": 15, "d": True, "e": "",
                    "f": "0o17"}  # YAML 1.1: 017 is octal, 0o17 a string


@pytest.mark.parametrize(
    "text",
    [
        "a: [1, 2]\n", "a: {b: c}\n", "a: |\n  x\n", "a: &x 1\nb: *x\n", "a: b # c\n", "a: \"\\n\"\n",
        "a:\n  b: c\n", "a:\n- - x\n", "a:\n - x\n  - y\n", "yes: 1\n", "a: x\n  y\n", "a: <<\n",
        "a: b\tc\n", "a: x\u2028y\n", "  a: 1\n", "a: b: c\n", "- a\n", "a: 'open\n",
    ],
)
def test_other_shapes_go_to_libyaml(text: str) -> None:
    assert load_simple(text) is None


def test_every_sample_article_agrees() -> None:
    seen = 0
    for path in sorted((ROOT / "seeds").rglob("*")) + sorted((ROOT / "tests" / "data").rglob("*.md")):
        if not path.is_file():
            continue
        try:
            yaml_text = split_front_matter(path.read_text(encoding="utf-8"), path.name)[0]
        except ArticleError:  # fixtures of broken articles
            continue
        assert agrees(yaml_text), path.name
        seen += load_simple(yaml_text) is not None
    assert seen >= 10
