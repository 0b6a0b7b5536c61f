"""Items as feeds show them: sanitised content and a summary, prepared once per article.

Shared by every format (RSS, Atom, JSON Feed); imports no renderer.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

from feeds.config import Config
from feeds.links import article_id, article_link
from feeds.loader import read_body
from feeds.models import Article, Author
from feeds.text import image_mime, sanitize_html, summarize


@dataclass(frozen=True)
class Entry:
    """What an item shows, computed once per article and shared by every feed."""

    article: Article
    content: str  # sanitised HTML, absolute URLs
    summary: str  # plain text
    link: str  # absolute URL (feeds.links.article_link)
    id: str  # feed id (feeds.links.article_id)
    image_type: str | None  # MIME type of article.image (None: no image; [build] image_type if its URL tells none)


def prepare_entry(article: Article, body: str, config: Config) -> Entry:
    """``body`` as ``parse_article`` keeps it: no character illegal in XML is left to look for."""
    summary = article.summary or summarize(body, config.summary_length, stripped=True)
    link = article_link(article, config)
    image_type = image_mime(article.image, config.image_type) if article.image else None
    return Entry(article, sanitize_html(body, link, stripped=True).strip(), summary, link, article_id(article, config),
                 image_type)


class EntryCache:
    """Prepared entries by source path, for one render of many feeds.

    ``body_of`` gives an article's body as ``parse_article`` keeps it
    (illegal XML characters removed); by default the one it carries, or its
    file read again when it was loaded without (``read_body``).
    """

    def __init__(self, config: Config, body_of: Callable[[Config, Article], str] | None = None) -> None:
        self._config = config
        if body_of is None:
            root = os.path.realpath(config.content)  # once, not once per body
            body_of = functools.partial(read_body, root=root)
        self._body_of = body_of
        self._entries: dict[str, Entry] = {}

    def __call__(self, article: Article) -> Entry:
        entry = self._entries.get(article.source)
        if entry is None:
            body = self._body_of(self._config, article)
            entry = self._entries[article.source] = prepare_entry(article, body, self._config)
        return entry


def site_author(config: Config) -> Author:
    """Who a feed, or an item without an author, is by."""
    return Author(config.author or config.title)
