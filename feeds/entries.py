"""Items as feeds show them: sanitised content and a summary, prepared once per article.

Shared by every format (RSS, Atom, JSON Feed); imports no renderer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from feeds.config import Config
from feeds.loader import read_body
from feeds.models import Article, Author
from feeds.text import sanitize_html, summarize


@dataclass(frozen=True)
class Entry:
    """What an item shows, computed once per article and shared by every feed."""

    article: Article
    content: str  # sanitised HTML, absolute URLs
    summary: str  # plain text


def prepare_entry(article: Article, body: str, config: Config) -> Entry:
    summary = article.summary or summarize(body, config.summary_length)
    return Entry(article, sanitize_html(body, article.link).strip(), summary)


class EntryCache:
    """Prepared entries by source path, for one render of many feeds.

    ``body_of`` gives an article's body; by default the one it carries, or
    its file read again when it was loaded without (``read_body``).
    """

    def __init__(self, config: Config, body_of: Callable[[Config, Article], str] = read_body) -> None:
        self._config = config
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
