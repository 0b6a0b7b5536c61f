"""Shared fixtures: a Config built in code and a helper that writes articles."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.config import Config

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"
# Content-Type the app (and the README's nginx snippet) must send, by file extension.
TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json",
    "opml": "text/x-opml; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


@pytest.fixture(autouse=True)
def _no_racy_window(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds in this process trust every stamp, unless the test is marked ``racy``.

    They run a few milliseconds after the test wrote their files, inside the
    window in which a build reads a file again next time (``feeds.stamps.racy``,
    tested where marked), which would change what the others count. Builds in
    a subprocess keep it: one starts well after the window.
    """
    if request.node.get_closest_marker("racy") is None:
        monkeypatch.setattr("feeds.stamps.COARSE_NS", 0)
        monkeypatch.setattr("feeds.stamps.FINE_NS", 0)


def make_config(content: Path, output: Path, **overrides: object) -> Config:
    values: dict[str, object] = {
        "title": "测试站",
        "base_url": "https://news.example.com/",
        "timezone": ZoneInfo("Asia/Shanghai"),
        "description": "测试用的站点",
        "author": "编辑部",
        "content": content,
        "output": output,
        "items": 50,
        "category_slugs": {"金融": "finance"},
        "families": ("category",),  # tag and author feeds only where a test asks for them
    }
    values.update(overrides)
    return Config(**values)  # type: ignore[arg-type]


ARTICLE = """---
title: '{title}'
date: {date}
categories:
{categories}
author: 中证网
---
<p>\u3000\u3000{title}的正文。第二句话在这里。</p>
"""

WriteArticle = Callable[..., Path]


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    folder.mkdir()
    return folder


@pytest.fixture
def config(content: Path, tmp_path: Path) -> Config:
    return make_config(content, tmp_path / "public")


@pytest.fixture
def write_article(content: Path) -> WriteArticle:
    def write(name: str, title: str = "标题", date: str = "2021-07-10 21:41:00",
              categories: tuple[str, ...] = ("金融",), text: str | None = None) -> Path:
        path = content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        cats = "\n".join(f" - {c}" for c in categories) or " []"
        path.write_text(text if text is not None else ARTICLE.format(
            title=title, date=date, categories=cats), encoding="utf-8")
        return path
    return write
