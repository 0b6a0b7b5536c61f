"""The app's current Snapshot, rebuilt in the background when the content changes.

A daemon thread in each process looks at the content folder every
``[serve] reload_seconds`` (names, sizes and modification times only; less
often when one look takes longer than 5% of that: a 100k-file folder) and,
when it differs, builds a new Snapshot and swaps it in with one assignment.
Readers never wait for a rebuild; a rebuild that fails, or that would leave
no article at all, is logged and the last good Snapshot stays.
"""

from __future__ import annotations

import array
import logging
import os
import threading
import time
from collections.abc import Callable

from feeds.cache import stamp_numbers
from feeds.config import Config
from feeds.errors import FeedsError
from feeds.loader import FileEntry, load_articles, walk
from feeds.site import build_site
from feeds.snapshot import Snapshot
from feeds.stamps import racy

log = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int, int], ...]
_LOOKS_APART = 20  # a look at the content folder takes at most 1/20 of the time between looks
Loader = Callable[[Config], Snapshot]


def load_snapshot(config: Config) -> Snapshot:
    """Read the content folder and render every file, in memory."""
    return IncrementalLoader()(config)


class IncrementalLoader:
    """Loads Snapshots, parsing again only the files whose stamp changed since its last load.

    A rebuild runs in the serving processes, so parsing less leaves more for readers.
    """

    def __init__(self) -> None:
        self._entries: dict[str, FileEntry] = {}

    def __call__(self, config: Config) -> Snapshot:
        since = time.time_ns()
        load = load_articles(config, cache=self._entries)
        snapshot = Snapshot(build_site(load.published, config), config)
        shaky = set(racy(stamp_numbers([(e.source, "", e.stamp) for e in load.entries]), since))
        self._entries = {e.source: e for at, e in enumerate(load.entries) if at not in shaky}  # those: read next time
        return snapshot


def content_signature(config: Config) -> Signature:
    """(path, size, mtime_ns, inode) of every article file: cheap to compare.

    A missing folder gives an empty signature (and a rebuild that fails).
    """
    try:
        listed = walk(config.content, config.output, _identity)
        return tuple((source, *found) for source, _, found in listed if found is not None)
    except (FeedsError, OSError):
        return ()


def _settled(config: Config) -> tuple[Signature, bool]:
    """``content_signature(config)``, and whether it can be trusted: no file in it may be written
    again with the same stamp (``feeds.stamps.racy``). The look after one that cannot loads again
    whatever it finds, and reads those files again (``IncrementalLoader``)."""
    since = time.time_ns()
    signature = content_signature(config)
    return signature, not racy(array.array("q", [n for _, size, mtime, _ in signature for n in (size, mtime)]), since)


def _identity(name: str, folder: int) -> tuple[int, int, int] | None:
    """Size, mtime and inode of ``name`` in the open ``folder`` (following a symlink); None if removed since listed."""
    try:
        st = os.stat(name, dir_fd=folder)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


class LiveSite:
    """Holds ``current``, the Snapshot every request reads, and keeps it fresh."""

    def __init__(self, config: Config, load: Loader | None = None) -> None:
        self.config = config
        self._load = load or IncrementalLoader()
        self._signature, self._steady = _settled(config)
        self.current: Snapshot = self._load(config)  # a start-up failure is raised
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._watching_pid: int | None = None
        self._look_seconds = 0.0  # how long the last look at the content folder took
        self._watch_lock = threading.Lock()

    def watch(self) -> None:
        """Start the watcher thread of this process (again after a fork)."""
        if self.config.reload_seconds <= 0 or self._watching_pid == os.getpid():
            return
        with self._watch_lock:
            if self._watching_pid != os.getpid():
                self._watching_pid = os.getpid()
                threading.Thread(target=self._run, name="feeds-reload", daemon=True).start()

    def close(self) -> None:
        """Stop the watcher thread (it ends within one interval)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval()):
            self.refresh()

    def interval(self) -> float:
        """Seconds until the next look: ``reload_seconds``, or 20 looks' time when a look is slower.

        Looking at 100k files takes about a second; every 2 s, that was half a
        core in every worker, taken from the readers.
        """
        return max(self.config.reload_seconds, _LOOKS_APART * self._look_seconds)

    def refresh(self) -> bool:
        """Rebuild if the content folder changed; True when a new Snapshot is served."""
        started = time.monotonic()
        signature, steady = _settled(self.config)
        self._look_seconds = time.monotonic() - started
        if signature == self._signature and self._steady:
            return False
        self._signature, self._steady = signature, steady  # a failed state is not retried until it changes
        try:
            snapshot = self._load(self.config)
        except Exception as exc:  # any failure: keep serving the last good build
            log.exception("%s: rebuild failed; still serving the last good feeds", self.config.content)
            self.last_error = str(exc) or type(exc).__name__
            return False
        if snapshot.articles == 0 and self.current.articles > 0:
            log.warning("%s: no article left; still serving the last good feeds", self.config.content)
            self.last_error = "no article left in the content folder"
            return False
        self.current, self.last_error = snapshot, None
        log.info("%s: rebuilt, %d articles", self.config.content, snapshot.articles)
        return True
