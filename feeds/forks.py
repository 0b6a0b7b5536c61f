"""A forked child that makes some bytes and pipes them back: the scan's forks (``feeds.stamps``, ``feeds.prescan``).

No multiprocessing: the child is forked while the build's process is
small, imports nothing and leaves at once (``os._exit``: no Python clean-up,
no buffered output written twice). Whatever goes wrong (no pipe, no fork, a
child that dies or exits non-zero) gives None, and the caller does the work
itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable

Child = tuple[int, int]  # the child's pid, and the read end of its pipe


def fork_writer(make: Callable[[], bytes]) -> Child | None:
    """A child writing ``make()`` to a pipe, then exiting 0 (1 if ``make`` raised); None if it cannot start."""
    try:
        read, write = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return None
    if pid == 0:  # the child
        code = 1
        try:
            os.close(read)
            data = memoryview(make())
            while data:
                data = data[os.write(write, data):]
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return pid, read


def read_child(child: Child) -> bytes | None:
    """Everything the child wrote, once it has exited 0; else None. The pipe is closed and the child reaped."""
    pid, read = child
    chunks = []
    try:
        while chunk := os.read(read, 1 << 20):
            chunks.append(chunk)
    except OSError:
        chunks = []
    finally:
        os.close(read)
        status = _reap(pid)
    return b"".join(chunks) if status == 0 else None


def stop_child(child: Child) -> None:
    """Kill the child and reap it, unread: a process forked since may hold its pipe open, so it might never see
    the pipe close, and would wait on a full one for ever."""
    pid, read = child
    os.close(read)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> int:
    try:
        return os.waitpid(pid, 0)[1]
    except OSError:
        return -1
