"""Every published file of a build as {relative path: bytes}; no I/O.

The CLI writes this mapping to disk and the web app serves it from memory,
so what is served and what is written cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from feeds.config import Config
from feeds.entries import EntryCache
from feeds.models import Article
from feeds.plan import EPOCH, FeedSpec, FeedView, archive_views, plan_feeds

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
    from feeds.opml import newest_item

    specs = plan_feeds(articles, config)
    entries = EntryCache(config)
    files = render_files(specs, config, entries)
    updated = {path: view.updated for path, view in feed_views(specs, config).items()}
    updated[INDEX] = updated[OPML] = newest_item(specs) or EPOCH
    return Site(specs, files, updated, entries)


def feed_views(specs: Sequence[FeedSpec], config: Config) -> dict[str, FeedView]:
    """Output path -> the view it shows, for every feed file of a build (archives too).

    Only the formats of ``[feeds] formats``.
    """
    views: dict[str, FeedView] = {}
    for spec in specs:
        views.update({f"{spec.path}.{fmt}": spec.view(config.items) for fmt in config.formats})
        views.update(archive_views(spec, config))
    return views


def render_document(view: FeedView, fmt: str, config: Config, entries: EntryCache) -> bytes:
    """One feed document in ``fmt``: RSS, Atom (feedgen) or JSON Feed."""
    if fmt == "json":
        from feeds.jsonfeed import render_json

        return render_json(view, config, entries)
    from feeds.feed import render_feed  # not imported when no feed changed

    return render_feed(view, fmt, config, entries)


def render_files(specs: Sequence[FeedSpec], config: Config, entries: EntryCache) -> dict[str, bytes]:
    """Every feed file, index.html and feeds.opml (a build renders only changed ones: feeds.fanout)."""
    files: dict[str, bytes] = {}
    for path, view in feed_views(specs, config).items():
        files[path] = render_document(view, path.rsplit(".", 1)[1], config, entries)
    from feeds.index import render_index  # the pages: not for a rebuild that keeps them
    from feeds.opml import render_opml

    files[INDEX] = render_index(specs, config)
    files[OPML] = render_opml(specs, config)
    return files
