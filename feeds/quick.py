"""Rebuilds whose edits move no article: the last plan, with the edited records in it (no I/O).

A build saves what it planned (``feeds.cache.Snapshot``): every feed's
first page, the records shown there, and what its report depends on. When
the next build finds the same files, a few of them changed, and every
changed article keeps whatever decides where it goes and what is reported
about it (``keeps_place``), every feed holds the same articles in the same
order as before. The build then renders from the snapshot with the edited
records in place and replays the last report, instead of reading every
entry of the cache and planning again. Any other change (a file added,
removed or renamed; a date, a category, a tag, an author, an id, a draft
flag or a finding that changed) takes the full path, which gives the same
bytes. So does a site with archives (``[archive] page_size``), whose pages
hold every article.
"""

from __future__ import annotations

import array
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

from feeds.cache import Snapshot, Window
from feeds.config import Config
from feeds.loader import FileEntry, Stamp
from feeds.models import Article
from feeds.plan import FeedSpec, HistoryWindow

MOST = 64  # changed files beyond which the full path (parsing in parallel, one pass over the cache) is as fast

_RUN = 512  # numbers (an even count: whole files) compared at once by changed_files

Scanned = Sequence[tuple[str, str, Stamp | None]]


def eligible(config: Config) -> bool:
    """A site whose feeds show only their first page (no archives)."""
    return not config.archive_size


def changed_files(snapshot: Snapshot, scanned: Scanned, numbers: array.array[int]) -> list[int] | None:
    """Where in ``scanned`` the files are whose size or mtime differ from the snapshot's.

    ``numbers`` are ``scanned``'s (``feeds.cache.stamp_numbers``). None when
    the files are not the same ones (added, removed, renamed), when a
    changed one has no stamp, or when more than ``MOST`` changed.
    """
    if len(scanned) != len(snapshot.sources) or [s for s, _, _ in scanned] != list(snapshot.sources):
        return None
    old = snapshot.numbers
    places: list[int] = []
    for start in range(0, len(numbers), _RUN):  # runs compared in C; numbers one by one only in a run that differs
        run, was = numbers[start : start + _RUN], old[start : start + _RUN]
        if run != was:
            places += sorted({(start + at) >> 1 for at, (a, b) in enumerate(zip(run, was, strict=True)) if a != b})
    if len(places) > MOST or any(numbers[2 * p] < 0 or old[2 * p] < 0 for p in places):  # size -1: no stamp
        return None
    return places


def keeps_place(old: FileEntry, new: FileEntry, *, shown: bool, shared: frozenset[datetime]) -> bool:
    """``new`` (a file's entry now) goes in the same feeds, at the same places, with the same findings as ``old``.

    Its date, names, id and draft flag decide where it goes; those and its
    findings decide what is reported. Its title counts when another article
    has the same date (``shared``: a duplicate-title warning could come or
    go). For an article on no feed's first page (not ``shown``), its
    ``modified`` time counts too: the newest of them dates the OPML file.
    """
    a, b = old.article, new.article
    if a is None or b is None or old.findings != new.findings:
        return False
    if (a.published, a.given_id, a.categories, a.tags, a.author, a.draft) != (
            b.published, b.given_id, b.categories, b.tags, b.author, b.draft):
        return False
    if a.title != b.title and a.published in shared:
        return False
    return shown or a.draft or a.modified == b.modified


def specs_of(snapshot: Snapshot, articles: Mapping[str, Article]) -> tuple[FeedSpec, ...]:
    """The feeds of the snapshot, their histories kept to the first page, showing ``articles``."""
    return tuple(
        FeedSpec(w.family, w.name, w.path, w.title,
                 HistoryWindow(w.length, 0, tuple(articles[s] for s in w.items)))
        for w in snapshot.windows
    )


def newest(snapshot: Snapshot, articles: Mapping[str, Article]) -> datetime | None:
    """The newest ``modified`` of any article of any feed (``feeds.opml.newest_item``), ``articles`` shown."""
    times = [a.modified for a in articles.values()]
    if snapshot.newest_rest is not None:
        times.append(snapshot.newest_rest)
    return max(times, default=None)


def snapshot_of(
    specs: Sequence[FeedSpec], config: Config, sources: tuple[str, ...], numbers: array.array[int],
    articles: Sequence[Article],
) -> Snapshot:
    """What to keep of a full build's plan: ``specs`` (all articles first), the scan
    (``sources`` and ``numbers``), and ``articles``, every usable one (drafts too)."""
    if not specs or specs[0].family != "all":
        raise ValueError("a plan starts with the feed of all articles")
    windows = tuple(Window(s.family, s.name, s.path, s.title, len(s.history),
                           tuple(a.source for a in s.history[: config.items])) for s in specs)
    shown = {a.source: a for s in specs for a in s.history[: config.items]}
    rest = max((a.modified for a in specs[0].history if a.source not in shown), default=None)
    dates = Counter(a.published for a in articles)
    shared = frozenset(when for when, count in dates.items() if count > 1)
    return Snapshot(sources, numbers, windows, shown, rest, shared)
