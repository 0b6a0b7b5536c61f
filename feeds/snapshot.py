"""What the app serves, computed once per build: bytes, encodings, validators.

A Snapshot is never changed after it is made (its page cache only fills up),
so a request that holds one sees one build from start to end.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from feeds.compress import COMPRESSORS
from feeds.config import Config
from feeds.plan import FeedSpec
from feeds.site import Site

MEDIA_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json",
    "opml": "text/x-opml; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
ETAG_SUFFIXES = {"identity": "", "gzip": "-gz", "br": "-br"}
PAGE_CACHE_SIZE = 64


@dataclass(frozen=True)
class Variant:
    """The bytes of one resource in one Content-Encoding, and their ETag."""

    encoding: str  # "identity", "gzip" or "br"
    body: bytes
    etag: str  # strong, quoted


@dataclass(frozen=True)
class Resource:
    media_type: str  # with charset
    last_modified: datetime  # the newest item it shows
    variants: Mapping[str, Variant]  # encoding -> variant; "identity" always


def make_resource(path: str, body: bytes, last_modified: datetime) -> Resource:
    """``body`` with every compressed copy this install can make."""
    digest = hashlib.sha256(body).hexdigest()[:32]
    variants = {"identity": Variant("identity", body, f'"{digest}"')}
    for encoding, compress in COMPRESSORS.items():
        variants[encoding] = Variant(encoding, compress(body), f'"{digest}{ETAG_SUFFIXES[encoding]}"')
    return Resource(media_type_of(path), last_modified, variants)


def media_type_of(path: str) -> str:
    return MEDIA_TYPES[path.rpartition(".")[2]]


class Snapshot:
    """Every file of one build, ready to send; other pages rendered on demand."""

    def __init__(self, site: Site, config: Config) -> None:
        self.site = site
        self.config = config
        self.resources: Mapping[str, Resource] = {
            path: make_resource(path, body, site.updated[path]) for path, body in site.files.items()
        }
        self._feeds: Mapping[str, tuple[FeedSpec, str]] = {
            f"{spec.path}.{fmt}": (spec, fmt) for spec in site.specs for fmt in config.formats
        }  # a format left out of [feeds] formats is not found, like an unknown feed
        self._page = functools.lru_cache(maxsize=PAGE_CACHE_SIZE)(self._render_page)

    @property
    def articles(self) -> int:
        return len(self.site.specs[0].history) if self.site.specs else 0

    def get(self, path: str) -> Resource | None:
        """The file ``feeds build`` writes at ``path``, or None."""
        return self.resources.get(path)

    def page(self, path: str, limit: int | None, page: int) -> Resource | None:
        """Page ``page`` of the feed at ``path`` with ``limit`` items per page.

        ``limit`` is clamped to [1, config.items]; the feed's own page (the
        build's file) comes back for the defaults. None for an unknown feed
        or a page past the last.
        """
        size = self.config.items if limit is None else min(max(limit, 1), self.config.items)
        if path not in self._feeds:
            return None
        if size == self.config.items and page == 1:
            return self.resources[path]
        spec, _ = self._feeds[path]
        if not 1 <= page <= spec.view(size).pages:
            return None
        return self._page(path, size, page)

    def _render_page(self, path: str, size: int, page: int) -> Resource:
        from feeds.site import render_document

        spec, fmt = self._feeds[path]
        view = spec.view(size, page)
        body = render_document(view, fmt, self.config, self.site.entries)
        return make_resource(path, body, view.updated)
