"""The size and mtime of many files, stat()ed in two processes when there are many.

A build with nothing to do spends a third of its time here: one stat call
per article file. With many files, a forked child stats the second half and
writes the numbers back through a pipe while this process stats the first.
Should anything go wrong with the child (no fork, a child that dies, a short
answer), this process stats its half as well: the numbers are the same
either way.
"""

from __future__ import annotations

import array
import os
from collections.abc import Sequence

from feeds.forks import Child, fork_writer, read_child

FORK_FROM = 4000  # files: below this a fork (a few ms) saves less than it costs
_MISSING = (-1, -1)  # the numbers of a file that cannot be stat()ed


def stat_all(files: Sequence[tuple[str, str]], *, split: bool = False) -> array.array[int]:
    """(size, mtime_ns) of each (folder, name), one after the other; -1, -1 where stat() fails.

    stat() follows symlinks, as ``DirEntry.stat()`` does. Files of one
    folder come one after another, and are stat()ed by name against the
    folder's open fd: the kernel does not walk the folder's path again.
    ``split``: a forked child may take half of them (a build with worker
    processes; never a server's threads, nor ``--jobs 1``).
    """
    if not split or len(files) < FORK_FROM or not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return _stat_run(files)
    half = len(files) // 2
    child = _fork_run(files[half:])
    numbers = _stat_run(files[:half])
    theirs = _collect(child, len(files) - half) if child is not None else None
    numbers.extend(theirs if theirs is not None else _stat_run(files[half:]))
    return numbers


def _stat_run(files: Sequence[tuple[str, str]]) -> array.array[int]:
    numbers = array.array("q")
    append = numbers.append
    fd, current = -1, ""
    try:
        for folder, name in files:
            if folder != current:  # one fd per folder (str == is an identity test first)
                if fd >= 0:
                    os.close(fd)
                fd, current = _open_folder(folder), folder
            try:
                info = os.stat(name, dir_fd=fd) if fd >= 0 else os.stat(os.path.join(folder, name))
            except OSError:
                numbers.extend(_MISSING)
                continue
            append(info.st_size)
            append(info.st_mtime_ns)
    finally:
        if fd >= 0:
            os.close(fd)
    return numbers


def _open_folder(folder: str) -> int:
    try:
        return os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return -1  # each file is then stat()ed by its whole path, and fails as it would


def _fork_run(files: Sequence[tuple[str, str]]) -> Child | None:
    """A child stat()ing ``files`` and writing the numbers to a pipe (``feeds.forks``), or None."""
    return fork_writer(lambda: _stat_run(files).tobytes())


def _collect(child: Child, count: int) -> array.array[int] | None:
    """The child's numbers for ``count`` files, or None if it did not give them all and exit 0."""
    data = read_child(child)
    if data is None or len(data) != count * 2 * array.array("q").itemsize:
        return None
    numbers = array.array("q")
    numbers.frombytes(data)
    return numbers


# A file system stamps a write with its clock's time, cut to the clock's tick: the kernel's
# tick (1-10 ms) on file systems that keep nanoseconds, 1 or 2 s (FAT) where mtimes are whole
# seconds. A write in the same tick as the one a build saw leaves the same mtime.
_SECOND = 1_000_000_000
COARSE_NS = 2 * _SECOND  # how near a whole-second mtime must be to be trusted no more
FINE_NS = 20_000_000  # the same for a finer one: two ticks of the coarsest kernel clock (HZ=100)


def racy(numbers: array.array[int], since_ns: int) -> list[int]:
    """Places of the files whose (size, mtime) a later write may leave as they are: not to be trusted.

    ``numbers`` are (size, mtime_ns) pairs (``stat_all``) read at or after
    ``since_ns`` (``time.time_ns()`` before the scan). A file whose mtime is
    within a tick of that time may have been read, then written again
    within the same tick, its size unchanged: its stamp then tells nothing
    of what the build read (git's "racily clean" entries). The next build
    reads such files again. A file's mtime more than a tick in the future
    cannot be given again by a write now.
    """
    mtimes = numbers[1::2]
    if not mtimes or max(mtimes) <= since_ns - COARSE_NS:  # the usual answer, at C speed
        return []
    return [at for at, mtime in enumerate(mtimes)
            if since_ns - (COARSE_NS if mtime % _SECOND == 0 else FINE_NS) < mtime <= since_ns + COARSE_NS]
