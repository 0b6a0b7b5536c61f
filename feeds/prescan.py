"""The content folder scanned in a forked child while the build's own process starts.

A rebuild with nothing to do spent a quarter of its time listing the
content folder and stat()ing every file in it, after importing the build's
modules and reading the cache's header, which took as long again. Once the
config is read, ``start`` forks a child that lists and stats
(``feeds.listing``, ``feeds.stamps``) while this process imports and reads,
and writes what it found to a pipe; ``Prescan.result`` reads it when the
build needs its scan. The child is forked while this process is small, and
imports nothing. Should anything go wrong (no fork, a child that dies or
answers short, a scan left too long unread), there is no result, and the
build scans for itself: the answer is the same either way.
"""

from __future__ import annotations

import array
import marshal
import os
import time
from pathlib import Path

from feeds.forks import Child, fork_writer, read_child, stop_child
from feeds.listing import Found, scan_folders

FRESH_NS = 1_000_000_000  # a scan older than this when asked for (a build that waited for the lock) is not used


class Prescan:
    """A child scanning ``content`` (skipping ``output``), started at ``since`` (``time.time_ns()``)."""

    def __init__(self, content: Path, output: Path | None, since: int, child: Child) -> None:
        self.content, self.output, self.since = content, output, since
        self._child: Child | None = child

    def result(self, content: Path, output: Path | None) -> Found | None:
        """What the child found, if it scanned this ``content`` and ``output``, in full, not long ago; else None.

        Asked once: the child is gone after it.
        """
        child, self._child = self._child, None
        if child is None:
            return None
        if (content, output) != (self.content, self.output) or time.time_ns() - self.since > FRESH_NS:
            stop_child(child)
            return None
        data = read_child(child)
        if not data:
            return None
        try:
            folders, packed = marshal.loads(data)
            numbers = array.array("q")
            numbers.frombytes(packed)
        except (EOFError, ValueError, TypeError):
            return None
        files = sum(len(names) for _, _, names in folders)
        return (folders, numbers) if len(numbers) == 2 * files else None

    def close(self) -> None:
        """Stop the child if it is still there (a build that failed before its scan)."""
        child, self._child = self._child, None
        if child is not None:
            stop_child(child)


def start(content: Path, output: Path | None) -> Prescan | None:
    """A child scanning ``content`` now, or None where there is no fork (or one core: nothing to gain)."""
    if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return None
    since = time.time_ns()  # before any stat (feeds.stamps.racy)

    def scanned() -> bytes:
        folders, numbers = scan_folders(content, output, split=True)  # a grandchild stats half
        return marshal.dumps((folders, numbers.tobytes()))

    child = fork_writer(scanned)
    return Prescan(content, output, since, child) if child is not None else None
