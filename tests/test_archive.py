"""RFC 5005 archived feeds: the complete history in pages that never change once full."""

from __future__ import annotations

import pickle
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from feeds import fanout
from feeds.build import build
from feeds.config import Config
from feeds.feed import FH_NS
from feeds.loader import load_articles
from feeds.plan import HistoryWindow, plan_feeds
from feeds.site import feed_views

from .conftest import WriteArticle, make_config
from .test_build import published_files


def add(write_article: WriteArticle, n: int) -> None:
    write_article(f"a{n:02d}.md", title=f"第{n}篇", date=f"2021-07-{n:02d} 10:00:00", categories=("金融",))


def archived_site(content: Path, out: Path, write_article: WriteArticle, numbers: range, archive_size: int = 2
                  ) -> Config:
    """Articles ``numbers`` (one a day, all in 金融) and the config of a site with two items a feed."""
    for n in numbers:
        add(write_article, n)
    return make_config(content, out, items=2, archive_size=archive_size)


def parsed(path: Path) -> feedparser.FeedParserDict:
    result = feedparser.parse(path.read_bytes())
    assert not result.bozo, result.get("bozo_exception")
    return result


def links(path: Path) -> dict[str, str]:
    return {link.rel: link.href for link in parsed(path).feed.links}


def test_archive_pages_hold_the_whole_history(content: Path, tmp_path: Path, write_article: WriteArticle) -> None:
    config = archived_site(content, tmp_path / "out", write_article, range(1, 6))
    build(config)
    archive = config.output / "all" / "archive"
    assert sorted(p.name for p in archive.iterdir() if p.suffix in (".atom", ".rss")) == [
        "1.atom", "1.rss", "2.atom", "2.rss", "3.atom", "3.rss"]
    titles = {n: [e.title for e in parsed(archive / f"{n}.atom").entries] for n in (1, 2, 3)}
    assert titles == {1: ["第2篇", "第1篇"], 2: ["第4篇", "第3篇"], 3: ["第5篇"]}
    assert links(config.output / "all.atom")["prev-archive"] == "https://news.example.com/all/archive/3.atom"
    assert links(config.output / "all.rss")["prev-archive"] == "https://news.example.com/all/archive/3.rss"
    page2 = links(archive / "2.atom")
    assert page2["current"] == "https://news.example.com/all.atom"
    assert page2["prev-archive"] == "https://news.example.com/all/archive/1.atom"
    assert "next-archive" not in page2 and "prev-archive" not in links(archive / "1.atom")
    for name in ("2.atom", "2.rss"):
        root = etree.fromstring((archive / name).read_bytes())
        assert root.find(f".//{{{FH_NS}}}archive") is not None
    assert etree.fromstring((config.output / "all.atom").read_bytes()).find(f".//{{{FH_NS}}}archive") is None
    assert (config.output / "category" / "finance" / "archive" / "3.rss").is_file()


def test_full_pages_never_change(content: Path, tmp_path: Path, write_article: WriteArticle) -> None:
    config = archived_site(content, tmp_path / "out", write_article, range(1, 6))
    build(config)
    archive = config.output / "all" / "archive"
    before = {p.name: p.read_bytes() for p in archive.iterdir()}
    add(write_article, 6)  # fills page 3
    build(config)
    after = {p.name: p.read_bytes() for p in archive.iterdir()}
    assert all(after[n] == before[n] for n in before if n.startswith(("1.", "2.")))
    assert after["3.atom"] != before["3.atom"]
    add(write_article, 7)  # opens page 4
    report = build(config)
    again = {p.name: p.read_bytes() for p in archive.iterdir()}
    assert all(again[n] == after[n] for n in after if n.startswith(("1.", "2.", "3.")))
    assert [e.title for e in parsed(archive / "4.atom").entries] == ["第7篇"]
    assert not any(p.startswith("all/archive/3") for p in report.write.written)


def test_app_serves_the_archives(config: Config, write_article: WriteArticle) -> None:
    from feeds.web import create_app

    for n in range(1, 4):
        add(write_article, n)
    archived = make_config(config.content, config.output, items=2, archive_size=2, reload_seconds=0)
    build(archived)
    client = create_app(archived).test_client()
    for path in ("all/archive/1.atom", "all/archive/2.rss", "category/finance/archive/1.atom"):
        response = client.get(f"/{path}")
        assert response.status_code == 200, path
        assert response.data == (archived.output / path).read_bytes()
    assert client.get("/all/archive/9.atom").status_code == 404
    assert client.get("/all/archive/x.atom").status_code == 404


def test_no_archives_by_default(config: Config, write_article: WriteArticle) -> None:
    add(write_article, 1)
    build(config)
    assert not (config.output / "all").exists()
    assert "prev-archive" not in links(config.output / "all.atom")


def test_back_dated_article_moves_the_prev_archive_link(
    content: Path, tmp_path: Path, write_article: WriteArticle
) -> None:
    config = archived_site(content, tmp_path / "out", write_article, range(2, 6))
    build(config)
    assert links(config.output / "all.atom")["prev-archive"].endswith("/all/archive/2.atom")
    add(write_article, 1)  # older than everything: the current feed's items stay the same
    build(config)
    assert links(config.output / "all.atom")["prev-archive"].endswith("/all/archive/3.atom")
    fresh = make_config(content, tmp_path / "fresh", items=2, archive_size=2)
    build(fresh, use_cache=False)
    assert (config.output / "all.atom").read_bytes() == (fresh.output / "all.atom").read_bytes()


def test_workers_render_archives_and_pages_as_one_process_does(
    content: Path, tmp_path: Path, write_article: WriteArticle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers get views that keep only their own items (FeedView.detached): archives and paging links agree."""
    monkeypatch.setattr(fanout, "_POOL_FROM", 1)
    one = archived_site(content, tmp_path / "one", write_article, range(1, 8))
    many = make_config(content, tmp_path / "many", items=2, archive_size=2)
    build(one, jobs=1)
    build(many, jobs=2)  # cold: render workers forked after parsing
    assert published_files(many.output, compressed=True) == published_files(one.output, compressed=True)
    add(write_article, 8)
    build(one, jobs=1)
    report = build(many, jobs=2)  # a rebuild: workers forked before the cache is read
    assert report.parsed == 1
    assert published_files(many.output, compressed=True) == published_files(one.output, compressed=True)
    assert (many.output / "all" / "archive" / "4.rss").is_file()


def test_a_detached_view_shows_what_the_view_shows_and_nothing_else(
    content: Path, tmp_path: Path, write_article: WriteArticle
) -> None:
    config = archived_site(content, tmp_path / "out", write_article, range(1, 8), archive_size=3)
    views = feed_views(plan_feeds(load_articles(config).published, config), config)
    assert any(view.archived for view in views.values())
    for path, view in views.items():
        detached = view.detached()
        fmt = path.rsplit(".", 1)[1]
        assert list(detached.items) == list(view.items), path
        assert detached.pages == view.pages and detached.updated == view.updated
        assert detached.paging_links(config, fmt) == view.paging_links(config, fmt)
        assert len(detached.spec.history) == len(view.spec.history)
        assert len(pickle.dumps(detached)) < len(pickle.dumps(view)) or len(view.spec.history) <= 3
    window = HistoryWindow(10, 4, ("e", "f"))  # type: ignore[arg-type]
    assert window[4:6] == ("e", "f") and window[5:5] == () and len(window) == 10
    for outside in (slice(3, 5), slice(4, 7), slice(0, 10), slice(4, 6, 2)):
        with pytest.raises(IndexError):
            window[outside]
