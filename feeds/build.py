"""`feeds build` as a library call: load, render, write; returns a report.

Builds are incremental. The cache (``[build] cache``) remembers every file's
stamp and parsed front matter, the slugs of category names, and for every
feed it wrote a fingerprint of what the feed was made from. A rebuild parses
only files whose stamp changed and renders only feeds whose fingerprint
changed; when the content folder's stamp is the one the cache recorded and
every output is as written, it reads nothing else and imports no renderer.
A cache that cannot be read is discarded with a notice, never trusted.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feeds.cache import (
    SNAPSHOT,
    Cache,
    CacheError,
    Output,
    Snapshot,
    config_key,
    encode_report,
    finding_from_json,
    finding_json,
    folder_stamp,
    load_cache,
    load_entries,
    load_snapshot,
    pack_snapshot,
    quick_blocks,
    records_with,
    restage,
    save_cache,
    stage_entries,
    stamp_numbers,
)
from feeds.compress import SUFFIXES, base_of, copies, with_copies
from feeds.config import Config
from feeds.errors import FeedsError
from feeds.loader import FileEntry, LoadResult, Progress, Scan, Stamp, load_articles, scan
from feeds.models import Finding
from feeds.output import WriteReport, output_lock, read_manifest, remove_temp_files, write_tree
from feeds.review import future_findings, ordered
from feeds.stamps import racy

if TYPE_CHECKING:
    from feeds.entries import EntryCache
    from feeds.fanout import Reuse
    from feeds.plan import FeedSpec, FeedView
    from feeds.prescan import Prescan
    from feeds.workers import Slugger, Workers


class StrictError(FeedsError):
    """``--strict`` and some article had an error: nothing is written."""


class EmptyError(FeedsError):
    """No article to publish while feeds are published: kept unless allowed."""


@dataclass(frozen=True)
class Counts:
    files: int
    published: int
    drafts: int
    skipped: Mapping[str, int]  # error code -> files

    @classmethod
    def of(cls, load: LoadResult) -> Counts:
        skipped = Counter(f.code for f in load.errors)
        return cls(load.files, len(load.published), load.drafts, dict(sorted(skipped.items())))


@dataclass(frozen=True)
class BuildReport:
    counts: Counts
    write: WriteReport
    findings: tuple[Finding, ...]  # errors and warnings, by file; as `feeds check`
    seconds: float
    notices: tuple[str, ...] = ()  # about the build itself (a discarded cache …)
    load: LoadResult | None = field(default=None, compare=False)  # None: not every entry was looked at
    parsed: int = 0  # files parsed (the others came from the cache)
    mode: str = "full"  # "kept": nothing changed, nothing read; "quick": from the last plan (feeds.quick)

    def summary(self) -> str:
        """One line; file counts leave out the .gz/.br copies of each file."""
        c, write = self.counts, self.write
        reasons = ", ".join(f"{code} {n}" for code, n in c.skipped.items())
        skipped = f"{sum(c.skipped.values())} skipped" + (f" ({reasons})" if reasons else "")
        written, unchanged, removed = (primary_count(p) for p in (write.written, write.unchanged, write.removed))
        return (
            f"feeds: {c.files} files read, {c.published} published, {skipped}, "
            f"{_plural(c.drafts, 'draft')}; {written} files written, "
            f"{unchanged} unchanged, {removed} removed in {self.seconds:.2f} s"
        )


def primary_count(paths: tuple[str, ...]) -> int:
    """How many of ``paths`` are not .gz/.br copies."""
    return sum(1 for p in paths if not p.endswith(tuple(SUFFIXES.values())))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def build(
    config: Config, *, strict: bool = False, allow_empty: bool = False,
    lock_timeout: float = 30.0, now: datetime | None = None, use_cache: bool = True, jobs: int = 1,
    progress: Progress | None = None, prescan: Prescan | None = None,
) -> BuildReport:
    """Build every feed of ``config`` into ``config.output``.

    ``now`` only decides which dates are reported as in the future; no output
    byte depends on it. ``use_cache=False`` ignores the cache (and rewrites it).
    ``prescan``: a scan of the content folder started before (``feeds.prescan``),
    used if it is of this config's folders and fresh; else the build scans.
    """
    start = time.perf_counter()
    clock = now or datetime.now(UTC)
    with output_lock(config.output, lock_timeout), contextlib.ExitStack() as stack:
        head, notices = _open_cache(config, use_cache)  # header and report only
        # A cold build forks its slugger now: it imports pypinyin while this process scans.
        slugger = stack.enter_context(_slugger(config)) if head is None and jobs > 1 else None
        # With a prescan's child at work on the other core, the outputs are checked while it works.
        early = prescan is not None and not strict
        kept = early and head is not None and _outputs_kept(head, config.output)
        found = prescan.result(config.content, config.output) if prescan is not None else None
        since = prescan.since if prescan is not None and found is not None else time.time_ns()  # before any stat
        scanned = scan(config, split=jobs > 1, found=found)
        numbers = stamp_numbers(scanned)
        stamp = folder_stamp(scanned, numbers)
        shaky = racy(numbers, head.scanned_ns) if head is not None else []  # read too near a write, last time
        if head is not None and not strict and not shaky and head.stamp == stamp \
                and (kept if early else _outputs_kept(head, config.output)):  # the folder and every output as they were
            return _replayed(head, clock, time.perf_counter() - start, stored=list(head.findings))
        found_cache = head is not None
        if head is not None and not strict:  # in this process: a few files, a few feeds (no fork pays off)
            try:
                quick = _quick(config, head, scanned, numbers, stamp, clock, shaky, since)
            except CacheError as exc:
                quick, found_cache = None, False
                notices += (_discarded(config, exc),)
            if quick is not None:
                return replace(quick, seconds=time.perf_counter() - start, notices=notices)
        # A rebuild by the full path forks its worker processes before the cache's entries are read, and
        # they import the renderers while they are; a cold build forks its own later (this process parses
        # beside them, importing the renderers that later ones inherit).
        workers = stack.enter_context(_workers(config, jobs if found_cache else 1))
        if workers is not None:
            workers.warm_parser()  # for the files that changed, while the cache is read
        cache, more = _with_entries(config, head if found_cache else None)
        head = None  # its report: 30k findings at 100k files, not needed now
        notices += more
        distrusted = {scanned[at][0] for at in shaky}
        known = cache.entries if cache is not None else None
        if known is not None and distrusted:
            known = {source: entry for source, entry in known.items() if source not in distrusted}
        cached_slugs = cache.slugs if cache is not None else {}
        load = load_articles(config, cache=known, jobs=jobs, scanned=scanned, progress=progress,
                             known_slugs=None if slugger else cached_slugs, workers=workers,
                             meanwhile=_import_renderers)
        sources = tuple(scanned.sources)
        del scanned  # 100k paths and stamps: free them before rendering
        _refuse(load, config, strict=strict, allow_empty=allow_empty)
        from feeds.opml import newest_item
        from feeds.plan import feed_names, plan_feeds  # planning: not for a build with nothing to do
        from feeds.quick import eligible, snapshot_of
        from feeds.review import findings_of
        from feeds.slugs import natural_slugs

        names, known_slugs = feed_names(load.published, config), {**load.slugs, **cached_slugs}
        if slugger is not None:
            known_slugs.update(slugger.slugs([name for name in names if name not in known_slugs]))
        slugs = natural_slugs(names, known_slugs)
        specs = plan_feeds(load.published, config, slugs)
        folder = cache_folder(config)
        side: dict[str, Any] = {}

        def meanwhile() -> None:  # needs no output file: done while workers render
            side["findings"] = findings_of(load, config, clock, slugs)
            side["report"] = _report_json(load, side["findings"], clock)
            side["staged"] = staged = stage_entries(folder, load.entries, cache, load.packed)
            if eligible(config):
                snapshot = snapshot_of(specs, config, sources, numbers, load.articles)
                side["snapshot"] = pack_snapshot(replace(snapshot, blocks=staged.index))
            side["text"] = encode_report(side["report"])

        stamps = _trusted({e.source: e.stamp for e in load.entries}, distrusted, since)
        prints = _fingerprints(specs, stamps, config, cache.outputs if cache else {})
        try:
            written, outputs = _render_and_write(specs, prints, config, jobs, meanwhile, workers, newest_item(specs))
        except BaseException:
            if "staged" in side:
                side["staged"].path.unlink(missing_ok=True)
            raise
        findings = side["findings"]
        save_cache(folder, config, Cache(stamp, {}, outputs, slugs, side["report"], scanned_ns=since),
                   staged=side["staged"], snapshot=side.get("snapshot"), report=side["text"])
    shown = tuple(f for f in findings if f.level != "info")
    return BuildReport(Counts.of(load), written, shown, time.perf_counter() - start, notices, load, load.parsed)


def _quick(
    config: Config, head: Cache, scanned: Scan, numbers: array.array[int], stamp: str, clock: datetime,
    shaky: Sequence[int], since: int,
) -> BuildReport | None:
    """The build, when the changes move no article (``feeds.quick``); None when they may.

    ``head`` is the cache read without its entries; ``shaky`` the places in
    ``scanned`` of files its build read too near a write to trust their
    stamps (``feeds.stamps.racy``): read again, as if changed. ``since``:
    when this build's scan began. Raises CacheError when the snapshot or
    the blocks it lists are not what they should be.
    """
    from feeds import quick

    if not quick.eligible(config) or not head.report.get("published"):  # none: the full path decides (EmptyError)
        return None
    folder = cache_folder(config)
    snapshot = load_snapshot(folder, head)
    changes = quick.changed_files(snapshot, scanned, numbers, shaky) if snapshot is not None else None
    if snapshot is None or changes is None:
        return None
    todo = [scanned[p] for p in (*changes.changed, *changes.added)]
    edited = {scanned[p][0] for p in changes.changed}
    new_files = {scanned[p][0] for p in changes.added}
    blocks = quick_blocks(folder, head, snapshot, sorted(edited | new_files))
    old = {e.source: e for entries in blocks.values() for e in entries if e.source in edited}
    if len(old) != len(edited):
        raise CacheError(f"corrupt (a file {SNAPSHOT} lists has no entry)")
    entries = {e.source: e for e in load_articles(config, cache={}, scanned=todo).entries}
    changed = {s: e for s, e in entries.items() if s in edited}
    added = sorted((e for s, e in entries.items() if s in new_files), key=lambda e: e.source)
    shown, shared = snapshot.articles, snapshot.shared
    if not all(quick.keeps_place(old[s], e, shown=s in shown, shared=shared) for s, e in changed.items()):
        return None
    clashes = any(f[2] == "slug-clash" for f in head.report["findings"])
    if not quick.admits(added, snapshot, config, clashes=clashes):
        return None
    edited_records = {s: e.article for s, e in changed.items() if s in shown and e.article is not None}
    fresh = quick.advanced(snapshot, config, tuple(scanned.sources), numbers,
                           records_with(shown, edited_records), [e.article for e in added if e.article is not None])
    specs = quick.specs_of(fresh, fresh.articles)
    before = {w.path: w.items for w in snapshot.windows}
    same = {w.path for w in fresh.windows if w.items == before[w.path] and edited.isdisjoint(w.items)}  # same stamps
    stamps = _trusted({source: st for source, _, st in scanned}, {scanned[at][0] for at in shaky}, since)
    prints = _fingerprints(specs, stamps, config, head.outputs, same)
    report = _report_with(head.report, added, clock) if added else head.report
    side: dict[str, Any] = {}

    def meanwhile() -> None:
        side["staged"] = staged = restage(folder, head, snapshot, blocks, changed, added)
        side["snapshot"] = pack_snapshot(replace(fresh, blocks=staged.index))
        kept_text = head.report_text if not added else None
        side["text"] = kept_text if kept_text is not None else encode_report(report)

    # Edits that keep every date keep every feed's newest time: the pages show nothing else of the items.
    same_times = not added and all(_modified(old[s]) == _modified(e) for s, e in changed.items())
    pages_kept = same_times and _pages_current(config, head.outputs)
    # The records of the feeds to render, and of all when the pages are made again, read before any write.
    quick.read_records(specs, _rendered_feeds(prints) if pages_kept else {w.path for w in fresh.windows}, config)
    try:
        written, outputs = _render_and_write(specs, prints, config, 1, meanwhile, None,
                                             None if pages_kept else quick.newest(fresh, fresh.articles),
                                             _splicer(config, head.outputs, snapshot, edited | new_files),
                                             pages_kept=pages_kept)
    except BaseException:
        if "staged" in side:
            side["staged"].path.unlink(missing_ok=True)
        raise
    save_cache(folder, config, Cache(stamp, {}, outputs, head.slugs, report, scanned_ns=since), staged=side["staged"],
               snapshot=side["snapshot"], report=side["text"])
    kept = list(head.findings) if not added else None  # the report as read: its findings decoded already
    head = replace(head, report=report)
    return _replayed(head, clock, 0.0, written, mode="quick", parsed=len(todo), stored=kept)


def _splicer(config: Config, last: Mapping[str, Output], snapshot: Snapshot, fresh: set[str]) -> Reuse:
    """Documents made from the last build's (``feeds.splice``), rendering only the items of ``fresh``."""
    from feeds.splice import spliced

    shown = {w.path: w.items for w in snapshot.windows}

    def reuse(path: str, view: FeedView, entries: EntryCache) -> bytes | None:
        items = shown.get(view.spec.path)
        data = _last_bytes(config.output, path, last.get(path)) if items is not None else None
        if items is None or data is None:
            return None
        return spliced(view, path.rsplit(".", 1)[1], config, entries, data, items, fresh)

    return reuse


def _rendered_feeds(found: tuple[dict[str, str], set[str]]) -> set[str]:
    """The feeds (``FeedSpec.path``) a file of which will be rendered (``_fingerprints`` found it changed)."""
    prints, fresh = found
    return {p.rsplit(".", 1)[0] for p in set(prints) - fresh}


def _modified(entry: FileEntry) -> datetime | None:
    return entry.article.modified if entry.article is not None else None


def _pages_current(config: Config, last: Mapping[str, Output]) -> bool:
    """index.html and feeds.opml, with all their copies, are on disk as the last build wrote them."""
    from feeds.site import INDEX, OPML

    pages = [p for path in (INDEX, OPML) for p in with_copies(path)]
    return all(p in last and _on_disk(config.output / p, last[p]) for p in pages)


def _last_bytes(output: Path, path: str, record: Output | None) -> bytes | None:
    """The file at ``path`` as the last build wrote it (its size and mtime as ``record`` has them), else None."""
    if record is None or not _on_disk(output / path, record):
        return None
    try:
        data = (output / path).read_bytes()
    except OSError:
        return None
    return data if len(data) == record.size else None


def _report_with(report: Mapping[str, Any], added: Sequence[FileEntry], now: datetime) -> dict[str, Any]:
    """``report`` (of a build) with the files ``added`` (``feeds.quick.admits``: articles, no drafts) in it:
    their own findings, in order among the others, as ``feeds.review.findings_of`` would put them."""
    from feeds.review import article_findings

    articles = [e.article for e in added if e.article is not None]
    findings = [finding_from_json(f) for f in report["findings"]]
    for entry in added:
        findings += [*entry.findings, *(article_findings(entry.article) if entry.article else ())]
    return {
        **report, "files": report["files"] + len(added), "published": report["published"] + len(articles),
        "findings": [finding_json(f) for f in ordered(findings)],
        "future": report["future"] + [[a.source, a.published.isoformat()] for a in articles if a.published > now],
    }


@contextlib.contextmanager
def _slugger(config: Config) -> Iterator[Slugger]:
    """The cold build's slugger process (``feeds.workers.Slugger``), forked before the scan."""
    from feeds.workers import Slugger

    with Slugger(config) as slugger:
        yield slugger


def _import_renderers() -> None:
    """While workers parse: the renderers are needed next, and importing them then would be a wait."""
    from feeds.fanout import import_renderers

    import_renderers()


@contextlib.contextmanager
def _workers(config: Config, jobs: int) -> Iterator[Workers | None]:
    """The build's worker processes (``feeds.workers``), forked now while this process is small; None for one job.

    They import the renderers themselves (``warm``), beside this process reading the cache.
    """
    if jobs <= 1:
        yield None
        return
    from feeds.workers import Workers

    with Workers(config, jobs, warm=True) as workers:
        yield workers


def cache_folder(config: Config) -> Path:
    return config.cache if config.cache is not None else config.output / ".feeds-cache"


def _open_cache(config: Config, use_cache: bool) -> tuple[Cache | None, tuple[str, ...]]:
    """The cache's header and report (``load_cache`` without entries), and the notice if it was discarded."""
    if not use_cache:
        return None, ()
    try:
        return load_cache(cache_folder(config), config, entries=False), ()
    except CacheError as exc:
        return None, (_discarded(config, exc),)


def _with_entries(config: Config, head: Cache | None) -> tuple[Cache | None, tuple[str, ...]]:
    """``head`` with its entries (``load_entries``), and the notice if it was discarded."""
    if head is None:
        return None, ()
    try:
        return load_entries(cache_folder(config), head), ()
    except CacheError as exc:
        return None, (_discarded(config, exc),)


def _discarded(config: Config, exc: CacheError) -> str:
    return f"{cache_folder(config)}: warning: cache discarded: {exc}; doing a full build"


def _outputs_kept(cache: Cache, output: Path) -> bool:
    """Every output file is exactly as the cache recorded (and there is no other)."""
    if not cache.outputs or set(cache.outputs) != read_manifest(output):
        return False
    return all(_on_disk(output / path, record) for path, record in cache.outputs.items())


def _on_disk(path: Path, record: Output) -> bool:
    try:
        info = path.stat()
    except OSError:
        return False
    return info.st_size == record.size and info.st_mtime_ns == record.mtime_ns


def _replayed(
    cache: Cache, now: datetime, seconds: float, write: WriteReport | None = None, *, mode: str = "kept",
    parsed: int = 0, stored: list[Finding] | None = None,
) -> BuildReport:
    """The report of the build ``cache`` was saved by, its future dates against ``now``; ``write``: what was written
    (by default nothing: every output kept); ``stored``: its findings, when already read (``Cache.findings``)."""
    report = cache.report
    counts = Counts(report["files"], report["published"], report["drafts"], report["skipped"])
    if stored is None:
        stored = [finding_from_json(f) for f in report["findings"]]  # saved in order (findings_of)
    future = future_findings(((s, datetime.fromisoformat(t)) for s, t in report["future"]), now)
    shown = tuple(f for f in (ordered(stored + future) if future else stored) if f.level != "info")
    if write is None:
        write = WriteReport((), tuple(sorted(cache.outputs)), ())
    return BuildReport(counts, write, shown, seconds, mode=mode, parsed=parsed)


def _report_json(load: LoadResult, findings: list[Finding], now: datetime) -> dict[str, Any]:
    counts = Counts.of(load)
    return {
        "files": counts.files, "published": counts.published, "drafts": counts.drafts,
        "skipped": dict(counts.skipped),
        "findings": [finding_json(f) for f in findings if f.code != "future-date"],
        "future": [[a.source, a.published.isoformat()] for a in load.articles if a.published > now],
    }


def _trusted(stamps: dict[str, Stamp | None], distrusted: Collection[str], since: int) -> dict[str, Stamp | None]:
    """``stamps``, with one for each file of ``distrusted`` that no fingerprint saved before holds.

    Its stamp is as the last build saw it, but the bytes may not be: the
    feeds that show it are rendered again (the stamp names this build).
    """
    for source in distrusted:
        stamps[source] = Stamp(-2, since)
    return stamps


def _fingerprints(
    specs: Sequence[FeedSpec], stamps: Mapping[str, Stamp | None], config: Config, old: Mapping[str, Output],
    same: Collection[str] = (),
) -> tuple[dict[str, str], set[str]]:
    """The fingerprint of every feed file of ``specs``, and the files still as ``old`` recorded them.

    ``stamps`` are the items' files' stamps; ``old`` what the last build
    wrote; ``same`` the feeds (``FeedSpec.path``) known to hold what they
    held then, whose files keep the fingerprints ``old`` has for them.
    """
    from feeds.site import feed_views

    key = config_key(config)  # once: a repr and a hash of the whole config
    prints = {path: old[path].fingerprint if view.spec.path in same and path in old
              else _fingerprint(config, key, path, view, stamps) for path, view in feed_views(specs, config).items()}
    return prints, {p for p, fp in prints.items() if _still_valid(old, p, fp, config.output)}


def _render_and_write(
    specs: Sequence[FeedSpec], found: tuple[dict[str, str], set[str]], config: Config,
    jobs: int, meanwhile: Callable[[], None], workers: Workers | None, newest: datetime | None,
    reuse: Reuse | None = None, pages_kept: bool = False,
) -> tuple[WriteReport, dict[str, Output]]:
    """Render the feeds of ``specs`` whose fingerprint changed (and the index pages); write what differs.

    ``found`` is what ``_fingerprints`` found; ``newest`` the newest item's
    time (``feeds.opml.newest_item``); ``reuse`` as ``feeds.fanout.render_items``
    has it; ``pages_kept``: index.html and feeds.opml are known to be current
    (``_pages_current``), and are left as they are.
    """
    from feeds.fanout import render_items  # renderers: not for a build with nothing to render
    from feeds.site import INDEX, OPML, feed_views

    views = feed_views(specs, config)
    prints, fresh = found
    todo = sorted(set(prints) - fresh)
    made = () if pages_kept else (INDEX, OPML)
    paths = {p for path in (*todo, *made) for p in with_copies(path)}
    keep = {p for path in (*fresh, *({INDEX, OPML} - set(made))) for p in with_copies(path)}
    pages: list[tuple[str, bytes]] = []

    def beside() -> None:  # while the feeds render: the index pages, and the caller's work
        if made:
            from feeds.index import render_index
            from feeds.opml import opml_document

            pages.extend([(INDEX, render_index(specs, config)), (OPML, opml_document(specs, config, newest))])
        meanwhile()

    rendered = render_items(views, todo, config, jobs, beside, workers, reuse)
    try:  # the pages come after every feed: ``beside`` is done by then
        items = chain(rendered, (i for p, data in pages for i in copies(p, data)))
        written = write_tree(items, paths, config.output, keep=keep)
    except BaseException:
        rendered.close()  # a failed write stops the workers (and waits for ``meanwhile``) now
        if workers is not None:
            workers.close()
        remove_temp_files(config.output)  # a worker that died in the middle of a write left its temp file
        raise
    finally:
        rendered.close()
    outputs = {}
    for path in sorted(paths | set(written.unchanged)):
        info = (config.output / path).stat()
        outputs[path] = Output(prints.get(base_of(path), ""), info.st_size, info.st_mtime_ns)
    return written, outputs


def _fingerprint(
    config: Config, key: str, path: str, view: FeedView, stamps: Mapping[str, Stamp | None]
) -> str:
    """Everything a feed file's bytes depend on: config (``key``, its config_key), title, links, item stamps."""
    links = sorted(view.paging_links(config, path.rsplit(".", 1)[1]).items())  # prev-archive moves
    digest = hashlib.sha256(f"{key}\0{path}\0{view.spec.title}\0{links}".encode())
    for article in view.items:
        stamp = stamps.get(article.source)
        digest.update(f"\0{article.source}\0{stamp.size if stamp else -1}\0{stamp.mtime_ns if stamp else -1}".encode())
    return digest.hexdigest()[:32]


def _still_valid(old: Mapping[str, Output], path: str, fingerprint: str, output: Path) -> bool:
    record = old.get(path)
    if record is None or record.fingerprint != fingerprint or not _on_disk(output / path, record):
        return False
    return all(p in old and _on_disk(output / p, old[p]) for p in with_copies(path)[1:])


def _refuse(load: LoadResult, config: Config, *, strict: bool, allow_empty: bool) -> None:
    if strict and load.errors:
        raise StrictError(
            str(config.content),
            f"--strict: {len(load.errors)} article(s) have errors; nothing written",
        )
    if not load.published and not allow_empty and read_manifest(config.output):
        raise EmptyError(
            str(config.content),
            f"no article to publish; the feeds in {config.output} are kept "
            "(pass --allow-empty to publish empty feeds)",
        )
