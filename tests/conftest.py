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
