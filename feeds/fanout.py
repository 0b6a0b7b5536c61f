"""Render and compress a build's feed documents, in forked worker processes when there are many.

Rendering (feedgen, nh3) and compression take most of a cold build after
parsing. Documents are grouped by feed, so one process prepares each item
once for all the formats of a feed; workers are forked after the articles
are loaded, so they inherit them instead of receiving them. Workers write
the files they render themselves (atomically, as ``write_tree`` would) and
send back only whether each one changed: the bytes never cross a pipe.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

from feeds.compress import copies
from feeds.config import Config
from feeds.entries import EntryCache
from feeds.output import write_if_changed
from feeds.plan import FeedView
from feeds.site import render_document

Task = tuple[str, ...]  # the output paths of one feed: its formats, its archive pages
Item = tuple[str, bytes]
Done = tuple[str, bool]  # a file a worker wrote, and whether its bytes changed

_POOL_FROM = 2  # feeds to render before worker processes pay off (a fork costs ~20 ms)


def tasks(views: Mapping[str, FeedView], paths: Sequence[str]) -> list[Task]:
    """``paths`` grouped by the feed they show, in path order."""
    groups: dict[str, list[str]] = {}
    for path in sorted(paths):
        groups.setdefault(views[path].spec.path, []).append(path)
    return [tuple(group) for group in groups.values()]


def render_items(views: Mapping[str, FeedView], paths: Sequence[str], config: Config,
                 jobs: int, meanwhile: Callable[[], None] = lambda: None) -> Generator[Item | Done, None, None]:
    """(path, bytes) of every document in ``paths`` and of its compressed copies.

    With worker processes, each file comes as (path, changed) instead: the
    worker wrote it into ``config.output`` (``write_if_changed``), so start
    this only once ``write_tree`` has written its manifest. ``meanwhile`` is
    called once: in a thread of this process while worker processes render
    (this one would only wait), else before rendering here.
    """
    todo = tasks(views, paths)
    if jobs <= 1 or len(todo) < _POOL_FROM:
        meanwhile()
        entries = EntryCache(config)
        for task in todo:
            yield from _render_task(task, views, config, entries)
        return
    yield from _pooled(todo, views, config, jobs, meanwhile)


def _render_task(task: Task, views: Mapping[str, FeedView], config: Config, entries: EntryCache) -> list[Item]:
    out: list[Item] = []
    for path in task:
        out += copies(path, render_document(views[path], path.rsplit(".", 1)[1], config, entries))
    return out


_SHARED: dict[str, Any] = {}  # what forked workers inherit: views, config, their entry cache


def import_renderers() -> None:
    """Import what rendering needs, once in the parent rather than in every worker.

    feedgen with lxml and the extensions ``load_extension`` would import,
    nh3 with its summary cleaner, and the parser that reads bodies again
    (yaml, and the regexes of its modules): a fresh worker spent 16 ms on
    them in its first feed.
    """
    for module in _RENDERERS:
        importlib.import_module(module)
    from feeds.text import text_cleaner

    text_cleaner()


_RENDERERS = ("feeds.feed", "feeds.jsonfeed", "feedgen.ext.dc", "feedgen.ext.media", "nh3", "feeds.parser")


def _pooled(
    todo: list[Task], views: Mapping[str, FeedView], config: Config, jobs: int, meanwhile: Callable[[], None]
) -> Generator[Done, None, None]:
    import gc
    import multiprocessing

    import_renderers()
    _SHARED.update(views=views, config=config)
    gc.freeze()  # the articles stay put: no collection in a worker touches (and copies) their pages
    try:
        with multiprocessing.get_context("fork").Pool(min(jobs, len(todo)), initializer=_init) as pool:
            side = _Side(meanwhile)  # started once the workers are forked: no thread is ever forked
            try:
                for items in pool.imap(_work, todo):
                    yield from items
            finally:
                side.join()  # also when the writer gave up: nothing of it runs on afterwards
            side.check()
    finally:
        _SHARED.clear()
        gc.unfreeze()


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


def _init() -> None:
    _SHARED["entries"] = EntryCache(_SHARED["config"])


def _work(task: Task) -> list[Done]:
    config: Config = _SHARED["config"]
    items = _render_task(task, _SHARED["views"], config, _SHARED["entries"])
    return [(path, write_if_changed(config.output / path, data)) for path, data in items]
