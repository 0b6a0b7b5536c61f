"""Where an article lives: its permalink and its feed id; pure functions.

Most articles name neither: their link comes from the ``[build] permalink``
pattern and their id from their path. Those are computed when a feed is
rendered instead of being kept, as two strings, in every one of 100k
records (about 20 MB); an article keeps only a permalink or id its front
matter gave.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote

from feeds.config import Config
from feeds.models import Article

# The tag: URI date is fixed forever, so ids never change (RFC 4151).
TAG_DATE = "2021"
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~/-]*")  # what quote() leaves alone (with "/" safe)


def article_link(article: Article, config: Config) -> str:
    """The article's absolute URL: its own permalink, else the site's pattern filled in."""
    return link_of(config, article.permalink, article.source, article.published, article.categories)


def link_of(
    config: Config, permalink: str | None, source: str, published: datetime, categories: tuple[str, ...]
) -> str:
    """``article_link`` from the parts, for an article not yet made into a record."""
    if permalink is not None:
        return permalink
    return config.base_url + expand_permalink(config, source, published, categories)


def article_id(article: Article, config: Config) -> str:
    """The article's feed id: the one it gives, else a ``tag:`` URI of its path."""
    if article.given_id is not None:
        return article.given_id
    return f"tag:{config.domain},{TAG_DATE}:{_quoted(article.source, '/')}"


def expand_permalink(
    config: Config, source: str, published: datetime, categories: tuple[str, ...]
) -> str:
    """Fill the ``[build] permalink`` pattern, like Hexo's :year/:month/… ."""
    local = published.astimezone(config.timezone)
    name = source.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    stem = name[:dot] if 0 < dot < len(name) - 1 else name  # PurePosixPath's stem
    slug = _quoted(source[: len(source) - len(name) + len(stem)], "/")  # Hexo's :title keeps folders
    category = ""
    if "{category}" in config.permalink:
        from feeds.slugs import slugify  # imports pypinyin: only when the pattern needs it

        first = categories[0] if categories else ""
        category = config.category_slugs.get(first) or slugify(first) or "uncategorized"
    return config.permalink.format(
        year=f"{local.year:04d}", month=f"{local.month:02d}", day=f"{local.day:02d}",
        i_month=str(local.month), i_day=str(local.day), hour=f"{local.hour:02d}",
        minute=f"{local.minute:02d}", second=f"{local.second:02d}",
        slug=slug, name=_quoted(stem, ""), title=slug, category=category,
    )


def _quoted(text: str, safe: str) -> str:
    """``quote(text, safe)``, skipped for the plain ASCII names most files have."""
    if _URL_SAFE.fullmatch(text) and ("/" not in text or safe == "/"):
        return text
    return quote(text, safe=safe)
