"""Render and compress a build's feed documents, in worker processes when there are several.

Rendering (feedgen, nh3) and compression take most of a cold build after
parsing. Documents are grouped by feed, so one process prepares each item
once for all the formats of a feed. Workers (``feeds.workers``) are sent
each feed's views with only their own items, write the files they render
themselves (atomically, as ``write_tree`` would) and send back only whether
each one changed: the bytes never cross a pipe.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING

from feeds.compress import copies
from feeds.config import Config
from feeds.entries import EntryCache
from feeds.plan import FeedView
from feeds.site import render_document

if TYPE_CHECKING:  # the pool's machinery (10 ms of imports): not for a rebuild that renders here
    from feeds.workers import Done, Task, Workers

Item = tuple[str, bytes]
Reuse = Callable[[str, FeedView, EntryCache], "bytes | None"]  # a document's bytes made another way, or None

_POOL_FROM = 2  # feeds to render before worker processes pay off (a fork costs ~20 ms)


def tasks(views: Mapping[str, FeedView], paths: Sequence[str], spread: int = 1) -> list[Task]:
    """``paths`` grouped by the feed they show, in path order.

    For ``spread`` workers, when the feeds do not come out even, the last
    one is split into its documents: a rebuild that renders one feed (or
    three) on two workers no longer leaves one of them idle at the end.
    """
    groups: dict[str, list[str]] = {}
    for path in sorted(paths):
        groups.setdefault(views[path].spec.path, []).append(path)
    todo = [tuple(group) for group in groups.values()]
    if spread > 1 and len(todo) % spread:
        todo[-1:] = [(path,) for path in todo[-1]]
    return todo


def render_items(views: Mapping[str, FeedView], paths: Sequence[str], config: Config, jobs: int,
                 meanwhile: Callable[[], None] = lambda: None,
                 workers: Workers | None = None, reuse: Reuse | None = None) -> Generator[Item | Done, None, None]:
    """(path, bytes) of every document in ``paths`` and of its compressed copies.

    In worker processes (``workers``, else started here when ``jobs`` and
    the feeds are many), each file comes as (path, changed) instead: the
    worker wrote it into ``config.output`` (``write_if_changed``), so start
    this only once ``write_tree`` has written its manifest. ``meanwhile`` is
    called once: in a thread of this process while workers render (this one
    would only wait), else before rendering here. ``reuse`` (here only, with
    one job) may give a document's bytes without rendering it all
    (``feeds.splice``); where it gives None the document is rendered.
    """
    todo = tasks(views, paths, workers.jobs if workers is not None else jobs)
    if workers is not None and todo:
        yield from _on_workers(todo, views, workers, meanwhile)
    elif jobs <= 1 or len(todo) < _POOL_FROM:
        meanwhile()
        entries = EntryCache(config)
        for task in todo:
            yield from render_task(task, views, config, entries, reuse)
    else:
        from feeds.workers import Workers

        with Workers(config, min(jobs, len(todo))) as started:
            yield from _on_workers(todo, views, started, meanwhile)


def render_task(task: Task, views: Mapping[str, FeedView], config: Config, entries: EntryCache,
                reuse: Reuse | None = None) -> list[Item]:
    out: list[Item] = []
    for path in task:
        data = reuse(path, views[path], entries) if reuse is not None else None
        if data is None:
            data = render_document(views[path], path.rsplit(".", 1)[1], config, entries)
        out += copies(path, data)
    return out


def import_renderers() -> None:
    """Import what rendering needs, once per process, before its first feed.

    feedgen with lxml and the extensions ``load_extension`` would import,
    nh3 with its summary cleaner, and what reads bodies again (the front
    matter's fences, not YAML): a fresh worker spent 16 ms on them in its
    first feed.
    """
    for module in _RENDERERS:
        importlib.import_module(module)
    from feeds.compress import with_copies
    from feeds.text import text_cleaner

    text_cleaner()
    with_copies("")  # finds (imports) the compressors


_RENDERERS = ("feeds.feed", "feeds.jsonfeed", "feedgen.ext.dc", "feedgen.ext.media", "nh3", "feeds.frontmatter")


def _on_workers(
    todo: list[Task], views: Mapping[str, FeedView], workers: Workers, meanwhile: Callable[[], None]
) -> Generator[Done, None, None]:
    jobs = ((task, {path: views[path].detached() for path in task}) for task in todo)
    results = workers.render(jobs)
    side = _Side(meanwhile)
    try:
        for done in results:
            yield from done
    finally:
        side.join()  # also when the writer gave up: nothing of it runs on afterwards
    side.check()


class _Side(threading.Thread):
    """Runs ``work`` beside the main thread; ``check`` re-raises what it raised."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__(name="feeds-meanwhile", daemon=True)
        self._work = work
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # handed to the main thread by check()
            self._error = exc

    def check(self) -> None:
        if self._error is not None:
            raise self._error
