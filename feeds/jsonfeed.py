"""FeedView -> JSON Feed 1.1 bytes (https://jsonfeed.org/version/1.1); no I/O.

The same items as the RSS/Atom documents of the view, from the same
``EntryCache``, so the three formats cannot drift apart:

* item ``id`` is the Atom ``<id>`` (``Entry.id``), always a string;
* ``content_html`` is the sanitised body (the only field that carries HTML,
  as the spec requires), ``summary`` the plain-text summary;
* ``image`` is the main image (``headimg``, else ``thumbnail``: the Atom
  enclosure), ``banner_image`` the ``thumbnail`` only when it is a different
  picture from ``image`` (a second image the reader would otherwise never see);
* dates are RFC 3339 with an explicit offset, written exactly as Atom writes
  them (``datetime.isoformat()`` of the UTC time: ``2021-07-10T13:41:00+00:00``);
* authors carry only ``name``: a JSON Feed author has name/url/avatar, no email;
* ``next_url`` is the only paging link JSON Feed has; like the RFC 5005 links
  of RSS/Atom it appears on pages after the first only.

Optional fields whose value would be empty are left out; ``null`` is never
written. Two required fields are the exception, always there even when empty:
``items`` (``[]`` for a feed with no articles) and ``content_html`` (``""`` for
an empty body; the spec requires content_html or content_text).

Output is deterministic: a fixed key order, compact separators (json's C
encoder; with ``indent`` it falls back to Python, five times slower), UTF-8
without ``\\u`` escapes for non-ASCII text, and a final newline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from feeds.config import Config
from feeds.entries import site_author
from feeds.models import Article, Author
from feeds.plan import FeedView

if TYPE_CHECKING:
    from feeds.entries import Entry, EntryCache

VERSION = "https://jsonfeed.org/version/1.1"
MIME = "application/feed+json"  # the 1.1 media type; readers also accept application/json
FORMAT = "json"  # the extension in the feed's URL


def render_json(view: FeedView, config: Config, entries: EntryCache, items: Sequence[Article] | None = None) -> bytes:
    """One JSON Feed 1.1 document for ``view`` (a page of a feed); ``items``: only these of its items."""
    site = site_author(config)
    title = view.spec.title
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": title,
        "home_page_url": config.base_url,
        "feed_url": view.url(config, FORMAT),
        "description": config.description or title,
        "language": config.language,
        "authors": _authors(site),
        "next_url": view.paging_links(config, FORMAT).get("next"),
        "hubs": _hubs(view, config),
        "items": [_item(entries(article), site) for article in (view.items if items is None else items)],
    }
    return dump(_present(feed, keep=("items",)))


def dump(document: dict[str, Any]) -> bytes:
    """A document's bytes: compact, UTF-8, a final newline (``json.loads`` of them, dumped again, is them)."""
    return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _hubs(view: FeedView, config: Config) -> list[dict[str, str]]:
    """JSON Feed's WebSub hub, on the feed itself only (as in RSS and Atom)."""
    hub = view.hub(config)
    return [{"type": "WebSub", "url": hub}] if hub else []


def _item(entry: Entry, site: Author) -> dict[str, Any]:
    article = entry.article
    item: dict[str, Any] = {
        "id": entry.id,
        "url": entry.link,
        "title": article.title,
        "content_html": entry.content,
        "summary": entry.summary,
        "image": article.image,
        "banner_image": _banner(article),
        "date_published": rfc3339(article.published),
        "date_modified": rfc3339(article.modified),
        "authors": _authors(article.author or site),
        "tags": list(dict.fromkeys(article.categories + article.tags)),
    }
    return _present(item, keep=("content_html",))


def _banner(article: Article) -> str | None:
    """The thumbnail, when the article has one besides its main image."""
    return article.thumbnail if article.thumbnail != article.image else None


def _authors(author: Author) -> list[dict[str, str]]:
    """``[{"name": …}]``; empty (so left out) for a nameless author, since an
    author object must have at least one member."""
    return [{"name": author.name}] if author.name else []


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC as RFC 3339, the way feedgen writes Atom dates.

    A naive datetime (never made by the parser) is taken as UTC, never as the
    machine's local time, so the output does not depend on where it is built.
    """
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat()


def _present(fields: dict[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """``fields`` without the ones that are None or empty (except ``keep``), in order."""
    return {k: v for k, v in fields.items() if k in keep or (v is not None and v != "" and v != [])}
