"""Rebuilds whose edits move no article: the last plan, with the edited records in it (no I/O).

A build saves what it planned (``feeds.cache.Snapshot``): every feed's
first page, the records shown there, and what its report depends on. When
the next build finds the same files, a few of them changed, and every
changed article keeps whatever decides where it goes and what is reported
about it (``keeps_place``), every feed holds the same articles in the same
order as before. The build then renders from the snapshot with the edited
records in place (each document from its last bytes: ``feeds.splice``) and
replays the last report, instead of reading every entry of the cache and
planning again. A few new files are put in too,
when each is an article that can only go in feeds that exist, at a place
its date decides alone, with nothing to say about other files, new or old
(``admits``, ``with_added``); its own findings join the report. Any other
change (a file removed or renamed; a date, a category, a tag, an author,
an id, a draft flag or a finding that changed; a new draft, error, name
or id) takes the full path, which gives the same bytes. So does a site
with archives (``[archive] page_size``), whose pages hold every article.
"""

from __future__ import annotations

import array
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from feeds.cache import Snapshot, Window, records_with
from feeds.config import Config
from feeds.links import article_id
from feeds.loader import FileEntry, Scanned, sources_of
from feeds.models import Article
from feeds.plan import EPOCH, FeedSpec, HistoryWindow, names_of

MOST = 64  # changed files beyond which the full path (parsing in parallel, one pass over the cache) is as fast

_MICROSECOND = timedelta(microseconds=1)
_RUN = 512  # numbers (an even count: whole files) compared at once by changed_files



def eligible(config: Config) -> bool:
    """A site whose feeds show only their first page (no archives)."""
    return not config.archive_size


@dataclass(frozen=True)
class Changes:
    """The files of a scan that differ from the snapshot's, by their place in the scan."""

    changed: list[int]  # files the snapshot has, whose size or mtime differ
    added: list[int]  # files the snapshot lacks


def changed_files(snapshot: Snapshot, scanned: Scanned, numbers: array.array[int],
                  distrusted: Collection[int] = ()) -> Changes | None:
    """Where in ``scanned`` the files are that changed, or that are new.

    ``numbers`` are ``scanned``'s (``feeds.cache.stamp_numbers``); the files
    at the places ``distrusted`` names count as changed, whatever their
    stamps say (``feeds.stamps.racy``). None when
    a file of the snapshot is gone (removed, renamed), when a changed or new
    one has no stamp, or when more than ``MOST`` changed or came.
    """
    old = snapshot.numbers
    changed: list[int] = []
    added: list[int] = []
    sources = sources_of(scanned)
    if len(sources) == len(snapshot.sources) and list(sources) == list(snapshot.sources):
        was_at: dict[int, int] = {}
        for start in range(0, len(numbers), _RUN):  # runs compared in C; one by one only in a run that differs
            run, was = numbers[start : start + _RUN], old[start : start + _RUN]
            if run != was:
                changed += sorted({(start + at) >> 1 for at, (a, b) in enumerate(zip(run, was, strict=True)) if a != b})
    else:  # files added: matched by path
        at = {source: place for place, source in enumerate(snapshot.sources)}
        was_at = {}
        for place, source in enumerate(sources):
            before = at.get(source)
            if before is None:
                added.append(place)
            elif numbers[2 * place] != old[2 * before] or numbers[2 * place + 1] != old[2 * before + 1]:
                changed.append(place)
                was_at[place] = before
        if len(scanned) - len(added) != len(snapshot.sources):  # some file of the snapshot is gone
            return None
    if any(numbers[2 * p] < 0 for p in (*changed, *added)) \
            or any(old[2 * was_at.get(p, p)] < 0 for p in changed):  # size -1: no stamp
        return None
    if distrusted:  # stamps as they were (so not -1), in the snapshot unless new
        changed = sorted(set(changed).union(distrusted).difference(added))
    return Changes(changed, added) if len(changed) + len(added) <= MOST else None


def admits(added: Sequence[FileEntry], snapshot: Snapshot, config: Config, *, clashes: bool) -> bool:
    """The new files' articles can be put in the snapshot's feeds without planning again.

    Each an article, no draft, with no id of its own, whose id no article
    gives and whose date no other article has, old or new (a duplicate
    warning could come), whose names all have feeds already (a new feed
    needs a slug), on a site where no names' slugs clash (``clashes``:
    which file is warned moves with the first file of a name).
    """
    feeds = {(w.family, w.name) for w in snapshot.windows}
    dates = set(snapshot.dates)
    for entry in added:
        a = entry.article
        if a is None or a.draft or a.given_id is not None or clashes or micros(a.published) in dates:
            return False
        if article_id(a, config) in snapshot.given_ids:
            return False
        if not all((family, name) in feeds for family in config.families for name in names_of(a, family)):
            return False
        dates.add(micros(a.published))
    return True


def with_added(
    snapshot: Snapshot, articles: Mapping[str, Article], added: Sequence[Article], config: Config,
) -> tuple[tuple[Window, ...], Mapping[str, Article], datetime | None]:
    """The snapshot's feeds with ``added`` (``admits``) in them: windows, the records shown, newest_rest.

    ``articles`` are the records of the snapshot's windows (edited ones in
    place). Each new article goes where ``feeds.plan.sort_articles`` puts it
    (its date is no other's: no tie), the last item of a full first page
    leaving it.
    """
    known = records_with(articles, {a.source: a for a in added})
    windows = []
    for w in snapshot.windows:
        items, length = list(w.items), w.length
        for a in added:
            if w.family != "all" and w.name not in names_of(a, w.family):
                continue
            length += 1
            at = next((i for i, s in enumerate(items) if known[s].published < a.published), len(items))
            if at < len(items) or len(items) < config.items:
                items.insert(at, a.source)
                del items[config.items :]
        windows.append(Window(w.family, w.name, w.path, w.title, length, tuple(items)))
    shown = records_with(known, {}, keep={s for w in windows for s in w.items})
    left = [known[s].modified for s in known if s not in shown]  # new ones on no first page, and those pushed off
    rest = max([*left, snapshot.newest_rest] if snapshot.newest_rest is not None else left, default=None)
    return tuple(windows), shown, rest


def advanced(
    snapshot: Snapshot, config: Config, sources: tuple[str, ...], numbers: array.array[int],
    articles: Mapping[str, Article], added: Sequence[Article],
) -> Snapshot:
    """The snapshot of the files now (``sources``, ``numbers``): ``articles`` the records of its windows
    (edited ones in place), with ``added`` put in (``admits``)."""
    windows, shown, rest = snapshot.windows, articles, snapshot.newest_rest
    if added:
        windows, shown, rest = with_added(snapshot, articles, added, config)
    return replace(snapshot, sources=sources, numbers=numbers, windows=windows, articles=shown, newest_rest=rest,
                   dates=snapshot.dates | {micros(a.published) for a in added})


def micros(moment: datetime) -> int:
    """``moment`` (aware) as microseconds since 1970: how ``Snapshot.dates`` holds dates."""
    return (moment - EPOCH) // _MICROSECOND


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
    """The feeds of the snapshot, their histories kept to the first page, showing ``articles``.

    A feed's records are looked up when its items are first asked for: a
    rebuild that renders two feeds reads (``feeds.cache.Records``) theirs only.
    """
    return tuple(
        FeedSpec(w.family, w.name, w.path, w.title, HistoryWindow(w.length, 0, _Shown(articles, w.items)))
        for w in snapshot.windows
    )


class _Shown(Sequence[Article]):
    """A window's items: ``records`` of ``sources``, looked up when sliced, once."""

    def __init__(self, records: Mapping[str, Article], sources: tuple[str, ...]) -> None:
        self._records, self._sources = records, sources
        self._items: tuple[Article, ...] | None = None

    def __len__(self) -> int:
        return len(self._sources)

    def __getitem__(self, index: Any) -> Any:
        if self._items is None:
            self._items = tuple(self._records[s] for s in self._sources)
        return self._items[index]


def read_records(specs: Sequence[FeedSpec], paths: Collection[str], config: Config) -> None:
    """Read the records the feeds at ``paths`` (``FeedSpec.path``) show, now: one that is not what it
    should be raises CacheError here, before any file is written."""
    for spec in specs:
        if spec.path in paths:
            spec.view(config.items).items  # noqa: B018 - read for the check


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
    given = frozenset(a.given_id for a in articles if a.given_id is not None)
    return Snapshot(sources, numbers, windows, shown, rest, shared, frozenset(map(micros, dates)), given)
