"""Every published file of a build as {relative path: bytes}; no I/O.

The CLI writes this mapping to disk and the web app serves it from memory,
so what is served and what is written cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from feeds.config import Config
from feeds.index import render_index
from feeds.models import Article
from feeds.plan import FORMATS, plan_feeds


def render_site(articles: Sequence[Article], config: Config) -> dict[str, bytes]:
    from feeds.feed import EntryCache, render_feed  # feedgen is imported only here

    specs = plan_feeds(articles, config)
    entries = EntryCache(config)
    files = {
        f"{spec.path}.{fmt}": render_feed(spec.view(config.items), fmt, config, entries)
        for spec in specs for fmt in FORMATS
    }
    files["index.html"] = render_index(specs, config)
    return files
