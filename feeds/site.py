"""Every published file of a build as {relative path: bytes}; no I/O.

The CLI writes this mapping to disk and the web app serves it from memory,
so what is served and what is written cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from feeds.config import Config
from feeds.index import render_index
from feeds.models import Article
from feeds.opml import newest_item, render_opml
from feeds.plan import EPOCH, FORMATS, FeedSpec, plan_feeds

if TYPE_CHECKING:
    from feeds.feed import EntryCache

INDEX = "index.html"
OPML = "feeds.opml"


@dataclass(frozen=True)
class Site:
    """One render: the feeds planned, the files written, and what they came from."""

    specs: tuple[FeedSpec, ...]
    files: Mapping[str, bytes]  # relative path -> bytes, as `feeds build` writes them
    updated: Mapping[str, datetime]  # relative path -> newest item time it shows
    entries: EntryCache  # prepared items, to render other pages of the same feeds


def render_site(articles: Sequence[Article], config: Config) -> dict[str, bytes]:
    return dict(build_site(articles, config).files)


def build_site(articles: Sequence[Article], config: Config) -> Site:
    from feeds.feed import EntryCache, render_feed  # feedgen is imported only here

    specs = plan_feeds(articles, config)
    entries = EntryCache(config)
    files: dict[str, bytes] = {}
    updated: dict[str, datetime] = {}
    for spec in specs:
        view = spec.view(config.items)
        for fmt in FORMATS:
            files[f"{spec.path}.{fmt}"] = render_feed(view, fmt, config, entries)
            updated[f"{spec.path}.{fmt}"] = view.updated
    files[INDEX] = render_index(specs, config)
    files[OPML] = render_opml(specs, config)
    updated[INDEX] = updated[OPML] = newest_item(specs) or EPOCH
    return Site(specs, files, updated, entries)
