"""Fuzzing the parser: any text or bytes gives an Article or our own error, and
whatever it gives renders to feeds that lxml and feedparser read cleanly."""

from __future__ import annotations

from pathlib import Path

import feedparser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from feeds.errors import ArticleError
from feeds.models import Article
from feeds.parser import decode_article, parse_article
from feeds.site import render_site

from .conftest import make_config

CONFIG = make_config(Path("content"), Path("public"))
KEYS = ["title", "date", "updated", "categories", "tags", "author", "headimg", "thumbnail",
        "permalink", "id", "guid", "description", "published", "draft"]

yaml_scalars = st.one_of(
    st.text(max_size=30), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False),
    st.sampled_from(["2021-07-10", "Sat, 10 Jul 2021 21:41:00 GMT", "2021年7月10日", "&a x", "*a",
                     "[金融, [银行]]", "{name: x}", "'", "\"", "- a", "!!python/object:os.system"]),
)


def front_matter(values: dict[str, object]) -> str:
    lines = []
    for key, value in values.items():
        text = str(value).replace("\n", " ")
        lines.append(f"{key}: {text}")
    return "\n".join(lines)


@st.composite
def articles(draw: st.DrawFn) -> str:
    values = draw(st.dictionaries(st.sampled_from(KEYS), yaml_scalars, max_size=len(KEYS)))
    if draw(st.booleans()):
        values.setdefault("title", draw(st.text(min_size=1, max_size=40)))
        values.setdefault("date", "2021-07-10 21:41:00")
    body = draw(st.text(max_size=200))
    text = f"---\n{front_matter(values)}\n---\n{body}"
    cut = draw(st.integers(min_value=0, max_value=len(text)))
    return text[:cut] if draw(st.booleans()) else text


def parse_or_none(text: str, source: str = "f.md") -> Article | None:
    try:
        return parse_article(text, source, CONFIG)
    except ArticleError as exc:
        assert str(exc).startswith(f"{source}: ")
        return None


def assert_feeds_clean(parsed: list[Article]) -> None:
    files = render_site(parsed, CONFIG)
    for path, data in files.items():
        if path.endswith((".rss", ".atom", ".opml")):
            etree.fromstring(data)
        if path.endswith((".rss", ".atom")):
            result = feedparser.parse(data)
            assert not result.bozo, (path, result.get("bozo_exception"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(articles(), min_size=1, max_size=3))
def test_structured_fuzz(texts: list[str]) -> None:
    parsed = [a for i, t in enumerate(texts) if (a := parse_or_none(t, f"f{i}.md"))]
    assert_feeds_clean(parsed)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300))
def test_arbitrary_unicode_including_surrogates_and_controls(noise: str) -> None:
    texts = [noise, f"---\ntitle: '{noise}'\ndate: 2021-07-10\n---\n{noise}",
             f"---\ntitle: t\ndate: 2021-07-10\ncategories: [\"{noise}\"]\nauthor: \"{noise}\"\n---\n"]
    parsed = [a for i, t in enumerate(texts) if (a := parse_or_none(t, f"f{i}.md"))]
    assert_feeds_clean(parsed)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    raw = b"---\ntitle: t\ndate: 2021-07-10\n---\n" + data
    for candidate in (data, raw):
        try:
            text, _ = decode_article(candidate, "b.md")
        except ArticleError:
            continue
        article = parse_or_none(text, "b.md")
        assert_feeds_clean([article] if article else [])
