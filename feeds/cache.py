"""The build cache: what the last build parsed and wrote, to skip the work again.

One JSON-lines file. The first line is a header (format, version, a key of
the config and the program's version, and a stamp of the content folder);
the second holds what the last build wrote and reported; every further line
is one content file: its stamp and its parsed article (without body) or its
error. Lines are read a thousand at a time, as one JSON array (one call of
json's C code, not one per line), and written one at a time, so neither
needs the whole file in memory at 100k files. Nothing in it is trusted: a file that does not parse exactly as
expected is discarded with a warning and the build starts from scratch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from feeds import __version__
from feeds.config import Config
from feeds.loader import FileEntry, Stamp
from feeds.models import Article, Author, Finding, author_named

FORMAT = "feeds-cache"
VERSION = 2
FILE = "cache.jsonl"


class CacheError(ValueError):
    """The cache file is not one this version wrote."""


@dataclass(frozen=True)
class Output:
    """A file the last build wrote: what it was made from and how it looks on disk."""

    fingerprint: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Cache:
    stamp: str  # of the content folder: paths, sizes, mtimes
    entries: Mapping[str, FileEntry]
    outputs: Mapping[str, Output] = field(default_factory=dict)
    slugs: Mapping[str, str] = field(default_factory=dict)  # name -> slugify(name)
    report: Mapping[str, Any] = field(default_factory=dict)  # counts and findings of that build
    origin: tuple[int, int, int] | None = field(default=None, compare=False)  # size, mtime, inode of its file


def config_key(config: Config) -> str:
    """Changes whenever the config or the program could change any output.

    Folders count as absolute paths: ``--output public`` run from the site's
    folder (cron) and ``--output /srv/site/public`` (by hand) share a cache.
    """
    same = replace(config, content=Path(os.path.abspath(config.content)), output=Path(os.path.abspath(config.output)),
                   cache=Path(os.path.abspath(config.cache)) if config.cache is not None else None)
    return hashlib.sha256(f"{VERSION}\0{__version__}\0{same!r}".encode()).hexdigest()[:32]


def folder_stamp(items: Iterable[tuple[str, Stamp | None]]) -> str:
    digest = hashlib.sha256()
    for source, stamp in items:
        digest.update(f"{source}\0{stamp.size if stamp else -1}\0{stamp.mtime_ns if stamp else -1}\n".encode())
    return digest.hexdigest()[:32]


def load_cache(folder: Path, config: Config, *, entries: bool = True) -> Cache | None:
    """The cache in ``folder``, or None when there is none or it belongs to another config.

    Raises CacheError for a file that is not a cache of this version.
    With ``entries=False`` only the header and report are read (fast); with
    entries, the report (only a build with nothing to do replays it) is left out.
    """
    try:
        handle = (folder / FILE).open(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CacheError(f"cannot read: {exc.strerror or exc}") from exc
    with handle:
        try:
            header = json.loads(handle.readline())
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise CacheError("not a feeds cache")
            if header.get("version") != VERSION:
                raise CacheError(f"cache format {header.get('version')!r}, expected {VERSION}")
            if header.get("key") != config_key(config):
                return None  # another config or program version: a full build
            extra = json.loads(handle.readline())
            loaded = _entries(_items(handle)) if entries else {}
            return Cache(_str(header["stamp"]), loaded, _outputs(extra["outputs"]),
                         _str_map(extra["slugs"]), {} if entries else _dict(extra["report"]),
                         _identity(os.fstat(handle.fileno())))
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise CacheError(f"corrupt ({exc})") from exc


def _entries(items: Iterable[Any]) -> dict[str, FileEntry]:
    """Entries by path; a path twice is corruption (the lines could not be copied back in order)."""
    loaded: dict[str, FileEntry] = {}
    for entry in map(_entry_from_json, items):
        if loaded.setdefault(entry.source, entry) is not entry:
            raise ValueError(f"{entry.source!r} twice")
    return loaded


def stage_entries(folder: Path, entries: Iterable[FileEntry], previous: Cache | None = None) -> Path:
    """Write the entry lines of a cache to a temp file in ``folder``; ``save_cache`` puts them in place.

    The slow half of saving (100k lines), apart so that it can run while
    feeds render. An entry that is the very record ``previous`` loaded is
    written back as the line it was read from, not encoded again: the old
    file, still in place and unchanged since, is read alongside (both are in
    path order).
    """
    folder.mkdir(parents=True, exist_ok=True)
    mine = f".tmp-{os.getpid()}-"
    for stale in folder.glob(".tmp-*"):  # left by a build that was killed
        if not stale.name.startswith(mine):
            stale.unlink(missing_ok=True)
    staged = folder / f"{mine}entries"
    with staged.open("wb") as handle, _old_lines(folder / FILE, previous) as old_lines:
        for entry in entries:
            if entry.stamp is None:
                continue  # cannot be recognised next time: parse it again
            if not old_lines.take(entry, handle):
                old_lines.flush(handle)
                handle.write((_ENCODER.encode(_entry_item(entry)) + "\n").encode())
        old_lines.flush(handle)
    return staged


def save_cache(
    folder: Path, config: Config, cache: Cache, previous: Cache | None = None, *, staged: Path | None = None
) -> None:
    """Write the cache atomically (a temp file, then rename).

    ``staged`` holds the entry lines ``stage_entries`` wrote (then
    ``cache.entries`` is not looked at); without it they are written here.
    """
    if staged is None:
        staged = stage_entries(folder, cache.entries.values(), previous)
    tmp = folder / f".tmp-{os.getpid()}-{FILE}"
    try:
        with tmp.open("wb") as handle:
            handle.write(_dumps({"format": FORMAT, "version": VERSION, "key": config_key(config),
                                 "stamp": cache.stamp}).encode())
            outputs = {p: [o.fingerprint, o.size, o.mtime_ns] for p, o in sorted(cache.outputs.items())}
            # Megabytes at 100k files (every finding of the report): written a slice at a time, so
            # neither a newline appended nor the UTF-8 encoding copies all of it at once.
            extra = _ENCODER.encode({"outputs": outputs, "slugs": dict(cache.slugs), "report": dict(cache.report)})
            for start in range(0, len(extra), _SLICE):
                handle.write(extra[start : start + _SLICE].encode())
            del extra
            handle.write(b"\n")
            with staged.open("rb") as lines:
                shutil.copyfileobj(lines, handle, 1 << 20)
        os.replace(tmp, folder / FILE)
    finally:
        staged.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)


def _identity(info: os.stat_result) -> tuple[int, int, int]:
    return info.st_size, info.st_mtime_ns, info.st_ino


class _OldLines:
    """The entry lines of the cache file ``previous`` was read from, copied for the very records read from them.

    ``take(entry, out)`` adds ``entry`` to the run of records read from
    consecutive old lines (False: it was not read from any); ``flush(out)``
    writes the run's lines as they are, in bulk, after checking that its
    first and last lines start with the paths of its first and last entries.
    A run that fails the check is encoded afresh instead.
    """

    _MOST = 4096  # lines held at once

    def __init__(self, old: BinaryIO | None, previous: Cache | None) -> None:
        self._old = old
        self._index = {id(e): i for i, e in enumerate(previous.entries.values())} if old and previous else {}
        self._done = 0  # old lines read so far
        self._run: list[FileEntry] = []
        self._start = 0  # the old line of the run's first entry

    def take(self, entry: FileEntry, out: BinaryIO) -> bool:
        at = self._index.get(id(entry))
        if at is None:
            return False
        if self._run and (at != self._start + len(self._run) or len(self._run) >= self._MOST):
            self.flush(out)
        if not self._run:
            self._start = at
        self._run.append(entry)
        return True

    def flush(self, out: BinaryIO) -> None:
        run, self._run = self._run, []
        if not run:
            return
        lines: list[bytes] = []
        if self._old is not None and self._start >= self._done:  # the file is read forward only
            deque(islice(self._old, self._start - self._done), maxlen=0)
            lines = list(islice(self._old, len(run)))
            self._done = self._start + len(lines)
        if len(lines) == len(run) and lines[-1].endswith(b"\n") and _starts(lines[0], run[0]) \
                and _starts(lines[-1], run[-1]):
            out.writelines(lines)
        else:
            out.writelines((_ENCODER.encode(_entry_item(e)) + "\n").encode() for e in run)


def _starts(line: bytes, entry: FileEntry) -> bool:
    return line.startswith(f"[{_ENCODER.encode(entry.source)},".encode())


@contextlib.contextmanager
def _old_lines(path: Path, previous: Cache | None) -> Iterator[_OldLines]:
    """The entry lines of ``path`` when it is still the file ``previous`` was read from."""
    try:
        handle = path.open("rb")
    except OSError:
        yield _OldLines(None, None)
        return
    with handle:
        if previous is None or previous.origin != _identity(os.fstat(handle.fileno())):
            yield _OldLines(None, None)
            return
        handle.readline(), handle.readline()  # header, outputs and report
        yield _OldLines(handle, previous)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_BATCH = 1000  # entry lines parsed per json.loads call
_SLICE = 1 << 18  # characters written at once


def _dumps(value: object) -> str:
    return _ENCODER.encode(value) + "\n"


def _items(lines: Iterable[str]) -> Iterator[Any]:
    """The JSON value of every line, parsed a batch of lines at a time."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == _BATCH:
            yield from _parsed(batch)
            batch = []
    if batch:
        yield from _parsed(batch)


def _parsed(batch: list[str]) -> list[Any]:
    values: list[Any] = json.loads(f"[{','.join(batch)}]")
    if len(values) != len(batch):  # a line holding "1,2" would shift every entry after it
        raise ValueError("an entry line holds more than one value")
    return values


def _entry_item(e: FileEntry) -> list[Any]:
    assert e.stamp is not None
    article = _article_json(e.article) if e.article is not None else None
    return [e.source, e.stamp.size, e.stamp.mtime_ns, article, [finding_json(f) for f in e.findings]]


def finding_json(f: Finding) -> list[str]:
    return [f.file, f.level, f.code, f.message]


def finding_from_json(value: Any) -> Finding:
    file, level, code, message = value
    if level not in ("error", "warning", "info"):
        raise ValueError(f"level {level!r}")
    return Finding(_str(file), level, _str(code), _str(message))


def _article_json(a: Article) -> list[Any]:
    author = [a.author.name, a.author.email] if a.author else None
    return [a.title, a.published.isoformat(), a.permalink, a.given_id, a.updated.isoformat() if a.updated else None,
            list(a.categories), list(a.tags), author, a.image, a.thumbnail, a.summary, a.draft]


def _entry_from_json(item: Any) -> FileEntry:
    """One entry line's value as a FileEntry; TypeError/ValueError for anything unexpected.

    Checked with plain ``type(x) is ...`` tests, not helper calls: at 100k files
    the checks cost more than building the records did.
    """
    source, size, mtime_ns, article, findings = item
    if type(source) is not str or type(size) is not int or type(mtime_ns) is not int or type(findings) is not list:
        raise TypeError("expected a path, a size, an mtime and a list of findings")
    found = tuple(map(finding_from_json, findings)) if findings else ()
    parsed = _article_from_json(source, article, found) if article is not None else None
    return FileEntry(source, Stamp(size, mtime_ns), parsed, found)


def _article_from_json(source: str, v: list[Any], found: tuple[Finding, ...]) -> Article:
    title, published, link, ident, updated, cats, tags, author, image, thumb, summary, draft = v
    if (type(title) is not str or type(cats) is not list or type(tags) is not list or type(draft) is not bool
            or not _all_text(cats) or not _all_text(tags) or not _none_or_text(link, ident, image, thumb, summary)):
        raise TypeError("expected text in title, categories and tags, text or null in permalink, id, "
                        "image, thumbnail and summary, and a boolean draft")
    return Article(
        source, title, _utc(published), link, ident, None, _utc(updated) if updated is not None else None,
        tuple(map(sys.intern, cats)), tuple(map(sys.intern, tags)), _author(author),
        image, thumb, summary, draft, tuple(f for f in found if f.level != "error") if found else (),
    )


def _author(value: Any) -> Author | None:
    if value is None:
        return None
    name, email = value
    if type(name) is not str or (email is not None and type(email) is not str):
        raise TypeError("expected an author's name and e-mail (or null)")
    return author_named(name) if email is None else Author(name, email)


def _all_text(values: list[Any]) -> bool:
    for value in values:  # noqa: SIM110 - a loop, not a generator per record
        if type(value) is not str:
            return False
    return True


def _none_or_text(*values: Any) -> bool:
    for value in values:  # noqa: SIM110 - a loop, not a generator per record
        if value is not None and type(value) is not str:
            return False
    return True


def _outputs(value: Any) -> dict[str, Output]:
    return {_str(p): Output(_str(f), _int(s), _int(m)) for p, (f, s, m) in _dict(value).items()}


def _utc(value: Any) -> datetime:
    moment = datetime.fromisoformat(_str(value))
    if moment.tzinfo is not UTC and (moment.utcoffset() is None or moment.utcoffset() != _ZERO):
        raise ValueError(f"not a UTC time: {value!r}")
    return moment


_ZERO = timedelta(0)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _str_map(value: Any) -> dict[str, str]:
    return {_str(k): _str(v) for k, v in _dict(value).items()}
