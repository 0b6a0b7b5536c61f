"""The worker processes of a build: forked once it is known to have work, while its process is small.

A build that finds the content folder as its cache recorded never starts
them, nor does a rebuild from the last plan (``feeds.quick``: a few files
parsed and a few items rendered in the build's own process). Otherwise
they are forked before the cache's entries are read, import the renderers
while the build reads them (``warm``: on the core the build leaves idle,
not before the fork in the build's own process, which never renders a
feed) and the parser when the build asks (``warm_parser``), parse the files
that changed and render the feeds whose items changed, writing each file
themselves (``write_if_changed``), while the build's own process plans,
reports and saves the cache. Forked early, they copy nothing of the
articles: a fork of a process holding 100k records cost tens of ms, and
their pages were copied again as workers touched them.

What crosses a pipe is small: chunks of paths, parsed entries, and views
that keep only their own items (``FeedView.detached``); the bytes of a feed
never do. pypinyin (a tenth of a second to import, and more to load its
phrases) loads once: in a cold build, in a ``Slugger`` process forked
before the scan, which slugs the feed names once they are known; in a
rebuild, in the one worker that first meets a name the cache lacks.

The processes are a ``concurrent.futures.ProcessPoolExecutor``: a worker
that dies (killed, out of memory) breaks the pool, and the build stops
with a WorkerError naming the output folder, where ``multiprocessing.Pool``
waited for the lost task for ever, and kept the output folder locked.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from feeds.config import Config
from feeds.errors import FeedsError
from feeds.loader import FileEntry, Scanned, parse_entry
from feeds.plan import FeedView

Chunk = Scanned  # (source, path, stamp) of files to parse: a list, or a slice of a Scan
# A chunk parsed: its entries, the slugs of new feed names met in it, and, when a cold build's
# worker parsed it, the entries as the payload of a cache block (``feeds.cache.pack_block``).
Parsed = tuple[list[FileEntry], dict[str, str], bytes | None]
Task = tuple[str, ...]  # the output paths of one feed: its formats, its archive pages
Done = tuple[str, bool]  # a file a worker wrote, and whether its bytes changed

_STATE: dict[str, Any] = {}  # set before a fork (config, the slugger flag, …); then each worker's own
_T = TypeVar("_T")


class WorkerError(FeedsError):
    """A worker process died in the middle of a build (killed, out of memory …)."""


@contextlib.contextmanager
def _executor(config: Config, jobs: int, warm: str = "") -> Iterator[ProcessPoolExecutor]:
    """``jobs`` processes forked now (not at the first task); a dead one is a WorkerError.

    Leaving waits for the tasks that are running (a worker is never stopped
    in the middle of a write) and drops the others.
    """
    executor = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_start_worker, initargs=(os.getpid(), warm))
    try:
        executor.submit(int)  # forks every worker now (with fork, the first submit starts them all)
        yield executor
    except BrokenProcessPool as exc:
        raise _died(config) from exc
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


class Workers:
    """``jobs`` forked processes for one build; a context manager that stops them on leaving."""

    def __init__(self, config: Config, jobs: int, warm: bool = False) -> None:
        """``warm``: each worker imports the renderers as it starts (see ``_start_worker``)."""
        _STATE.clear()
        _STATE.update(config=config, slugger=multiprocessing.get_context("fork").Value("i", 0))
        self.jobs = jobs
        self._config = config
        self._stack = contextlib.ExitStack()
        self._pool = self._stack.enter_context(_executor(config, jobs, "renderers" if warm else ""))

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers once the tasks they run are done (the ones not started are dropped)."""
        self._stack.close()
        _STATE.clear()

    def warm_parser(self) -> None:
        """Have each worker import the parser now, after the tasks already given: before it is sent files.

        The renderers (``warm``) read bodies again without it; a rebuild that
        parses its files in the full path asks for it while it reads its cache.
        """
        for _ in range(self.jobs):
            self._pool.submit(_import, "feeds.parser")

    def parse(self, chunks: Sequence[Chunk], known_slugs: Mapping[str, str] | None) -> Iterator[Parsed]:
        """Each chunk's entries (in any order), with the slugs of the new feed names met in it.

        Names are slugged only given ``known_slugs`` (a build's cached slugs), and only by one worker.
        """
        known = dict(known_slugs) if known_slugs is not None else None
        futures = [self._pool.submit(_parse, (chunk, known)) for chunk in chunks]
        return ((part, made, None) for part, made in self._results(as_completed(futures)))

    def render(self, tasks: Iterable[tuple[Task, dict[str, FeedView]]]) -> Iterator[list[Done]]:
        """Render and write each task's documents (with their compressed copies), in task order."""
        return self._results(iter([self._pool.submit(_render, task) for task in tasks]))

    def _results(self, futures: Iterator[Future[_T]]) -> Iterator[_T]:
        """Each future's result; a worker that died is a WorkerError, here too."""
        try:
            for future in futures:
                yield future.result()
        except BrokenProcessPool as exc:
            raise _died(self._config) from exc


def _import(module: str) -> None:
    importlib.import_module(module)


def _start_worker(parent: int, warm: str) -> None:
    """A worker's first steps: watch the build's process; import what ``warm`` names ("renderers", "pinyin")."""
    _watch_parent(parent)
    if warm == "renderers":
        from feeds.fanout import import_renderers

        import_renderers()
    elif warm == "pinyin":
        from feeds.slugs import import_pinyin

        import_pinyin()


class Slugger:
    """One process, forked as a cold build starts, that turns its new feed names into slugs.

    It imports pypinyin (a tenth of a second and more) while the build scans
    the content folder, on the core the scan leaves idle, and while it
    parses; the parsing workers then slug nothing. A context manager.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._stack = contextlib.ExitStack()
        self._pool = self._stack.enter_context(_executor(config, 1, "pinyin"))

    def __enter__(self) -> Slugger:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def slugs(self, names: Sequence[str]) -> dict[str, str]:
        """``slugify`` of each name; a slugger that died is a WorkerError."""
        if not names:
            return {}
        try:
            return self._pool.submit(_slugs, list(names)).result()
        except BrokenProcessPool as exc:
            raise _died(self._config) from exc


def _slugs(names: list[str]) -> dict[str, str]:
    from feeds.slugs import natural_slugs

    return natural_slugs(names, {})


def _watch_parent(parent: int) -> None:
    """In a worker: exit when the build's process is gone (killed), instead of waiting for tasks for ever.

    Its siblings hold the task pipe open, so a worker would never see it end,
    and it would keep the output folder's lock (the fd was forked with it).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="feeds-parent-watch", daemon=True).start()


def _died(config: Config) -> WorkerError:
    return WorkerError(str(config.output), "a worker process died (killed? out of memory?); the build "
                       "stopped, every published file is whole; run it again")


def _parse(job: tuple[Chunk, dict[str, str] | None]) -> tuple[list[FileEntry], dict[str, str]]:
    chunk, known = job
    part = _parse_chunk(chunk)
    return part, _new_slugs(part, known)


def _parse_chunk(chunk: Chunk) -> list[FileEntry]:
    config: Config = _STATE["config"]
    root = _STATE.get("root") or _STATE.setdefault("root", os.path.realpath(config.content))
    return [parse_entry(path, source, stamp, config, root) for source, path, stamp in chunk]


def parse_beside(
    chunks: Sequence[Chunk], config: Config, jobs: int, known_slugs: Mapping[str, str] | None,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[Parsed]:
    """Parse in ``jobs - 1`` workers forked now and in this process, which would otherwise wait.

    For a build with no worker processes yet (a cold one): forked after the
    chunks are made, the workers inherit them. Workers take chunks from the
    front, this process from the back; a shared flag per chunk says who took
    it, so each is parsed once and nobody idles. ``meanwhile`` is called here
    once the workers are started (a cold build imports its renderers, which
    the render workers forked later inherit). A worker sends its chunk as a
    cache block's payload: unpacked here, and saved as it came.
    """
    importlib.import_module("feeds.parser")  # imported once here, not again in every worker
    context = multiprocessing.get_context("fork")
    _STATE.clear()
    known = dict(known_slugs) if known_slugs is not None else None
    _STATE.update(config=config, chunks=chunks, claims=context.Array("b", len(chunks)), known=known,
                  slugger=context.Value("i", 0))
    try:
        with _executor(config, jobs - 1) as pool:
            results = [pool.submit(_claimed_chunk, index) for index in range(len(chunks))]
            if meanwhile is not None:
                meanwhile()
            for index in reversed(range(len(chunks))):
                if not _claim(index):
                    break  # the workers got here: the rest is theirs
                yield _parse_chunk(chunks[index]), {}, None
            for future in as_completed(results):
                payload, made = future.result()
                yield (list(_unpack(payload)) if payload else []), made, payload
    finally:
        _STATE.clear()


def _claim(index: int) -> bool:
    claims = _STATE["claims"]
    with claims.get_lock():
        if claims[index]:
            return False
        claims[index] = 1
        return True


def _claimed_chunk(index: int) -> tuple[bytes, dict[str, str]]:
    """In a worker: chunk ``index`` parsed (unless the parent took it) and packed, and the slugs of its new names."""
    if not _claim(index):
        return b"", {}
    from feeds.cache import pack_block

    part = _parse_chunk(_STATE["chunks"][index])
    return (pack_block(part) if part else b""), _new_slugs(part, _STATE["known"])


def _unpack(payload: bytes) -> tuple[FileEntry, ...]:
    """A worker's packed chunk: pickled by this build's own worker, like every result it sends."""
    import pickle

    entries: tuple[FileEntry, ...] = pickle.loads(payload)
    return entries


def _new_slugs(part: list[FileEntry], known: Mapping[str, str] | None) -> dict[str, str]:
    """``slugify`` of the feed names in ``part`` that neither ``known`` nor this worker slugged before.

    Only in the first worker that meets a new name: the others leave theirs to the build.
    """
    if known is None:
        return {}
    from feeds.plan import feed_names

    done: set[str] = _STATE.setdefault("slugged", set())
    articles = (e.article for e in part if e.article is not None)
    new = [n for n in feed_names(articles, _STATE["config"]) if n not in known and n not in done]
    if not new or not _is_slugger():
        return {}
    from feeds.slugs import natural_slugs

    done.update(new)
    return natural_slugs(new, {})


def _is_slugger() -> bool:
    """Whether this worker slugs names: the first to ask becomes the one (a flag shared by all)."""
    if "i_slug" not in _STATE:
        flag = _STATE["slugger"]
        with flag.get_lock():
            if flag.value == 0:
                flag.value = os.getpid()
            _STATE["i_slug"] = flag.value == os.getpid()
    return bool(_STATE["i_slug"])


def _render(job: tuple[Task, dict[str, FeedView]]) -> list[Done]:
    from feeds.entries import EntryCache
    from feeds.fanout import render_task
    from feeds.output import write_if_changed

    task, views = job
    config: Config = _STATE["config"]
    entries = _STATE.get("entries") or _STATE.setdefault("entries", EntryCache(config))
    return [(path, write_if_changed(config.output / path, data))
            for path, data in render_task(task, views, config, entries)]
