"""feeds.opml: OPML 2.0 listing every RSS feed, grouped, stable across builds."""

from __future__ import annotations

from dataclasses import replace
from xml.etree import ElementTree as ET

from feeds.config import Config
from feeds.loader import load_articles
from feeds.models import Article
from feeds.opml import render_opml
from feeds.plan import plan_feeds
from feeds.site import build_site, render_site

from .conftest import WriteArticle


def articles(config: Config) -> tuple[Article, ...]:
    return load_articles(config).published


def test_outlines_group_the_all_feed_and_the_categories(config: Config, write_article: WriteArticle) -> None:
    write_article("a.md", title="一", date="2021-07-01 10:00:00", categories=("金融", "股市"))
    write_article("b.md", title="二", date="2021-07-02 10:00:00", categories=("能源",))
    root = ET.fromstring(render_opml(plan_feeds(articles(config), config), config))
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "测试站 · 订阅"
    assert root.findtext("head/dateModified") == "Fri, 02 Jul 2021 02:00:00 GMT"
    assert root.findtext("head/ownerName") == "编辑部"
    folders = root.findall("body/outline")
    assert [f.get("text") for f in folders] == ["全部", "栏目"]
    everything = folders[0].findall("outline")
    assert [o.attrib for o in everything] == [{
        "type": "rss", "version": "RSS2", "text": "测试站", "title": "测试站",
        "xmlUrl": "https://news.example.com/all.rss", "htmlUrl": "https://news.example.com/",
        "language": "zh-CN",
    }]
    categories = folders[1].findall("outline")
    assert [o.get("text") for o in categories] == ["测试站 · 金融", "测试站 · 股市", "测试站 · 能源"]
    assert [o.get("xmlUrl") for o in categories] == [
        "https://news.example.com/category/finance.rss",
        "https://news.example.com/category/gu-shi.rss",
        "https://news.example.com/category/neng-yuan.rss",
    ]
    assert all(o.get("type") == "rss" for o in categories)


def test_feed_url_is_used_when_set(config: Config, write_article: WriteArticle) -> None:
    write_article("a.md")
    config = replace(config, feed_url="https://cdn.example.net/feeds/")
    root = ET.fromstring(render_opml(plan_feeds(articles(config), config), config))
    urls = [o.get("xmlUrl") for o in root.iter("outline") if o.get("type") == "rss"]
    assert urls == ["https://cdn.example.net/feeds/all.rss", "https://cdn.example.net/feeds/category/finance.rss"]


def test_no_articles_no_date_and_no_category_folder(config: Config) -> None:
    data = render_opml(plan_feeds((), config), config)
    root = ET.fromstring(data)
    assert root.find("head/dateModified") is None
    assert [f.get("text") for f in root.findall("body/outline")] == ["全部"]


def test_bytes_are_stable_and_escaped(config: Config, write_article: WriteArticle) -> None:
    write_article("a.md", categories=("<R&D> \"x\"",))
    config = replace(config, title="A & B <站>")
    specs = plan_feeds(articles(config), config)
    data = render_opml(specs, config)
    assert data == render_opml(plan_feeds(articles(config), config), config)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    root = ET.fromstring(data)
    assert root.findtext("head/title") == "A & B <站> · 订阅"
    assert [o.get("text") for o in root.iter("outline")][-1] == 'A & B <站> · <R&D> "x"'


def test_the_build_writes_it(config: Config, write_article: WriteArticle) -> None:
    write_article("a.md")
    files = render_site(articles(config), config)
    site = build_site(articles(config), config)
    assert files["feeds.opml"] == site.files["feeds.opml"] == render_opml(site.specs, config)
    assert site.updated["feeds.opml"] == site.updated["index.html"] == site.updated["all.rss"]
