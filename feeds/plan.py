"""Which feeds exist and which articles each holds (no feedgen, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from feeds.config import Config
from feeds.models import Article
from feeds.slugs import assign_slugs

FORMATS = ("rss", "atom")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class FeedSpec:
    family: str  # "all" or "category"
    name: str  # the category's own (Chinese) name; "" for all articles
    path: str  # output path without extension: "all", "category/<slug>"
    title: str
    items: tuple[Article, ...]  # newest first, at most config.items

    @property
    def updated(self) -> datetime:
        """The newest time among the items: never the build time."""
        return max((a.modified for a in self.items), default=EPOCH)

    def url(self, config: Config, fmt: str) -> str:
        return f"{config.feed_root}{self.path}.{fmt}"


def sort_articles(articles: Iterable[Article]) -> list[Article]:
    """Newest first; ties broken by the file's path, so order is deterministic."""
    by_source = sorted(articles, key=lambda a: a.source)
    return sorted(by_source, key=lambda a: a.published, reverse=True)


def plan_feeds(articles: Sequence[Article], config: Config) -> tuple[FeedSpec, ...]:
    """The all-articles feed, then one feed per category in slug order."""
    ordered = sort_articles(a for a in articles if not a.draft)
    slugs = assign_slugs(
        {c for a in ordered for c in a.categories}, config.category_slugs
    )
    buckets: dict[str, list[Article]] = {name: [] for name in slugs}
    for article in ordered:
        for name in article.categories:
            bucket = buckets[name]
            if len(bucket) < config.items:
                bucket.append(article)
    specs = [FeedSpec("all", "", "all", config.title, tuple(ordered[: config.items]))]
    for name in sorted(slugs, key=lambda n: slugs[n]):
        title = f"{config.title} · {name}"
        specs.append(FeedSpec("category", name, f"category/{slugs[name]}", title, tuple(buckets[name])))
    return tuple(specs)
