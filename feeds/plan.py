"""Which feeds exist and which articles each holds (no feedgen, no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from feeds.config import FORMATS as FORMATS  # every format; config.formats: those published
from feeds.config import Config
from feeds.links import article_id
from feeds.models import Article
from feeds.slugs import assign_slugs

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedSpec:
    family: str  # "all" or "category"
    name: str  # the category's own (Chinese) name; "" for all articles
    path: str  # output path without extension: "all", "category/<slug>"
    title: str
    history: Sequence[Article]  # every article of the feed, newest first (a tuple, or a HistoryWindow)

    def url(self, config: Config, fmt: str) -> str:
        return f"{config.feed_root}{self.path}.{fmt}"

    def view(self, size: int, page: int = 1) -> FeedView:
        """Page ``page`` (from 1) of ``size`` items; page 1 is the feed itself."""
        return FeedView(self, size, page)


@dataclass(frozen=True)
class FeedView:
    """What one feed document shows: a page of a FeedSpec's history."""

    spec: FeedSpec
    size: int
    page: int = 1
    archived: ClassVar[bool] = False  # an RFC 5005 archive document (ArchiveView)

    @property
    def items(self) -> Sequence[Article]:
        start, stop = self._window()
        return self.spec.history[start:stop]

    def _window(self) -> tuple[int, int]:
        """Where this view's items lie in the history."""
        start = (self.page - 1) * self.size
        return start, start + self.size

    def detached(self) -> FeedView:
        """The same view, keeping of the history only its own items (and its length).

        What a worker process is sent: a feed's history can hold every article.
        """
        start, stop = self._window()
        history = self.spec.history
        window = HistoryWindow(len(history), start, tuple(history[start:stop]))
        return replace(self, spec=replace(self.spec, history=window))

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.spec.history) // self.size))

    @property
    def updated(self) -> datetime:
        """The newest time among the items: never the build time."""
        return max((a.modified for a in self.items), default=EPOCH)

    def url(self, config: Config, fmt: str, page: int | None = None) -> str:
        """This view's URL; pages after the first carry ``?page=N``."""
        page = self.page if page is None else page
        query = [f"limit={self.size}"] if self.size != config.items else []
        query += [f"page={page}"] if page > 1 else []
        return self.spec.url(config, fmt) + ("?" + "&".join(query) if query else "")

    def is_feed(self, config: Config) -> bool:
        """The feed itself, as the build writes it: not a page, not an archive."""
        return self.page == 1 and self.size == config.items and not self.archived

    def hub(self, config: Config) -> str | None:
        """The WebSub hub to advertise: on the feed itself only, whose URL is what gets pinged."""
        return config.websub_hub if config.websub_hub and self.is_feed(config) else None

    def paging_links(self, config: Config, fmt: str) -> dict[str, str]:
        """RFC 5005 paged-feed links, for pages after the first only.

        The feed itself (page 1, what the build writes to disk) has none, so a
        static server that ignores query strings never sends a reader round
        in circles.
        """
        if self.page == 1:
            if config.archive_size and self.is_feed(config) and self.spec.history:
                newest = ArchiveView(self.spec, config.archive_size, 1)
                return {"prev-archive": newest.url(config, fmt, newest.pages)}
            return {}
        links = {"first": self.url(config, fmt, 1), "last": self.url(config, fmt, self.pages)}
        links["previous"] = self.url(config, fmt, self.page - 1)
        if self.page < self.pages:
            links["next"] = self.url(config, fmt, self.page + 1)
        return links


@dataclass(frozen=True)
class ArchiveView(FeedView):
    """Archive document ``page`` of a feed (RFC 5005 section 4).

    The whole history in pages of ``size`` entries, numbered from 1 for the
    oldest; a full page never changes again (it links only to the current
    feed and to the page before it, never to a newer page).
    """

    archived: ClassVar[bool] = True

    def _window(self) -> tuple[int, int]:
        end = len(self.spec.history) - (self.page - 1) * self.size
        return max(0, end - self.size), max(0, end)  # newest first within the page

    def url(self, config: Config, fmt: str, page: int | None = None) -> str:
        return f"{config.feed_root}{self.spec.path}/archive/{self.page if page is None else page}.{fmt}"

    def paging_links(self, config: Config, fmt: str) -> dict[str, str]:
        links = {"current": self.spec.url(config, fmt)}
        if self.page > 1:
            links["prev-archive"] = self.url(config, fmt, self.page - 1)
        return links


class HistoryWindow(Sequence[Article]):
    """Part of a feed's history, standing in for all of it: its length is the whole history's.

    Slices that stay inside the part work; anything else is an error, never
    a silently shorter feed.
    """

    def __init__(self, length: int, start: int, items: Sequence[Article]) -> None:
        self._length, self._start, self._items = length, min(start, length), items

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, slice):
            raise TypeError("a HistoryWindow is sliced, not indexed")
        start, stop, step = index.indices(self._length)
        stop = max(start, stop)
        if step != 1 or start < self._start or stop > self._start + len(self._items):
            raise IndexError(f"history[{start}:{stop}] is outside the window kept ({self._start}:"
                             f"{self._start + len(self._items)})")
        return self._items[start - self._start : stop - self._start]


ARCHIVE_FORMATS = ("rss", "atom")  # RFC 5005 is for XML feeds: JSON Feed has no archives


def archive_views(spec: FeedSpec, config: Config) -> dict[str, ArchiveView]:
    """Output path -> archive document of ``spec``, when ``[archive] page_size`` is set.

    In each published format that has archives (``[feeds] formats``).
    """
    formats = [fmt for fmt in ARCHIVE_FORMATS if fmt in config.formats]
    if not config.archive_size or not spec.history or not formats:
        return {}
    pages = ArchiveView(spec, config.archive_size).pages
    return {f"{spec.path}/archive/{n}.{fmt}": ArchiveView(spec, config.archive_size, n)
            for n in range(1, pages + 1) for fmt in formats}


def sort_articles(articles: Iterable[Article]) -> list[Article]:
    """Newest first; ties broken by the file's path, so order is deterministic."""
    by_source = sorted(articles, key=lambda a: a.source)
    return sorted(by_source, key=lambda a: a.published, reverse=True)


FAMILY_TITLES = {"category": "{site} · {name}", "tag": "{site} · 标签：{name}", "author": "{site} · 作者：{name}"}


def names_of(article: Article, family: str) -> tuple[str, ...]:
    """The names under which ``article`` appears in feeds of ``family``."""
    if family == "category":
        return article.categories
    if family == "tag":
        return article.tags
    return (article.author.name,) if article.author is not None else ()


def feed_names(articles: Iterable[Article], config: Config) -> set[str]:
    """Every name that gets a feed (any family): what needs a slug."""
    return {n for a in articles if not a.draft for f in config.families for n in names_of(a, f)}


def plan_feeds(
    articles: Sequence[Article], config: Config, known_slugs: Mapping[str, str] | None = None
) -> tuple[FeedSpec, ...]:
    """The all-articles feed, then per family (categories, tags, authors) one
    feed per name, in slug order.

    ``known_slugs`` (name -> ``slugify(name)``) spares computing them again.
    """
    ordered = _unique_ids(sort_articles(a for a in articles if not a.draft), config)
    specs = [FeedSpec("all", "", "all", config.title, tuple(ordered))]
    for family in config.families:
        specs += _family(ordered, family, config, known_slugs)
    return tuple(specs)


def _unique_ids(ordered: list[Article], config: Config) -> list[Article]:
    """The newest article of each id: a feed must never repeat an id (readers merge them)."""
    repeated = repeated_ids(ordered, config)
    if not repeated:
        return ordered
    seen: set[str] = set()
    unique = []
    for article in ordered:
        ident = article_id(article, config)
        if ident not in repeated or ident not in seen:
            seen.add(ident)
            unique.append(article)
    return unique


def repeated_ids(articles: Sequence[Article], config: Config) -> dict[str, list[str]]:
    """Id -> the files of the articles using it, for ids more than one article uses.

    Ids made from paths differ from each other; only a given id can repeat one.
    """
    if all(article.given_id is None for article in articles):
        return {}
    return repeats(articles, lambda article: article_id(article, config))


_Key = TypeVar("_Key", bound=Hashable)


def repeats(articles: Sequence[Article], key: Callable[[Article], _Key]) -> dict[_Key, list[str]]:
    """Key -> files, in file order, for the keys more than one article has.

    Two passes: the first remembers one file per key, the second lists the
    files of the few keys seen twice (a list per article weighed 30 MB at 100k).
    """
    first: dict[_Key, str] = {}
    twice: set[_Key] = set()
    for article in articles:
        found = key(article)
        if first.setdefault(found, article.source) != article.source:
            twice.add(found)
    del first
    groups: dict[_Key, list[str]] = {}
    for article in articles if twice else ():
        found = key(article)
        if found in twice:
            groups.setdefault(found, []).append(article.source)
    return groups


def _family(
    ordered: list[Article], family: str, config: Config, known_slugs: Mapping[str, str] | None
) -> list[FeedSpec]:
    buckets: dict[str, list[Article]] = {}
    for article in ordered:
        for name in names_of(article, family):
            buckets.setdefault(name, []).append(article)
    slugs = assign_slugs(buckets, config.slug_overrides(family), known_slugs)
    return [
        FeedSpec(family, name, f"{family}/{slugs[name]}",
                 FAMILY_TITLES[family].format(site=config.title, name=name), tuple(buckets[name]))
        for name in sorted(slugs, key=lambda n: slugs[n])
    ]
