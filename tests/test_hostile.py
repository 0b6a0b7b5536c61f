"""Hostile input: every bad file is one clear finding, never a traceback or a hang."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from lxml import etree

from feeds.build import build
from feeds.config import Config
from feeds.errors import ArticleError
from feeds.loader import load_articles, read_body
from feeds.parser import parse_article

from .conftest import WriteArticle, make_config

GOOD = "---\ntitle: 好\ndate: 2021-07-10\ncategories: [金融]\nauthor: a\n---\n<p>正文。</p>\n"
BOMB = "---\ntitle: t\ndate: 2021-07-10\n" + "\n".join(
    [f"l0: &l0 [{', '.join(['lol'] * 9)}]"]
    + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
) + "\ncategories: *l9\n---\n"


def findings(config: Config) -> list[tuple[str, str, str]]:
    return [(f.file, f.code, f.message) for f in load_articles(config).findings]


def test_alias_bomb_rejected_fast(config: Config) -> None:
    start = time.perf_counter()
    with pytest.raises(ArticleError) as info:
        parse_article(BOMB, "bomb.md", config)
    assert time.perf_counter() - start < 2
    assert str(info.value) == "bomb.md: bad YAML at line 5: aliases (*l0) are not allowed"


@pytest.mark.parametrize("depth", [3000, 30000])
def test_deep_nesting_rejected(config: Config, depth: int) -> None:
    """30,000 levels crash libyaml's composer (a segfault) unless refused first."""
    text = "---\ntitle: t\ndate: 2021-07-10\nx: " + "[" * depth + "]" * depth + "\n---\n"
    with pytest.raises(ArticleError) as info:
        parse_article(text, "deep.md", config)
    assert str(info.value) == "deep.md: bad YAML at line 4: nested deeper than 64 levels"


def test_deep_block_nesting_rejected(config: Config) -> None:
    nested = "".join(f"{'  ' * i}- \n" for i in range(200))
    text = "---\ntitle: t\ndate: 2021-07-10\nx:\n" + nested + "---\n"
    with pytest.raises(ArticleError, match=r"^deep.md: bad YAML"):
        parse_article(text, "deep.md", config)


def test_front_matter_over_limit(config: Config) -> None:
    text = "---\ntitle: t\ndate: 2021-07-10\nx: '" + "a" * 70000 + "'\n---\n"
    with pytest.raises(ArticleError, match=r"^big.md: front matter is larger than 65536 bytes$"):
        parse_article(text, "big.md", config)


def test_large_body_cut_at_a_tag_boundary_with_a_note(tmp_path: Path, write_article: WriteArticle) -> None:
    config = make_config(tmp_path / "content", tmp_path / "out", max_body=1000)
    body = "".join(f'<p>第{i}段<a href="/x{i}">链接</a>。</p>' for i in range(200))
    write_article("big.md", text=GOOD.replace("<p>正文。</p>", body))
    load = load_articles(config)
    body = read_body(config, load.articles[0])
    assert load.articles[0].body is None  # kept out of memory until rendered
    assert len(body.encode()) < 1200
    assert body.endswith('<a href="https://news.example.com/2021/07/10/big/">阅读全文</a>）</p>')
    assert [f.code for f in load.findings] == ["body-too-large"]
    build(config)
    etree.fromstring((config.output / "all.rss").read_bytes())


def test_hostile_folder_each_file_one_finding(config: Config, content: Path, tmp_path: Path) -> None:
    (content / "good.md").write_text(GOOD, encoding="utf-8")
    (content / "empty.md").write_bytes(b"")
    (content / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    (content / "broken.md").symlink_to(content / "nowhere.md")
    (content / "loop1.md").symlink_to(content / "loop2.md")
    (content / "loop2.md").symlink_to(content / "loop1.md")
    secret = tmp_path / "secret.md"
    secret.write_text(GOOD, encoding="utf-8")
    (content / "outside.md").symlink_to(secret)
    (content / "inside.md").symlink_to(content / "good.md")
    (content / "linkdir").symlink_to(tmp_path)
    os.mkfifo(content / "pipe.md")
    (content / "folder.md").mkdir()
    (content / "folder.md" / "real.md").write_text(GOOD, encoding="utf-8")
    (content / "gbk.md").write_bytes(GOOD.encode("gb18030"))
    (content / "latin.md").write_bytes(b"---\ntitle: \xff\xfe\xfa\n---\n")
    assert findings(config) == [
        ("broken.md", "broken-symlink", "broken symlink"),
        ("empty.md", "empty", "empty file"),
        ("gbk.md", "gb18030", "not UTF-8; decoded as GB18030"),
        ("image.png", "not-text", "binary file, not an article"),
        ("latin.md", "bad-encoding", "not UTF-8 or GB18030 text"),
        ("linkdir", "symlink-outside", "symlink points outside the content folder (not followed)"),
        ("loop1.md", "broken-symlink", "symlink loop"),
        ("loop2.md", "broken-symlink", "symlink loop"),
        ("outside.md", "symlink-outside", "symlink points outside the content folder (not followed)"),
        ("pipe.md", "not-a-file", "not a regular file (a FIFO, socket or device)"),
    ]
    titles = sorted(a.source for a in load_articles(config).articles)
    assert titles == ["folder.md/real.md", "gbk.md", "good.md", "inside.md"]


def test_file_swapped_for_a_fifo_after_the_check_is_not_read(
    config: Config, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What is opened is checked again: a FIFO put in place after the lstat is refused, not half-read."""
    from feeds import loader

    (content / "good.md").write_text(GOOD, encoding="utf-8")
    os.mkfifo(content / "pipe.md")
    regular = os.lstat(content / "good.md")
    real_lstat = os.lstat
    monkeypatch.setattr(loader.os, "lstat", lambda p: regular if str(p).endswith("pipe.md") else real_lstat(p))
    writer = os.open(content / "pipe.md", os.O_RDWR | os.O_NONBLOCK)  # data waiting in the pipe
    try:
        os.write(writer, GOOD.encode()[:40])
        assert ("pipe.md", "not-a-file", "not a regular file (a FIFO, socket or device)") in findings(config)
    finally:
        os.close(writer)


def test_unreadable_file_is_reported(config: Config, content: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (content / "a.md").write_text(GOOD, encoding="utf-8")
    (content / "b.md").write_text(GOOD, encoding="utf-8")
    real_open = os.open  # tests run as root, where chmod 000 does not deny

    def deny(path: str, flags: int, *args: int) -> int:
        if os.path.basename(path) == "a.md":
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", deny)
    assert findings(config) == [("a.md", "unreadable", "cannot read: Permission denied")]


def test_output_inside_content_is_skipped_and_reported(content: Path) -> None:
    (content / "a.md").write_text(GOOD, encoding="utf-8")
    config = make_config(content, content / "public")
    build(config)
    report = build(config)
    assert report.counts.files == 1
    assert [(f.file, f.code) for f in report.findings] == [("public", "output-inside-content")]
