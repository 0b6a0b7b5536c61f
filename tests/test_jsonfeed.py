"""JSON Feed 1.1 output: the spec's rules, agreement with Atom, determinism, fuzzing."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from feeds.config import Config
from feeds.entries import EntryCache
from feeds.errors import ArticleError
from feeds.feed import render_feed
from feeds.jsonfeed import VERSION, render_json, rfc3339
from feeds.links import article_id, article_link
from feeds.models import Article
from feeds.parser import parse_article
from feeds.plan import FeedSpec, FeedView, plan_feeds

from .conftest import make_config

CONFIG = make_config(Path("c"), Path("o"))
ATOM = "{http://www.w3.org/2005/Atom}"

# --- a validator for the rules of https://jsonfeed.org/version/1.1 -----------

FEED_KEYS = {"version", "title", "home_page_url", "feed_url", "description", "user_comment", "next_url",
             "icon", "favicon", "author", "authors", "language", "expired", "hubs", "items"}
ITEM_KEYS = {"id", "url", "external_url", "title", "content_html", "content_text", "summary", "image",
             "banner_image", "date_published", "date_modified", "author", "authors", "tags", "language",
             "attachments"}
AUTHOR_KEYS = {"name", "url", "avatar"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")  # RFC 5646, roughly


def validate(doc: Any) -> None:
    """Assert that ``doc`` (parsed JSON) is a valid JSON Feed 1.1 document."""
    assert isinstance(doc, dict)
    assert_no_nulls(doc)
    assert_known_keys(doc, FEED_KEYS)
    assert doc["version"] == VERSION
    assert isinstance(doc["title"], str)
    for key in ("home_page_url", "feed_url", "next_url", "icon", "favicon"):
        if key in doc:
            assert_url(doc[key])
    if "next_url" in doc:  # no loop back to this page
        assert doc["next_url"] != doc.get("feed_url")
    for key in ("description", "user_comment"):
        assert isinstance(doc.get(key, ""), str)
    if "language" in doc:
        assert_language(doc["language"])
    if "authors" in doc:
        assert_authors(doc["authors"])
    assert isinstance(doc.get("expired", False), bool)
    assert isinstance(doc["items"], list)
    ids = [validate_item(item) for item in doc["items"]]
    assert len(ids) == len(set(ids)), "item ids must be unique within the feed"


def validate_item(item: Any) -> str:
    assert isinstance(item, dict)
    assert_known_keys(item, ITEM_KEYS)
    assert isinstance(item["id"], str) and item["id"], "id: a non-empty string"
    assert "content_html" in item or "content_text" in item, "content_html or content_text is required"
    for key in ("content_html", "content_text", "title", "summary"):
        assert isinstance(item.get(key, ""), str)
    for key in ("url", "external_url", "image", "banner_image"):
        if key in item:
            assert_url(item[key])
    for key in ("date_published", "date_modified"):
        if key in item:
            assert_date(item[key])
    if "authors" in item:
        assert_authors(item["authors"])
    if "tags" in item:
        assert isinstance(item["tags"], list)
        assert all(isinstance(t, str) and t for t in item["tags"])
    if "language" in item:
        assert_language(item["language"])
    return str(item["id"])


def assert_no_nulls(value: Any) -> None:
    assert value is not None, "null is never written"
    if isinstance(value, dict):
        for v in value.values():
            assert_no_nulls(v)
    elif isinstance(value, list):
        for v in value:
            assert_no_nulls(v)


def assert_known_keys(obj: dict[str, Any], known: set[str]) -> None:
    for key in obj:  # extensions start with "_"
        assert key in known or re.match(r"^_[A-Za-z]", key), f"unknown key {key!r}"


def assert_url(value: Any) -> None:
    assert isinstance(value, str)
    parts = urlsplit(value)
    assert parts.scheme in ("http", "https") and parts.netloc, f"not an absolute http(s) URL: {value!r}"


def assert_date(value: Any) -> None:
    assert isinstance(value, str) and RFC3339.match(value), f"not RFC 3339: {value!r}"
    assert datetime.fromisoformat(value).tzinfo is not None


def assert_language(value: Any) -> None:
    assert isinstance(value, str) and LANGUAGE.match(value)


def assert_authors(value: Any) -> None:
    assert isinstance(value, list) and value
    for author in value:
        assert isinstance(author, dict)
        assert_known_keys(author, AUTHOR_KEYS)
        assert any(k in author for k in AUTHOR_KEYS), "an author object needs name, url or avatar"
        assert isinstance(author.get("name", ""), str)
        for key in ("url", "avatar"):
            if key in author:
                assert_url(author[key])


# --- helpers -----------------------------------------------------------------


def article(source: str, title: str = "标题", date: str = "2021-07-10 21:41:00",
            meta: str = "", body: str = "<p>\u3000\u3000正文。第二句话在这里。</p>\n",
            config: Config = CONFIG) -> Article:
    text = f"---\ntitle: '{title}'\ndate: {date}\n{meta}---\n{body}"
    return parse_article(text, source, config)


def cache(config: Config = CONFIG) -> EntryCache:
    return EntryCache(config, body_of=lambda c, a: a.body or "")


def render(view: FeedView, config: Config = CONFIG) -> dict[str, Any]:
    data = render_json(view, config, cache(config))
    doc = json.loads(data.decode("utf-8"))
    validate(doc)
    assert isinstance(doc, dict)
    return doc


def spec_of(specs: tuple[FeedSpec, ...], path: str) -> FeedSpec:
    return next(s for s in specs if s.path == path)


def sample() -> list[Article]:
    return [
        article("a.md", "第一篇", "2021-07-10 21:41:00",
                "categories: [金融, 银行]\ntags: [利率, 金融]\nauthor: {name: 张三, email: z@example.com}\n"
                "headimg: https://img.example.com/head.jpg\nthumbnail: /thumb.png\n"
                "updated: 2021-07-11 08:00:00\n"),
        article("b.md", "第二篇", "2021-07-12 09:00:00", "categories: [金融]\ndescription: 摘要写在这里\n"),
        article("c.md", "第三篇 <b>&amp;</b>", "2021-07-09 10:30:15", "tags: [债券]\nid: 12345\n",
                body=""),
    ]


# --- the document ------------------------------------------------------------


def test_feed_level_fields() -> None:
    specs = plan_feeds(sample(), CONFIG)
    doc = render(specs[0].view(CONFIG.items))
    assert list(doc) == ["version", "title", "home_page_url", "feed_url", "description", "language",
                         "authors", "items"]
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] == "测试站"
    assert doc["home_page_url"] == "https://news.example.com/"
    assert doc["feed_url"] == "https://news.example.com/all.json"
    assert doc["description"] == "测试用的站点"
    assert doc["language"] == "zh-CN"
    assert doc["authors"] == [{"name": "编辑部"}]


def test_description_falls_back_to_title_and_feed_url_to_feed_root() -> None:
    config = make_config(Path("c"), Path("o"), description="", author="",
                         feed_url="https://cdn.example.net/feeds/")
    specs = plan_feeds([article("a.md", config=config)], config)
    doc = render(specs[0].view(config.items), config)
    assert doc["description"] == doc["title"] == "测试站"
    assert doc["authors"] == [{"name": "测试站"}]  # site_author: the title when no author
    assert doc["feed_url"] == "https://cdn.example.net/feeds/all.json"
    assert doc["home_page_url"] == "https://news.example.com/"


def test_item_fields() -> None:
    articles = sample()
    specs = plan_feeds(articles, CONFIG)
    items = {i["title"]: i for i in render(specs[0].view(CONFIG.items))["items"]}
    first = items["第一篇"]
    assert list(first) == ["id", "url", "title", "content_html", "summary", "image", "banner_image",
                           "date_published", "date_modified", "authors", "tags"]
    assert first["id"] == article_id(articles[0], CONFIG) == "tag:news.example.com,2021:a.md"
    assert first["url"] == article_link(articles[0], CONFIG) == "https://news.example.com/2021/07/10/a/"
    assert first["content_html"] == "<p>\u3000\u3000正文。第二句话在这里。</p>"
    assert first["summary"] == "正文。第二句话在这里。"
    assert first["image"] == "https://img.example.com/head.jpg"
    assert first["banner_image"] == "https://news.example.com/thumb.png"
    assert first["date_published"] == "2021-07-10T13:41:00+00:00"
    assert first["date_modified"] == "2021-07-11T00:00:00+00:00"
    assert first["authors"] == [{"name": "张三"}]  # JSON Feed authors have no email
    assert first["tags"] == ["金融", "银行", "利率"]  # categories, then tags, each once

    second = items["第二篇"]
    assert second["summary"] == "摘要写在这里"
    assert second["authors"] == [{"name": "编辑部"}]  # the site's author
    assert second["date_modified"] == second["date_published"] == "2021-07-12T01:00:00+00:00"
    assert "image" not in second and "banner_image" not in second

    third = items["第三篇 <b>&amp;</b>"]  # a title is plain text: kept as written
    assert third["id"] == "tag:news.example.com,2021:id/12345"
    assert third["content_html"] == ""  # required (or content_text), so kept even when empty
    assert "summary" not in third  # empty: left out, never null
    assert third["tags"] == ["债券"]


def test_items_newest_first_as_the_view_gives_them() -> None:
    specs = plan_feeds(sample(), CONFIG)
    for spec in specs:
        view = spec.view(CONFIG.items)
        assert [i["id"] for i in render(view)["items"]] == [article_id(a, CONFIG) for a in view.items]
    assert [i["title"] for i in render(specs[0].view(CONFIG.items))["items"]] == ["第二篇", "第一篇",
                                                                                 "第三篇 <b>&amp;</b>"]


def test_images() -> None:
    url = "https://img.example.com/"
    cases = {
        "": (None, None),
        f"headimg: {url}h.jpg\n": (f"{url}h.jpg", None),
        f"thumbnail: {url}t.jpg\n": (f"{url}t.jpg", None),
        f"headimg: {url}h.jpg\nthumbnail: {url}t.jpg\n": (f"{url}h.jpg", f"{url}t.jpg"),
        f"headimg: {url}same.jpg\nthumbnail: {url}same.jpg\n": (f"{url}same.jpg", None),
    }
    for meta, (image, banner) in cases.items():
        specs = plan_feeds([article("a.md", meta=meta)], CONFIG)
        item = render(specs[0].view(CONFIG.items))["items"][0]
        assert (item.get("image"), item.get("banner_image")) == (image, banner), meta


def test_every_feed_of_a_site_is_valid_and_empty_feeds_too() -> None:
    for spec in plan_feeds(sample(), CONFIG):
        render(spec.view(CONFIG.items))
    (empty,) = plan_feeds([], CONFIG)
    doc = render(empty.view(CONFIG.items))
    assert doc["items"] == []


# --- agreement with Atom -----------------------------------------------------


def test_ids_and_dates_equal_the_atom_of_the_same_view() -> None:
    specs = plan_feeds(sample(), CONFIG)
    entries = cache()
    views = [s.view(CONFIG.items) for s in specs] + [specs[0].view(1, 2), specs[0].view(2, 2)]
    for view in views:
        doc = json.loads(render_json(view, CONFIG, entries))
        atom = render_feed(view, "atom", CONFIG, entries)
        parsed = feedparser.parse(atom)
        assert not parsed.bozo
        assert [i["id"] for i in doc["items"]] == [e.id for e in parsed.entries]
        root = etree.fromstring(atom)
        atom_dates = [(e.findtext(f"{ATOM}published"), e.findtext(f"{ATOM}updated"))
                      for e in root.iter(f"{ATOM}entry")]
        assert [(i["date_published"], i["date_modified"]) for i in doc["items"]] == atom_dates
        assert [i["title"] for i in doc["items"]] == [e.title for e in parsed.entries]
        assert [i["content_html"] for i in doc["items"]] == [
            e.findtext(f"{ATOM}content") or "" for e in root.iter(f"{ATOM}entry")
        ]


# --- bytes ---------------------------------------------------------------------


def test_byte_identical_across_renders() -> None:
    one = plan_feeds(sample(), CONFIG)
    two = plan_feeds(list(reversed(sample())), CONFIG)
    for a, b in zip(one, two, strict=True):
        assert render_json(a.view(CONFIG.items), CONFIG, cache()) == render_json(
            b.view(CONFIG.items), CONFIG, cache())


def test_utf8_unescaped_chinese_and_final_newline() -> None:
    specs = plan_feeds(sample(), CONFIG)
    data = render_json(specs[0].view(CONFIG.items), CONFIG, cache())
    text = data.decode("utf-8")
    assert "测试站" in text and "正文。第二句话在这里。" in text and "\u3000" in text
    assert "\\u" not in text  # nothing escaped: no control characters in this feed
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.startswith('{"version":"https://jsonfeed.org/version/1.1","title":"测试站",')  # compact, fixed order
    assert text.count("\n") == 1


# --- paging ----------------------------------------------------------------------


def test_next_url_on_pages_before_the_last_only() -> None:
    articles = [article(f"{n}.md", f"文章{n}", f"2021-07-1{n} 10:00:00") for n in range(3)]
    (spec,) = (s for s in plan_feeds(articles, CONFIG) if s.family == "all")
    assert "next_url" not in render(spec.view(CONFIG.items))  # the feed itself
    assert "next_url" not in render(spec.view(1, 1))  # the first page carries no paging links
    page2 = render(spec.view(size=1, page=2))
    assert page2["feed_url"] == "https://news.example.com/all.json?limit=1&page=2"
    assert page2["next_url"] == "https://news.example.com/all.json?limit=1&page=3"
    assert [i["title"] for i in page2["items"]] == ["文章1"]
    assert "next_url" not in render(spec.view(size=1, page=3))  # the last page
    for key in ("first", "previous", "last"):  # JSON Feed has no such fields
        assert key not in page2 and f"{key}_url" not in page2


def test_next_url_keeps_no_limit_for_the_configured_size() -> None:
    config = make_config(Path("c"), Path("o"), items=1)
    articles = [article(f"{n}.md", f"文章{n}", f"2021-07-1{n} 10:00:00", config=config) for n in range(3)]
    spec = plan_feeds(articles, config)[0]
    page2 = render(spec.view(1, 2), config)
    assert page2["feed_url"] == "https://news.example.com/all.json?page=2"
    assert page2["next_url"] == "https://news.example.com/all.json?page=3"


# --- dates ----------------------------------------------------------------------------


def test_rfc3339() -> None:
    assert rfc3339(datetime(2021, 7, 10, 13, 41, tzinfo=UTC)) == "2021-07-10T13:41:00+00:00"
    east = timezone(timedelta(hours=8))
    assert rfc3339(datetime(2021, 7, 10, 21, 41, tzinfo=east)) == "2021-07-10T13:41:00+00:00"
    assert rfc3339(datetime(2021, 7, 10, 13, 41, 5, 250000)) == "2021-07-10T13:41:05.250000+00:00"  # noqa: DTZ001


# --- fuzzing ----------------------------------------------------------------------------

_PRINTABLE = re.compile(r"[ !#-\[\]-~]")  # printable ASCII but '"' and '\'


def yaml_string(text: str) -> str:
    """``text`` as a YAML double-quoted scalar of ASCII, every other character
    escaped, so control characters reach the parser (which strips them)."""
    return '"' + "".join(c if _PRINTABLE.match(c) else f"\\U{ord(c):08X}" for c in text) + '"'


noise = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
no_surrogates = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)  # YAML cannot carry them


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(titles=st.lists(no_surrogates, min_size=1, max_size=3), bodies=st.lists(noise, min_size=3, max_size=3),
       names=st.lists(no_surrogates, max_size=3), extra=no_surrogates)
def test_arbitrary_titles_and_bodies(titles: list[str], bodies: list[str], names: list[str], extra: str) -> None:
    articles = []
    for n, (title, body) in enumerate(zip(titles, bodies, strict=False)):
        names_yaml = "[" + ", ".join(yaml_string(name) for name in names) + "]"
        text = (f"---\ntitle: {yaml_string(title + '题')}\ndate: 2021-07-1{n} 10:00:00\n"
                f"categories: {names_yaml}\ntags: {names_yaml}\nauthor: {yaml_string(extra)}\n"
                f"description: {yaml_string(extra)}\n---\n{body}")
        articles.append(parse_article(text, f"{n}.md", CONFIG))  # never an error: the title has text
    assert_all_valid(articles)


@settings(max_examples=150, deadline=None)
@given(noise)
def test_arbitrary_text_in_front_matter_and_body(raw: str) -> None:
    texts = [raw, f"---\ntitle: '{raw}'\ndate: 2021-07-10\n---\n{raw}",
             f"---\ntitle: t\ndate: 2021-07-10\ntags: [\"{raw}\"]\nauthor: \"{raw}\"\n---\n{raw}"]
    articles = []
    for n, text in enumerate(texts):
        with contextlib.suppress(ArticleError):
            articles.append(parse_article(text, f"{n}.md", CONFIG))
    assert_all_valid(articles)


def assert_all_valid(articles: list[Article]) -> None:
    entries = cache()
    for spec in plan_feeds(articles, CONFIG):
        data = render_json(spec.view(CONFIG.items), CONFIG, entries)
        text = data.decode("utf-8")  # strict: no lone surrogates got through
        doc = json.loads(text)
        validate(doc)
        assert text == json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"
        assert [i["id"] for i in doc["items"]] == [article_id(a, CONFIG) for a in spec.view(CONFIG.items).items]
