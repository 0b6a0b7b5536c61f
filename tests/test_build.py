"""`feeds build` end to end on real files: golden output, identity, removal."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import feedparser
import pytest

from feeds.build import EmptyError, StrictError, build
from feeds.config import Config
from feeds.links import article_id, article_link
from feeds.output import MANIFEST

from .conftest import DATA, SEEDS, WriteArticle, make_config

FIXTURE = DATA / "fixture"
EXPECTED = DATA / "expected"


def published_files(output: Path, compressed: bool = False) -> dict[str, bytes]:
    """Every published file (not hidden); ``.gz``/``.br`` copies only if asked."""
    return {
        p.relative_to(output).as_posix(): p.read_bytes()
        for p in sorted(output.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(output).parts)
        and (compressed or p.suffix not in (".gz", ".br"))
    }


def fixture_config(tmp_path: Path) -> Config:
    content = tmp_path / "fixture"
    shutil.copytree(FIXTURE, content)
    return make_config(content, tmp_path / "out", families=("category", "tag", "author"))


def test_golden_output(tmp_path: Path) -> None:
    """The fixture folder builds exactly the files in tests/data/expected.

    After an intended change: FEEDS_UPDATE_GOLDEN=1 pytest tests/test_build.py
    and review the diff of tests/data/expected.
    """
    config = fixture_config(tmp_path)
    build(config)
    got = published_files(config.output)
    if os.environ.get("FEEDS_UPDATE_GOLDEN"):
        shutil.rmtree(EXPECTED, ignore_errors=True)
        shutil.copytree(config.output, EXPECTED, ignore=shutil.ignore_patterns(".*", "*.gz", "*.br"))
    assert got == published_files(EXPECTED)


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    one = make_config(SEEDS, tmp_path / "one")
    two = make_config(SEEDS, tmp_path / "two")
    build(one)
    build(two)
    assert published_files(one.output) == published_files(two.output)


def test_rebuild_leaves_unchanged_files_untouched(tmp_path: Path) -> None:
    config = make_config(SEEDS, tmp_path / "out")
    first = build(config)
    stamps = {p: p.stat().st_mtime_ns for p in config.output.rglob("*.rss")}
    second = build(config)
    assert second.write.written == ()
    assert set(second.write.unchanged) == set(first.write.written)
    assert stamps == {p: p.stat().st_mtime_ns for p in config.output.rglob("*.rss")}


def test_feeds_of_vanished_categories_are_removed(config: Config, write_article: WriteArticle) -> None:
    write_article("a.md", categories=("金融",))
    write_article("b.md", categories=("债券",))
    build(config)
    (config.output / "mine.txt").write_text("not ours")
    assert (config.output / "category/zhai-quan.rss").exists()
    write_article("b.md", categories=("金融",))
    report = build(config)
    assert sorted(report.write.removed) == [
        f"category/zhai-quan.{fmt}{z}" for fmt in ("atom", "json", "rss") for z in ("", ".br", ".gz")
    ]
    assert not (config.output / "category/zhai-quan.rss").exists()
    assert (config.output / "mine.txt").read_text() == "not ours"
    assert "category/zhai-quan.rss" not in (config.output / MANIFEST).read_text()


def test_every_seed_feed_reads_back_with_feedparser(tmp_path: Path) -> None:
    config = make_config(SEEDS, tmp_path / "out", items=5)
    report = build(config)
    by_id = {article_id(a, config): a for a in report.load.published}
    feeds = [p for p in published_files(config.output) if p.endswith((".rss", ".atom"))]
    assert len(feeds) >= 12
    for path in feeds:
        parsed = feedparser.parse((config.output / path).read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        entries = parsed.entries
        assert 1 <= len(entries) <= 5
        dates = [by_id[e.id].published for e in entries]
        assert dates == sorted(dates, reverse=True)
        for e in entries:
            article = by_id[e.id]
            assert e.title == article.title
            assert e.link == article_link(article, config)
            assert tuple(e.published_parsed)[:6] == article.published.timetuple()[:6]
            assert [t.term for t in e.tags][: len(article.categories)] == list(article.categories)
            assert e.get("author") or e.get("author_detail")
        if path.startswith("category/"):
            name = parsed.feed.title.split(" · ", 1)[1]
            assert all(name in by_id[e.id].categories for e in entries)


def test_rss_and_atom_carry_the_same_ids(tmp_path: Path) -> None:
    config = make_config(SEEDS, tmp_path / "out")
    build(config)
    rss = feedparser.parse((config.output / "all.rss").read_bytes())
    atom = feedparser.parse((config.output / "all.atom").read_bytes())
    assert [e.id for e in rss.entries] == [e.id for e in atom.entries]
    assert len({e.id for e in rss.entries}) == len(rss.entries) == 17


def test_items_limit_and_tie_break(config: Config, write_article: WriteArticle) -> None:
    for name in ("c.md", "a.md", "b.md"):
        write_article(name, title=name, date="2021-07-10 10:00:00")
    write_article("z.md", title="newest", date="2021-07-11 10:00:00")
    build(Config(**{**config.__dict__, "items": 3}))
    titles = [e.title for e in feedparser.parse((config.output / "all.rss").read_bytes()).entries]
    assert titles == ["newest", "a.md", "b.md"]


def test_slug_collisions_and_hostile_names_stay_inside_category(
    config: Config, write_article: WriteArticle
) -> None:
    write_article("a.md", categories=("C", "C++", "Hello World", "hello-world", "../../etc", "😀", "🚀"))
    build(config)
    files = published_files(config.output)
    cats = sorted(p for p in files if p.endswith(".rss") and p.startswith("category/"))
    assert len(cats) == 7
    assert all("/" not in p.removeprefix("category/") for p in cats)
    assert not (config.output.parent / "etc.rss").exists()


def test_drafts_are_in_no_feed_and_counted(config: Config, write_article: WriteArticle) -> None:
    write_article("a.md", title="公开")
    write_article("d.md", text="---\ntitle: 草稿\ndate: 2021-07-10\ncategories: [债券]\ndraft: true\n---\n")
    report = build(config)
    assert report.load.drafts == 1
    assert "1 draft;" in report.summary()
    assert not (config.output / "category/zhai-quan.rss").exists()


def test_strict_writes_nothing(config: Config, write_article: WriteArticle) -> None:
    write_article("a.md")
    write_article("bad.md", date="sometime")
    with pytest.raises(StrictError, match=r"--strict: 1 article\(s\) have errors; nothing written"):
        build(config, strict=True)
    assert not (config.output / "all.rss").exists()


def test_empty_content_keeps_published_feeds(config: Config, write_article: WriteArticle) -> None:
    path = write_article("a.md")
    build(config)
    before = published_files(config.output)
    path.unlink()
    with pytest.raises(EmptyError, match="no article to publish"):
        build(config)
    assert published_files(config.output) == before
    build(config, allow_empty=True)
    assert b"<item>" not in (config.output / "all.rss").read_bytes()


def test_a_repeated_id_is_published_once(config: Config, write_article: WriteArticle) -> None:
    """Copying a post copies its id: the feeds keep the newest, check warns about both."""
    for name, date in (("old.md", "2021-07-01"), ("new.md", "2021-07-02")):
        write_article(name, text=f"---\ntitle: {name}\ndate: {date}\nid: urn:uuid:1\ncategories: [金融]\n"
                                 "author: a\n---\n<p>x</p>\n")
    report = build(config)
    for path in ("all.rss", "all.atom", "category/finance.rss"):
        entries = feedparser.parse((config.output / path).read_bytes()).entries
        assert [e.title for e in entries] == ["new.md"], path
    assert [(f.file, f.code) for f in report.findings] == [("new.md", "duplicate-id"), ("old.md", "duplicate-id")]
    assert report.findings[0].message == (
        "id 'urn:uuid:1' is also used by old.md; feeds carry only the newest of them")


def test_a_build_leaves_no_cyclic_garbage_per_file(tmp_path: Path) -> None:
    """`feeds build` turns the cycle collector off: that is safe only while files make no reference cycles."""
    import gc

    content = tmp_path / "content"
    content.mkdir()
    bad = ["---\ntitle: t\ndate: nope\n---\n", "no front matter\n", "---\ntitle: [a\n---\n",
           "---\ntitle: t\ndate: 2021-01-01\ncategories: {a: 1}\n---\n"]
    for i in range(400):
        text = bad[i % 4] if i % 5 == 0 else (
            f"---\ntitle: 第{i}篇\ndate: 2021-03-{i % 28 + 1:02d} 08:00\ncategories: [栏目{i % 7}, 金融]\n"
            f"tags: [标签{i % 3}]\nauthor: 作者{i % 4}\n---\n<p>正文{i}。</p>\n")
        (content / f"{i:04d}.md").write_text(text, encoding="utf-8")
    families = ("category", "tag", "author")
    build(make_config(content, tmp_path / "warm", families=families), use_cache=False)  # imports, caches
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        report = build(make_config(content, tmp_path / "out", families=families), jobs=1)
        assert report.counts.files == 400 and len(report.write.written) > 50
        del report
        assert gc.collect() < 100  # 6 when written; a cycle per file would make it 320 or more
    finally:
        if was_enabled:
            gc.enable()
