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
import contextlib
import marshal
import os
import signal
import time
from pathlib import Path

from feeds.listing import Found, scan_folders

FRESH_NS = 1_000_000_000  # a scan older than this when asked for (a build that waited for the lock) is not used


class Prescan:
    """A child scanning ``content`` (skipping ``output``), started at ``since`` (``time.time_ns()``)."""

    def __init__(self, content: Path, output: Path | None, since: int, pid: int, read: int) -> None:
        self.content, self.output, self.since = content, output, since
        self._pid, self._read = pid, read

    def result(self, content: Path, output: Path | None) -> Found | None:
        """What the child found, if it scanned this ``content`` and ``output``, in full, not long ago; else None.

        Asked once: the child is gone after it.
        """
        if self._pid < 0:
            return None
        if (content, output) != (self.content, self.output) or time.time_ns() - self.since > FRESH_NS:
            self.close()
            return None
        chunks = []
        try:
            while chunk := os.read(self._read, 1 << 20):
                chunks.append(chunk)
        except OSError:
            chunks = []
        ok = self._reap(kill=False) and bool(chunks)
        if not ok:
            return None
        try:
            folders, data = marshal.loads(b"".join(chunks))
            numbers = array.array("q")
            numbers.frombytes(data)
        except (EOFError, ValueError, TypeError):
            return None
        files = sum(len(names) for _, _, names in folders)
        return (folders, numbers) if len(numbers) == 2 * files else None

    def close(self) -> None:
        """Stop the child if it is still there (a build that failed before its scan)."""
        if self._pid >= 0:
            self._reap(kill=True)

    def _reap(self, *, kill: bool) -> bool:
        """Close the pipe and wait for the child (killed first, if ``kill``); whether it exited 0."""
        pid, self._pid = self._pid, -1
        os.close(self._read)
        if kill:  # a process forked since may hold the pipe open: the child would never see it close
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        try:
            return os.waitpid(pid, 0)[1] == 0
        except OSError:
            return False


def start(content: Path, output: Path | None) -> Prescan | None:
    """A child scanning ``content`` now, or None where there is no fork (or one core: nothing to gain)."""
    if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return None
    try:
        read, write = os.pipe()
    except OSError:
        return None
    since = time.time_ns()  # before any stat (feeds.stamps.racy)
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return None
    if pid == 0:  # the child: no Python clean-up, no buffered output written twice; leave at once
        code = 1
        try:
            os.close(read)
            folders, numbers = scan_folders(content, output, split=True)  # a grandchild stats half
            data = memoryview(marshal.dumps((folders, numbers.tobytes())))
            while data:
                data = data[os.write(write, data):]
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return Prescan(content, output, since, pid, read)
