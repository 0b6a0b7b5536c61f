"""[feeds] formats: only the chosen formats are written, listed, served, pinged; the others go."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import feedparser

from feeds.build import build
from feeds.compress import with_copies
from feeds.config import Config
from feeds.output import MANIFEST
from feeds.web import create_app
from feeds.websub import changed_feed_urls

from .conftest import ROOT, WriteArticle

XML_ONLY = ("rss", "atom")
ALL = ("category", "tag", "author")
ARTICLE = ("---\ntitle: {title}\ndate: 2021-07-{day:02d} 10:00:00\ncategories: [金融]\n"
           "tags: [利率]\nauthor: 新华社\n---\n<p>正文。</p>\n")


def write_three(write_article: WriteArticle) -> None:
    for day in (1, 2, 3):
        write_article(f"a{day}.md", text=ARTICLE.format(title=f"第{day}篇", day=day))


def files(output: Path) -> set[str]:
    """Every file in ``output`` (compressed copies too), hidden ones left out."""
    return {p.relative_to(output).as_posix() for p in output.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(output).parts)}


def feed_files(output: Path, fmt: str) -> set[str]:
    """The ``fmt`` documents in ``output`` and their .gz/.br copies."""
    return {p for p in files(output) if p.endswith((f".{fmt}", f".{fmt}.gz", f".{fmt}.br"))}


def test_build_without_json_writes_no_json_and_lists_none(
    config: Config, write_article: WriteArticle
) -> None:
    write_three(write_article)
    config = replace(config, formats=XML_ONLY, families=ALL, archive_size=2)
    report = build(config)
    out = config.output
    assert feed_files(out, "json") == set()
    assert not any(".json" in path for path in report.write.written)
    feeds = ["all", "category/finance", "tag/li-lv", "author/xin-hua-she"]
    assert {f"{feed}.{fmt}" for feed in feeds for fmt in XML_ONLY} <= files(out)
    assert {"all/archive/1.rss", "all/archive/2.atom"} <= files(out)
    assert [e.title for e in feedparser.parse((out / "all.atom").read_bytes()).entries] == ["第3篇", "第2篇", "第1篇"]
    index = (out / "index.html").read_text(encoding="utf-8")
    for mention in ("json", "JSON"):
        assert mention not in index
    assert index.count('type="application/rss+xml"') == index.count('type="application/atom+xml"') == len(feeds)
    assert '<a href="category/finance.rss">RSS</a> · <a href="category/finance.atom">Atom</a></td>' in index
    opml = (out / "feeds.opml").read_text(encoding="utf-8")
    assert "json" not in opml.lower()
    assert opml.count('xmlUrl="https://news.example.com/') == opml.count('.rss" ') == len(feeds)


def test_json_only_lists_json_in_the_index_and_opml_and_has_no_archives(
    config: Config, write_article: WriteArticle
) -> None:
    write_three(write_article)
    config = replace(config, formats=("json",), archive_size=2)
    build(config)
    out = config.output
    assert {p for p in files(out) if not p.endswith((".gz", ".br"))} == {
        "all.json", "category/finance.json", "index.html", "feeds.opml"}
    index = (out / "index.html").read_text(encoding="utf-8")
    assert ".rss" not in index and ".atom" not in index and "RSS" not in index
    assert '<link rel="alternate" type="application/feed+json" title="测试站 (JSON Feed)" ' \
           'href="https://news.example.com/all.json">' in index
    opml = (out / "feeds.opml").read_text(encoding="utf-8")
    assert 'xmlUrl="https://news.example.com/all.json"' in opml
    assert ".rss" not in opml and "RSS2" not in opml  # OPML's version names RSS versions only
    assert 'type="rss"' in opml  # OPML 2.0: the type of every subscription


def test_app_serves_only_the_chosen_formats(config: Config, write_article: WriteArticle) -> None:
    write_three(write_article)
    app = create_app(replace(config, formats=XML_ONLY, reload_seconds=0, archive_size=2))
    client = app.test_client()
    try:
        for path in ("/all.rss", "/all.atom", "/category/finance.rss", "/all.rss?page=2&limit=1",
                     "/all/archive/1.atom"):
            assert client.get(path).status_code == 200, path
        for path in ("/all.json", "/category/finance.json", "/all.json?page=2&limit=1", "/all.json?limit=1",
                     "/all/archive/1.json"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.data == f"not found: {path}\n".encode()
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert client.head("/all.json").status_code == 404
        assert b"json" not in client.get("/").data.lower()
    finally:
        app.extensions["feeds"].close()


def test_app_without_rss_has_no_rss_archives(config: Config, write_article: WriteArticle) -> None:
    write_three(write_article)
    app = create_app(replace(config, formats=("atom", "json"), reload_seconds=0, archive_size=2))
    client = app.test_client()
    try:
        assert client.get("/all.json").status_code == 200
        assert client.get("/all/archive/1.atom").status_code == 200
        assert client.get("/all.rss").status_code == 404
        assert client.get("/all/archive/1.rss").status_code == 404
    finally:
        app.extensions["feeds"].close()


def test_turning_a_format_off_removes_its_files_and_copies(config: Config, write_article: WriteArticle) -> None:
    write_three(write_article)
    config = replace(config, archive_size=2)
    build(config)
    out = config.output
    json_files = {p for feed in ("all", "category/finance") for p in with_copies(f"{feed}.json")}
    assert feed_files(out, "json") == json_files
    assert len(json_files) > 2  # the compressed copies too
    rss_before = {p: (out / p).stat().st_mtime_ns for p in feed_files(out, "rss")}
    assert "all/archive/1.rss" in rss_before

    report = build(replace(config, formats=XML_ONLY))
    assert set(report.write.removed) == json_files
    assert feed_files(out, "json") == set()
    assert ".json" not in (out / MANIFEST).read_text(encoding="utf-8")
    assert {p: (out / p).stat().st_mtime_ns for p in feed_files(out, "rss")} == rss_before  # untouched
    assert "index.html" in report.write.written and "feeds.opml" not in report.write.written

    report = build(replace(config, formats=("json",)))  # RSS and Atom off, archives with them
    assert feed_files(out, "rss") == feed_files(out, "atom") == set()
    assert not (out / "all" / "archive").exists()
    assert "all/archive/1.rss.gz" in report.write.removed
    assert feed_files(out, "json") == json_files  # written again

    report = build(config)  # all three again: the files come back
    assert {f"all.{fmt}" for fmt in ("rss", "atom")} <= set(report.write.written)
    assert "all/archive/1.atom" in files(out)


def test_hub_is_told_only_of_published_formats(config: Config, write_article: WriteArticle) -> None:
    config = replace(config, formats=("atom",))
    written = ["all.rss", "all.atom", "all.atom.gz", "all.json", "category/finance.atom", "index.html"]
    assert changed_feed_urls(written, config) == [
        "https://news.example.com/all.atom", "https://news.example.com/category/finance.atom"]
    write_article("a.md")
    assert changed_feed_urls(build(config).write.written, config) == [
        "https://news.example.com/all.atom", "https://news.example.com/category/finance.atom"]


def test_feeds_build_reads_formats_from_config_toml(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "a.md").write_text(ARTICLE.format(title="好文章", day=1), encoding="utf-8")
    (tmp_path / "config.toml").write_text(
        '[site]\ntitle = "测试站"\nbase_url = "https://news.example.com/"\n'
        '[build]\ncontent = "content"\noutput = "public"\n'
        '[feeds]\ntags = false\nauthors = false\nformats = ["atom", "rss"]\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "feeds.cli", "build"], cwd=tmp_path, env={"PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "; 6 files written," in result.stderr  # all and 金融 in two formats, index.html, feeds.opml
    published = {p for p in files(tmp_path / "public") if not p.endswith((".gz", ".br"))}
    assert published == {"all.rss", "all.atom", "category/jin-rong.rss", "category/jin-rong.atom",
                         "index.html", "feeds.opml"}
