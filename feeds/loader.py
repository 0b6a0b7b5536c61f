"""Read every article under the content folder (the I/O half of parsing).

Hostile folders are expected: broken or looping symlinks, symlinks out of the
folder, FIFOs, empty and binary files. Each becomes one finding naming the
file; nothing here follows a link out of the content folder or blocks.
"""

from __future__ import annotations

import array
import errno
import functools
import os
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar, overload

from feeds.config import Config
from feeds.errors import ArticleError
from feeds.listing import Found, listing, scan_folders
from feeds.models import Article, Finding, pickles_by_fields

if TYPE_CHECKING:
    from feeds.workers import Workers

_T = TypeVar("_T")
_SNIFF = 8192  # bytes looked at to tell binary files from text


@pickles_by_fields
@dataclass(frozen=True, slots=True)
class Stamp:
    """What tells a changed file from an unchanged one without reading it."""

    size: int
    mtime_ns: int


@pickles_by_fields
@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of the content folder and what came of it."""

    source: str
    stamp: Stamp | None  # None when it cannot be stat()ed (broken symlink …)
    article: Article | None  # None when the file was skipped with an error
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class LoadResult:
    entries: tuple[FileEntry, ...]  # every file, in path order
    notes: tuple[Finding, ...] = ()  # about the folder itself
    parsed: int = 0  # files parsed in this load (the rest came from the cache)
    slugs: Mapping[str, str] = field(default_factory=dict)  # name -> slugify(name), made by parsing workers
    # Runs of ``entries`` as parsing workers packed them for the cache: (the records, pack_block bytes).
    packed: tuple[tuple[tuple[FileEntry, ...], bytes], ...] = ()

    @property
    def files(self) -> int:
        return len(self.entries)

    # Cached: a build asks for these a dozen times, and each is a pass over every file.
    @functools.cached_property
    def articles(self) -> tuple[Article, ...]:
        """Every usable article, drafts included."""
        return tuple(e.article for e in self.entries if e.article is not None)

    @functools.cached_property
    def findings(self) -> tuple[Finding, ...]:
        return self.notes + tuple(f for e in self.entries for f in e.findings)

    @functools.cached_property
    def published(self) -> tuple[Article, ...]:
        return tuple(a for a in self.articles if not a.draft)

    @property
    def drafts(self) -> int:
        return len(self.articles) - len(self.published)

    @functools.cached_property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "error")


def iter_sources(content: Path, skip: Path | None = None) -> Iterator[tuple[str, Path]]:
    """(relative '/'-path, path) of every non-hidden entry, sorted, recursively.

    Folders are entered, except hidden ones, symlinked ones (yielded instead,
    so that they are reported) and ``skip`` (the output folder, when it lies
    inside the content folder).
    """
    for prefix, folder, names in listing(content, skip):  # no stat: no folder fd, unlike walk
        for name in names:
            yield prefix + name, Path(folder, name)


def walk(
    content: Path, skip: Path | None, describe: Callable[[str, int], _T]
) -> Iterator[tuple[str, str, _T]]:
    """(relative path, path, ``describe(name, folder_fd)``) of every non-hidden non-folder entry, in path order.

    ``describe`` is given the entry's name and an open fd of its folder:
    ``os.stat(name, dir_fd=fd)`` does not walk the whole path again for each
    file (a quarter less time than ``DirEntry.stat()`` for 10k files).
    """
    for prefix, folder, names in listing(content, skip):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            described = [describe(name, fd) for name in names]
        finally:
            os.close(fd)
        yield from ((prefix + name, folder + os.sep + name, d) for name, d in zip(names, described, strict=True))


def read_source(path: str, source: str, root: str, limit: int) -> bytes:
    """The bytes of one article file (at most ``limit``), or an ArticleError saying why not.

    A plain file is opened with O_NOFOLLOW and checked with fstat (what was
    opened is what is read: a FIFO swapped in cannot be read in part); a
    symlink (ELOOP) is resolved and checked first, then opened. O_NONBLOCK:
    opening a FIFO never blocks.
    """
    try:
        fd = os.open(path, _OPEN | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno != errno.ELOOP:  # ELOOP: the path is a symlink
            raise _stat_error(exc, path, source) from None
        fd = _open_link(path, source, root)
    try:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise _not_a_file(source)
            data = _read_up_to(fd, limit + 1, info.st_size)
        finally:
            os.close(fd)
    except OSError as exc:
        raise ArticleError(source, f"cannot read: {exc.strerror or exc}", "unreadable") from exc
    return _checked(data[:limit] if len(data) > limit else data, source, truncated=len(data) > limit)


_OPEN = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC


def _open_link(path: str, source: str, root: str) -> int:
    """Open the file a symlink inside the content folder points to; an ArticleError for any other."""
    try:
        _check_link(path, source, root)
        if stat.S_ISDIR(os.stat(path).st_mode):
            raise ArticleError(source, "a symlinked folder (not followed)", "not-a-file")
        return os.open(path, _OPEN)
    except OSError as exc:
        raise _stat_error(exc, path, source) from None


def _not_a_file(source: str) -> ArticleError:
    return ArticleError(source, "not a regular file (a FIFO, socket or device)", "not-a-file")


def _read_up_to(fd: int, most: int, size: int) -> bytes:
    """Up to ``most`` bytes from ``fd``; ``size`` (from stat) sizes the reads."""
    parts: list[bytes] = []
    left = most
    while left > 0:
        want = min(left, max(size + 1, 1 << 16))
        chunk = os.read(fd, want)
        parts.append(chunk)
        left -= len(chunk)
        if len(chunk) < want:  # a short read of a regular file is its end: no second read to learn it
            break
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _check_link(path: str, source: str, root: str) -> None:
    real = os.path.realpath(path)
    if os.path.commonpath([real, root]) != root:
        raise ArticleError(source, "symlink points outside the content folder (not followed)", "symlink-outside")


def _stat_error(exc: OSError, path: str, source: str) -> ArticleError:
    if exc.errno == errno.ELOOP:
        return ArticleError(source, "symlink loop", "broken-symlink")
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return ArticleError(source, "broken symlink", "broken-symlink")
    return ArticleError(source, f"cannot read: {exc.strerror or exc}", "unreadable")


def _checked(data: bytes, source: str, *, truncated: bool) -> bytes:
    if not data:
        raise ArticleError(source, "empty file", "empty")
    if b"\0" in data[:_SNIFF]:
        raise ArticleError(source, "binary file, not an article", "not-text")
    if truncated:  # never end inside a UTF-8 sequence
        data = data[: len(data) - _partial_utf8_tail(data)]
    return data


def _partial_utf8_tail(data: bytes) -> int:
    """How many bytes at the end form an incomplete UTF-8 sequence."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # a lead byte (or ASCII)
            need = 2 if byte >> 5 == 0b110 else 3 if byte >> 4 == 0b1110 else 4 if byte >> 3 == 0b11110 else 1
            return back if need > back else 0
    return 0


def load_article(path: str, source: str, config: Config, root: str, *, keep_body: bool = True) -> Article:
    """Read, decode and parse one file; every failure is an ArticleError."""
    from feeds.parser import decode_article, parse_article  # yaml: not for a build that parses nothing
    from feeds.text import utf8_has_illegal_xml

    data = read_source(path, source, root, _read_limit(config))
    text, notes = decode_article(data, source)
    # No notes: the text is data decoded as UTF-8, which is checked faster than the text alone
    article = parse_article(text, source, config, keep_body=keep_body,
                            illegal_xml=None if notes else utf8_has_illegal_xml(text, data))
    return replace(article, warnings=notes + article.warnings) if notes else article


def _read_limit(config: Config) -> int:
    return config.max_front_matter + config.max_body + 65536


def read_body(config: Config, article: Article, root: str | None = None) -> str:
    """The body of an article read again from its file ("" if it is gone).

    ``root`` is ``os.path.realpath(config.content)``, when the caller reads
    many bodies: resolving it takes a syscall per folder of the path.
    """
    if article.body is not None:
        return article.body
    from feeds.frontmatter import decode_article, parse_body  # no YAML: a worker that only renders needs none
    from feeds.links import article_link
    from feeds.text import utf8_has_illegal_xml

    path = os.path.join(config.content, article.source)
    try:
        data = read_source(path, article.source, root or os.path.realpath(config.content), _read_limit(config))
        link = functools.partial(article_link, article, config)  # only for a body cut short
        text, notes = decode_article(data, article.source)
        return parse_body(text, article.source, config, link, None if notes else utf8_has_illegal_xml(text, data))
    except ArticleError:
        return ""


Scanned = Sequence[tuple[str, str, "Stamp | None"]]  # (source, path, stamp); paths as str: 100k Paths weigh


class Scan(Sequence[tuple[str, str, "Stamp | None"]]):
    """What ``scan`` found: each file's (source, path, stamp), in path order.

    Kept as the sources, the paths and ``stat_all``'s numbers; a triple and
    its Stamp are made only when asked for. A rebuild with nothing to do
    needs the sources and the numbers alone (``feeds.cache.folder_stamp``):
    making 10k Stamps and triples took 25 ms of its 170.
    """

    __slots__ = ("numbers", "paths", "sources")

    def __init__(self, sources: list[str], paths: list[str], numbers: array.array[int]) -> None:
        self.sources, self.paths, self.numbers = sources, paths, numbers

    def __len__(self) -> int:
        return len(self.sources)

    @overload
    def __getitem__(self, at: int) -> tuple[str, str, Stamp | None]: ...

    @overload
    def __getitem__(self, at: slice) -> Scan: ...

    def __getitem__(self, at: int | slice) -> tuple[str, str, Stamp | None] | Scan:
        if isinstance(at, slice):  # a Scan too: a cold build's chunks, their Stamps made where they are parsed
            start, stop, step = at.indices(len(self))
            if step == 1:
                stop = max(start, stop)
                return Scan(self.sources[start:stop], self.paths[start:stop], self.numbers[2 * start : 2 * stop])
            places = range(start, stop, step)
            return Scan([self.sources[p] for p in places], [self.paths[p] for p in places],
                        array.array("q", [n for p in places for n in self.numbers[2 * p : 2 * p + 2]]))
        if at < 0:
            at += len(self)
        if not 0 <= at < len(self):
            raise IndexError(at)
        size = self.numbers[2 * at]
        return self.sources[at], self.paths[at], Stamp(size, self.numbers[2 * at + 1]) if size >= 0 else None

    def __iter__(self) -> Iterator[tuple[str, str, Stamp | None]]:
        numbers = iter(self.numbers)
        for source, path, size, mtime in zip(self.sources, self.paths, numbers, numbers, strict=True):
            yield source, path, Stamp(size, mtime) if size >= 0 else None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Scan):
            return (self.sources, self.paths, self.numbers) == (other.sources, other.paths, other.numbers)
        return isinstance(other, list) and list(self) == other

    __hash__ = None  # type: ignore[assignment]  # mutable parts, as a list


def scan(config: Config, *, split: bool = False, found: Found | None = None) -> Scan:
    """Every candidate file with its stamp, in path order; nothing is read.

    The folders are listed first, then the files stat()ed (``feeds.stamps``;
    ``split``: in two processes when there are many); ``found``: what a
    ``feeds.prescan`` child found, instead.
    """
    folders, numbers = found if found is not None else scan_folders(config.content, config.output, split=split)
    sources: list[str] = []
    paths: list[str] = []
    for prefix, folder, names in folders:
        base = folder + os.sep
        sources += [prefix + name for name in names] if prefix else names
        paths += [base + name for name in names]
    return Scan(sources, paths, numbers)


def sources_of(scanned: Scanned) -> Sequence[str]:
    """The sources of ``scanned``, in its order."""
    return scanned.sources if isinstance(scanned, Scan) else [source for source, _, _ in scanned]


def parse_entry(path: str, source: str, stamp: Stamp | None, config: Config, root: str,
                keep_body: bool = False) -> FileEntry:
    """One file as a FileEntry: its article (body dropped unless kept) or its error."""
    try:
        article = load_article(path, source, config, root, keep_body=keep_body)
    except ArticleError as exc:
        return FileEntry(source, stamp, None, (Finding(source, "error", exc.code, exc.reason),))
    return FileEntry(source, stamp, article, article.warnings)


def load_articles(
    config: Config, *, cache: Mapping[str, FileEntry] | None = None, jobs: int = 1,
    keep_bodies: bool = False, scanned: Scanned | None = None,
    progress: Progress | None = None, known_slugs: Mapping[str, str] | None = None,
    workers: Workers | None = None, meanwhile: Callable[[], None] | None = None,
) -> LoadResult:
    """Every file of ``config.content``; bad files become findings.

    Files whose stamp matches their ``cache`` entry are not read again; the
    others are parsed in ``workers``, or in ``jobs`` worker processes started
    here when there are many, else here. Bodies are dropped unless
    ``keep_bodies``: ``read_body`` reads them again. ``scanned`` is what
    ``scan(config)`` returned, when the caller has it. Given ``known_slugs``,
    a worker slugs the feed names it meets that ``known_slugs`` lacks
    (``LoadResult.slugs``): pypinyin loads there, beside the parsing.
    Workers started here leave this process a share of the files, and call
    ``meanwhile`` here once they run (see ``feeds.workers.parse_beside``).
    """
    root = os.path.realpath(config.content)
    entries: dict[str, FileEntry] = {}
    found = scan(config) if scanned is None else scanned
    todo: Scanned
    if not cache and isinstance(found, Scan):
        todo = found  # every file (a cold build): its chunks are slices of the scan, their Stamps made as parsed
    else:
        todo = changed = []
        known: Mapping[str, FileEntry] = cache if cache is not None else {}
        for source, path, stamp in found:
            entry = known.get(source) if stamp is not None else None
            was = entry.stamp if entry is not None else None
            # The fields compared here, not Stamp.__eq__: a Python call per file was a third of this loop
            if entry is not None and was is not None and stamp is not None \
                    and was.mtime_ns == stamp.mtime_ns and was.size == stamp.size:
                entries[source] = entry
            else:
                changed.append((source, path, stamp))
    parsed, slugs, packed = _parse_all(todo, config, root, jobs, keep_bodies, progress or _Silent(), known_slugs,
                                       workers, meanwhile)
    for entry in parsed:
        entries[entry.source] = entry
    ordered = tuple(entries[s] for s in sorted(entries))
    return LoadResult(ordered, tuple(_output_inside(config)), len(todo), slugs, tuple(packed))


_POOL_FROM = 200  # files to parse before worker processes pay off


class Progress(Protocol):
    """Told how many files will be parsed, then as they are."""

    def start(self, total: int) -> None: ...

    def advance(self, done: int) -> None: ...


class _Silent:
    def start(self, total: int) -> None:
        pass

    def advance(self, done: int) -> None:
        pass


_CHUNK = 128  # files per task


def _parse_all(
    todo: Scanned, config: Config, root: str, jobs: int, keep: bool,
    progress: Progress, known_slugs: Mapping[str, str] | None, workers: Workers | None,
    meanwhile: Callable[[], None] | None,
) -> tuple[list[FileEntry], dict[str, str], list[tuple[tuple[FileEntry, ...], bytes]]]:
    """The entries of ``todo``, the slugs workers made, and the runs workers packed for the cache."""
    progress.start(len(todo))
    if keep or not todo or (workers is None and (jobs <= 1 or len(todo) < _POOL_FROM)):
        out = []
        for source, path, stamp in todo:
            out.append(parse_entry(path, source, stamp, config, root, keep))
            progress.advance(1)
        return out, {}, []
    if workers is not None:
        size = max(1, min(_CHUNK, -(-len(todo) // (4 * workers.jobs))))  # a few chunks per worker at least
        results = workers.parse([todo[i : i + size] for i in range(0, len(todo), size)], known_slugs)
    else:
        from feeds.workers import parse_beside

        chunks = [todo[i : i + _CHUNK] for i in range(0, len(todo), _CHUNK)]
        results = parse_beside(chunks, config, jobs, known_slugs, meanwhile)
    entries: list[FileEntry] = []
    slugs: dict[str, str] = {}
    packed: list[tuple[tuple[FileEntry, ...], bytes]] = []
    for part, made, payload in results:
        entries += part
        slugs.update(made)
        if payload is not None and part:
            packed.append((tuple(part), payload))
        progress.advance(len(part))
    return entries, slugs, packed


def _output_inside(config: Config) -> Iterator[Finding]:
    content, output = os.path.realpath(config.content), os.path.realpath(config.output)
    if output != content and os.path.commonpath([output, content]) == content:
        rel = os.path.relpath(output, content)
        yield Finding(rel, "warning", "output-inside-content",
                      "the output folder is inside the content folder; it is not read as articles")
