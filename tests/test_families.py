"""Tag and author feeds: same slug rules as categories, switchable in config."""

from __future__ import annotations

from pathlib import Path

import feedparser

from feeds.build import build
from feeds.config import Config, load_config

from .conftest import WriteArticle, make_config

ALL = ("category", "tag", "author")


def article(title: str, tags: str, author: str) -> str:
    return (f"---\ntitle: {title}\ndate: 2021-07-10 10:00:00\ncategories: [金融]\n"
            f"tags: {tags}\nauthor: {author}\n---\n<p>正文。</p>\n")


def titles(path: Path) -> list[str]:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo
    return [e.title for e in parsed.entries]


def test_tag_and_author_feeds(content: Path, tmp_path: Path, write_article: WriteArticle) -> None:
    write_article("a.md", text=article("一", "[利率, A股]", "证券时报"))
    write_article("b.md", text=article("二", "利率", "{name: 新华社, email: x@y.cn}"))
    write_article("c.md", text=article("三", "[C, C++]", "新华社"))
    config = make_config(content, tmp_path / "out", families=ALL, tag_slugs={"利率": "rates"})
    build(config)
    out = config.output
    assert titles(out / "tag/rates.rss") == ["一", "二"]
    assert titles(out / "tag/a-gu.atom") == ["一"]
    assert titles(out / "author/xin-hua-she.rss") == ["二", "三"]
    assert titles(out / "author/zheng-quan-shi-bao.atom") == ["一"]
    tag_feeds = sorted(p.name for p in (out / "tag").glob("*.rss"))
    assert len(tag_feeds) == 4 and "c.rss" not in tag_feeds  # C and C++ both get hashed slugs
    assert feedparser.parse((out / "tag/rates.rss").read_bytes()).feed.title == "测试站 · 标签：利率"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "<h2>标签</h2>" in index and "<h2>作者</h2>" in index
    assert 'href="https://news.example.com/author/xin-hua-she.atom"' in index
    opml = (out / "feeds.opml").read_text(encoding="utf-8")
    assert 'text="标签"' in opml and "https://news.example.com/tag/rates.rss" in opml


def test_families_can_be_switched_off(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[site]\ntitle = "t"\nbase_url = "https://x.cn/"\n[feeds]\ntags = false\n'
        '[author_slugs]\n"新华社" = "xinhua"\n', encoding="utf-8")
    config = load_config(path)
    assert config.families == ("category", "author")
    assert config.author_slugs == {"新华社": "xinhua"}


def test_default_config_builds_every_family(tmp_path: Path) -> None:
    from .conftest import ROOT

    config = load_config(ROOT / "config.toml").with_paths(output=tmp_path / "out")
    assert config.families == ALL
    report = build(config)
    assert report.counts.published == 17
    for family in ALL:
        assert list((config.output / family).glob("*.rss")), family


def test_app_serves_tag_and_author_feeds(config: Config, write_article: WriteArticle) -> None:
    from feeds.web import create_app

    write_article("a.md", text=article("一", "[利率]", "证券时报"))
    app = create_app(make_config(config.content, config.output, families=ALL, reload_seconds=0))
    client = app.test_client()
    assert client.get("/tag/li-lv.rss").status_code == 200
    assert client.get("/author/zheng-quan-shi-bao.atom").status_code == 200
    assert client.get("/tag/nope.rss").status_code == 404
    assert client.get("/people/x.rss").status_code == 404
