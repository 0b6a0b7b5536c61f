"""Write a build's files into the output folder: atomically, only what changed.

Every file goes to a hidden temp file in its own folder and is renamed into
place, so a reader (or nginx) sees the old bytes or the new, never half. A
hidden manifest lists what the previous build published, so feeds of vanished
categories are removed and nothing else in the folder is touched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterable, Iterator, Set
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from feeds.errors import LockError, OutputError

MANIFEST = ".feeds-manifest"
LOCK = ".feeds.lock"
TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class WriteReport:
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


def write_tree(
    items: Iterable[tuple[str, bytes | bool]], paths: Set[str], output: Path, keep: Set[str] = frozenset()
) -> WriteReport:
    """Make ``output`` hold exactly ``paths`` and ``keep`` (plus anything we never wrote).

    ``paths`` is every file to write, known before any byte is made (the
    manifest names them first); ``items`` gives their bytes, in any order, as
    they are made, or ``True``/``False`` for a file that a worker process
    already put in place with ``write_if_changed`` (whether its bytes
    changed). ``keep`` names files of the last build known to be current:
    left as they are.
    """
    for path in paths:
        _check_relative(path)
    _mkdir(output)
    remove_temp_files(output)
    old = read_manifest(output)
    published = set(paths) | set(keep)
    _write_manifest(output, old | published)  # intent first: a kill loses nothing
    written: list[str] = []
    unchanged = sorted(keep - set(paths))
    done: set[str] = set()
    for path, data in items:
        if path not in paths or path in done:
            raise ValueError(f"{path}: not one of the files to write, or given twice")
        done.add(path)
        changed = data if isinstance(data, bool) else write_if_changed(output / path, data)
        (written if changed else unchanged).append(path)
    if done != paths:
        raise ValueError(f"no bytes for {sorted(paths - done)[:3]}")
    removed = sorted(old - published)
    for path in removed:
        _remove(output, path)
    _write_manifest(output, published)
    return WriteReport(tuple(sorted(written)), tuple(sorted(unchanged)), tuple(removed))


def write_if_changed(target: Path, data: bytes) -> bool:
    """Atomically replace ``target`` with ``data`` unless it already holds it."""
    try:
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            return False
    except OSError:
        pass
    atomic_write(target, data)
    return True


def atomic_write(target: Path, data: bytes) -> None:
    import tempfile  # 3 ms to import: not for a build that writes nothing

    _mkdir(target.parent)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise OutputError(str(target), f"cannot write: {exc.strerror or exc}") from exc


def read_manifest(output: Path) -> set[str]:
    try:
        lines = (output / MANIFEST).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return set()
    return {line for line in lines if line and _is_relative(line)}


def _write_manifest(output: Path, paths: set[str]) -> None:
    atomic_write(output / MANIFEST, "".join(f"{p}\n" for p in sorted(paths)).encode())


def remove_temp_files(output: Path) -> None:
    """Temp files left by a build that was killed."""
    for root, dirs, files in os.walk(output):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith(TMP_PREFIX):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(root, name))


def _remove(output: Path, path: str) -> None:
    target = output / path
    try:
        target.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(str(target), f"cannot remove: {exc.strerror or exc}") from exc
    parent = target.parent
    while parent != output:
        try:
            parent.rmdir()  # only when empty
        except OSError:
            break
        parent = parent.parent


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(str(folder), f"cannot create folder: {exc.strerror or exc}") from exc


def _is_relative(path: str) -> bool:
    pure = PurePosixPath(path)
    return not pure.is_absolute() and ".." not in pure.parts and "\\" not in path


def _check_relative(path: str) -> None:
    if not _is_relative(path):
        raise OutputError(path, "refusing to write outside the output folder")


@contextlib.contextmanager
def output_lock(output: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on the output folder; wait up to ``timeout`` s."""
    _mkdir(output)
    path = output / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(str(path), f"cannot open lock file: {exc.strerror or exc}") from exc
    try:
        _acquire(fd, path, timeout)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _acquire(fd: int, path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise OutputError(str(path), f"cannot lock: {exc.strerror or exc}") from exc
        if time.monotonic() >= deadline:
            raise LockError(
                str(path), f"another build holds the lock (waited {timeout:g} s); try again later"
            )
        time.sleep(0.1)
