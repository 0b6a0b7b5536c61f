"""The build cache: what the last build parsed and wrote, to skip the work again.

One file. Its first line is a JSON header (format, version, a key of the
config and the program's version, a stamp of the content folder); the
second, JSON too, holds what the last build wrote and reported; the rest is
blocks of content-file entries (each file's stamp and its parsed article,
without body, or its error), a thousand to a block, in path order. A block
is its length, a BLAKE2b digest of its bytes and a pickle of its entries,
read with an unpickler that knows only the record classes, so a block's
bytes can never name other code to run. Pickle builds the records in C:
loading 10k entries took 55 ms as JSON lines, half that as blocks.

Nothing in it is trusted: a file whose header, digests, classes or entry
shapes are not exactly what this version writes is discarded with a
warning, and the build starts from scratch. (The digests catch torn and
corrupted files; the cache is no more guarded against someone who can
write to the output folder than the feeds beside it are.) A rebuild copies
the blocks whose entries did not change as the bytes they were read from.

Beside it, ``snapshot.bin`` holds what the build planned (``Snapshot``,
for ``feeds.quick``): a JSON header naming the token of the cache file it
goes with, then one framed pickle, read and checked like a block.
"""

from __future__ import annotations

import array
import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import operator
import os
import struct
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO

from feeds import __version__
from feeds.config import Config
from feeds.loader import FileEntry, Scan, Scanned, Stamp, sources_of
from feeds.models import Article, Author, Finding

FORMAT = "feeds-cache"
VERSION = 5
FILE = "cache.bin"
SNAPSHOT = "snapshot.bin"
SNAPSHOT_FORMAT = "feeds-snapshot"
_OLD_FILES = ("cache.jsonl",)  # what earlier formats were called: removed when this one is saved


class CacheError(ValueError):
    """The cache file is not one this version wrote."""


@dataclass(frozen=True)
class Output:
    """A file the last build wrote: what it was made from and how it looks on disk."""

    fingerprint: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Block:
    """A run of entries as the cache file holds them: where, and what was read from there."""

    offset: int  # of its frame (length and digest) in the file
    size: int  # of the frame and the pickle
    entries: tuple[FileEntry, ...]


@dataclass(frozen=True)
class Cache:
    stamp: str  # of the content folder: paths, sizes, mtimes
    entries: Mapping[str, FileEntry]
    outputs: Mapping[str, Output] = field(default_factory=dict)
    slugs: Mapping[str, str] = field(default_factory=dict)  # name -> slugify(name)
    report: Mapping[str, Any] = field(default_factory=dict)  # counts and findings of that build
    origin: tuple[int, int, int] | None = field(default=None, compare=False)  # size, mtime, inode of its file
    blocks: tuple[Block, ...] = field(default=(), compare=False, repr=False)
    token: str = field(default="", compare=False)  # names the snapshot saved with it ("": none)
    blocks_at: int = field(default=0, compare=False)  # where its first block starts in its file
    line: bytes = field(default=b"", compare=False, repr=False)  # its file's second line, read with entries=False
    scanned_ns: int = field(default=0, compare=False)  # time.time_ns() before its build's scan (feeds.stamps.racy)
    findings: tuple[Finding, ...] = field(default=(), compare=False, repr=False)  # report's, read with entries=False

    @functools.cached_property
    def report_text(self) -> str | None:
        """``report``'s JSON as this cache's file holds it, when its second line is exactly what
        ``save_cache`` writes: a rebuild that keeps the report writes it again as it was, instead of
        encoding a few MB again at 100k files. Found only when asked (not by a build with nothing to do)."""
        prefix = _extra_prefix(self.outputs, self.slugs).encode()
        if self.line.startswith(prefix) and self.line.endswith(b"}\n"):
            return self.line[len(prefix) : -2].decode()
        return None


@dataclass(frozen=True)
class Staged:
    """Entry blocks written to a temp file (``stage_entries``), for ``save_cache`` to put in place."""

    path: Path
    index: tuple[tuple[int, str, str], ...]  # each block's size (frame and pickle), first and last path


@dataclass(frozen=True)
class Window:
    """One feed as a build planned it (``feeds.plan.FeedSpec``), its history kept to the first page."""

    family: str
    name: str
    path: str
    title: str
    length: int  # of the whole history
    items: tuple[str, ...]  # the paths of the first page's articles, newest first


class Records(Mapping[str, Article]):
    """A snapshot's article records by path, as pickled bytes, each one unpickled and checked when first read.

    A one-edit rebuild reads the records of the feeds it renders, a few
    hundred of thousands, and saves the others again as the bytes they came
    in. A record that is not an article of its path raises CacheError when
    read. ``fresh`` records (edited, added) are held as records.
    """

    def __init__(self, packed: Mapping[str, bytes], fresh: Mapping[str, Article] | None = None,
                 made: dict[str, Article] | None = None) -> None:
        self._packed, self._fresh = packed, fresh or {}
        self._made = {} if made is None else made  # shared by the Records made from this one: same bytes, same record

    def __getitem__(self, source: str) -> Article:
        found = self._fresh.get(source)
        if found is not None:
            return found
        data = self._packed[source]  # KeyError: not one of them
        found = self._made.get(source)
        if found is not None:
            return found
        try:
            record = _unpickler()(io.BytesIO(data)).load()
        except Exception as exc:  # whatever a foreign pickle raises: never trusted
            raise CacheError(f"corrupt {SNAPSHOT} (the record of {source!r}: {exc})") from exc
        if _misshapen(record, source):
            raise CacheError(f"corrupt {SNAPSHOT} (the record of {source!r} is not an article without body)")
        article: Article = record
        self._made[source] = article
        return article

    def __contains__(self, source: object) -> bool:
        return source in self._fresh or source in self._packed

    def __iter__(self) -> Iterator[str]:
        yield from self._packed
        yield from (s for s in self._fresh if s not in self._packed)

    def __len__(self) -> int:
        return len(self._packed) + sum(1 for s in self._fresh if s not in self._packed)

    def with_fresh(self, fresh: Mapping[str, Article], keep: Collection[str] | None = None) -> Records:
        """These records with ``fresh`` ones in place or added; only those of ``keep``, when given."""
        def kept(source: str) -> bool:
            return keep is None or source in keep

        packed = {s: b for s, b in self._packed.items() if s not in fresh and kept(s)}
        fresher = {s: a for s, a in {**self._fresh, **fresh}.items() if kept(s)}
        return Records(packed, fresher, self._made)

    def packed(self) -> dict[str, bytes]:
        """Every record's bytes: those read as they came, the others pickled now."""
        return {**self._packed, **{s: _pack_record(a) for s, a in self._fresh.items()}}


def records_with(records: Mapping[str, Article], fresh: Mapping[str, Article],
                 keep: Collection[str] | None = None) -> Mapping[str, Article]:
    """``records`` (Records, or a dict of a full build's plan) with ``fresh`` in, only ``keep``'s when given."""
    if isinstance(records, Records):
        return records.with_fresh(fresh, keep)
    joined = {**records, **fresh}
    return joined if keep is None else {s: a for s, a in joined.items() if s in keep}


def _pack_record(article: Article) -> bytes:
    import pickle

    return pickle.dumps(article, protocol=5)


@dataclass(frozen=True)
class Snapshot:
    """What a build planned, saved beside its cache for the next build (``feeds.quick``).

    Saved with the token of the cache file it goes with: a snapshot whose
    cache file was replaced since is not used.
    """

    sources: tuple[str, ...]  # every file the build read, in the scan's order
    numbers: array.array[int]  # size and mtime_ns of each (-1, -1: no stamp)
    windows: tuple[Window, ...]  # every feed, in plan order
    articles: Mapping[str, Article]  # the records of every window's items, by path
    newest_rest: datetime | None  # the newest ``modified`` of the feeds' other articles
    shared: frozenset[datetime]  # dates that more than one article has (drafts too)
    dates: frozenset[int] = frozenset()  # every article's date (drafts too), in microseconds since 1970
    given_ids: frozenset[str] = frozenset()  # the ids articles give themselves
    blocks: tuple[tuple[int, str, str], ...] = ()  # the cache file's blocks (``Staged.index``)


def config_key(config: Config) -> str:
    """Changes whenever the config or the program could change any output.

    Folders count as absolute paths: ``--output public`` run from the site's
    folder (cron) and ``--output /srv/site/public`` (by hand) share a cache.
    """
    same = replace(config, content=Path(os.path.abspath(config.content)), output=Path(os.path.abspath(config.output)),
                   cache=Path(os.path.abspath(config.cache)) if config.cache is not None else None)
    return hashlib.sha256(f"{VERSION}\0{__version__}\0{code_stamp()}\0{same!r}".encode()).hexdigest()[:32]


@functools.cache
def code_stamp() -> str:
    """The name, size and mtime of every module of this package, once per process.

    An install of other code under the same version number (from a
    checkout, an edit in place) changes it, and so the cache's key: the
    next build is a full one, and its outputs are the new code's.
    """
    folder = os.path.dirname(os.path.abspath(__file__))
    with os.scandir(folder) as found:
        modules = sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in found if e.name.endswith(".py"))
    return repr(modules)


def folder_stamp(scanned: Scanned, numbers: array.array[int] | None = None) -> str:
    """A digest of every (path, size, mtime) ``scan`` found: the same digest, the same folder.

    The paths joined by NUL (which no path holds), then the numbers
    (``stamp_numbers``, when the caller has not made them) as 8-byte
    integers: two passes in C-speed comprehensions, not a formatted line
    per file (a third of the time, which every cron run spends).
    """
    digest = hashlib.sha256("\0".join(sources_of(scanned)).encode())
    digest.update((stamp_numbers(scanned) if numbers is None else numbers).tobytes())
    return digest.hexdigest()[:32]


def stamp_numbers(scanned: Scanned) -> array.array[int]:
    """Size and mtime_ns of every file ``scan`` found, in its order; -1, -1 for one without a stamp."""
    if isinstance(scanned, Scan):
        return scanned.numbers
    return array.array("q", [n for _, _, st in scanned
                             for n in ((st.size, st.mtime_ns) if st is not None else (-1, -1))])


def load_cache(folder: Path, config: Config, *, entries: bool = True) -> Cache | None:
    """The cache in ``folder``, or None when there is none or it belongs to another config.

    Raises CacheError for a file that is not a cache of this version.
    With ``entries=False`` only the header and report are read (fast); with
    entries, the report (only a build with nothing to do replays it) is left out.
    """
    with _headed(folder / FILE, FORMAT, "feeds cache") as opened:
        if opened is None:
            return None
        handle, header = opened
        try:
            if header.get("key") != config_key(config):
                return None  # another config or program version: a full build
            line = handle.readline()
            extra = json.loads(line)
            blocks_at = handle.tell()
            blocks = tuple(_blocks(handle)) if entries else ()
            report = {} if entries else _report(extra["report"])
            return Cache(_str(header["stamp"]), _entries(blocks), _outputs(extra["outputs"]),
                         _str_map(extra["slugs"]), report,
                         _identity(os.fstat(handle.fileno())), blocks, _str(header.get("snapshot", "")),
                         blocks_at, b"" if entries else line, _int(header["scanned_ns"]),
                         tuple(map(finding_from_json, report.get("findings", ()))))
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, EOFError) as exc:
            raise CacheError(f"corrupt ({exc})") from exc


def load_entries(folder: Path, cache: Cache) -> Cache:
    """``cache`` (read with ``entries=False``) with its entries, and without its report.

    Only the blocks are read, from where they start: not the header and
    the second line again (megabytes of report at 100k files). The file
    must still be the one ``cache`` was read from; raises CacheError as
    ``load_cache`` does.
    """
    with _still(folder / FILE, cache.origin) as handle:
        if handle is None:
            raise CacheError("replaced, or gone, since its header was read")
        handle.seek(cache.blocks_at)
        try:
            blocks = tuple(_blocks(handle))
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, EOFError) as exc:
            raise CacheError(f"corrupt ({exc})") from exc
    return replace(cache, entries=_entries(blocks), report={}, blocks=blocks, line=b"")


@contextlib.contextmanager
def _headed(path: Path, fmt: str, what: str) -> Iterator[tuple[BinaryIO, dict[str, Any]] | None]:
    """``path`` open after its JSON header line, checked to be ``fmt`` of this version; None when there is none.

    Raises CacheError for a file that cannot be read or is not ``what`` of this version.
    """
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        yield None
        return
    except OSError as exc:
        raise CacheError(f"cannot read {path.name}: {exc.strerror or exc}") from exc
    with handle:
        try:
            header = json.loads(handle.readline())
        except ValueError as exc:
            raise CacheError(f"corrupt ({exc})") from exc
        if not isinstance(header, dict) or header.get("format") != fmt:
            raise CacheError(f"not a {what}")
        if header.get("version") != VERSION or header.get("layout") != LAYOUT:
            raise CacheError(f"{what} of format {header.get('version')!r}, expected {VERSION}")
        yield handle, header


def _entries(blocks: Sequence[Block]) -> dict[str, FileEntry]:
    """Entries by path (``_blocks`` checked that paths rise strictly, across blocks too)."""
    loaded: dict[str, FileEntry] = {}
    for block in blocks:
        loaded.update(zip(map(_SOURCE, block.entries), block.entries, strict=True))
    return loaded


_SOURCE = operator.attrgetter("source")
_FRAME = struct.Struct("<I16s")  # payload length, BLAKE2b-128 digest of the payload
_BLOCK = 1000  # entries per block


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=16).digest()


def _blocks(handle: BinaryIO) -> Iterator[Block]:
    """Every block after the two JSON lines, checked, one at a time (100k entries are never all raw in memory)."""
    import pickle  # only a build that reads its entries needs it

    unpickler = _unpickler()
    last = ""  # the path of the last entry read: paths rise strictly through the whole file
    while True:
        offset = handle.tell()
        frame = handle.read(_FRAME.size)
        if not frame:
            return
        if len(frame) != _FRAME.size:
            raise ValueError(f"a block cut short at byte {offset}")
        length, digest = _FRAME.unpack(frame)
        payload = handle.read(length)
        if len(payload) != length or _digest(payload) != digest:
            raise ValueError(f"the block at byte {offset} does not match its digest")
        try:
            value = unpickler(io.BytesIO(payload)).load()
        except pickle.UnpicklingError as exc:
            raise ValueError(f"the block at byte {offset}: {exc}") from exc
        entries = _checked(value, last)
        last = entries[-1].source
        yield Block(offset, _FRAME.size + length, entries)


@functools.cache
def _unpickler() -> type:
    """An Unpickler that builds nothing but the records a cache holds (pickle: imported only to read blocks)."""
    import pickle

    class Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            found = _CLASSES.get((module, name))
            if found is None:
                raise ValueError(f"{module}.{name} is not a cache record")
            return found

    return Unpickler


_RECORDS = (FileEntry, Stamp, Article, Author, Finding)
_CLASSES: dict[tuple[str, str], type] = {
    **{(cls.__module__, cls.__qualname__): cls for cls in _RECORDS},
    **{("datetime", cls.__name__): cls for cls in (datetime, timezone, timedelta)},
}
# The records' fields, in order: blocks written by a program whose records differ are not read.
LAYOUT = hashlib.sha256(
    repr([(cls.__qualname__, [f.name for f in dataclasses.fields(cls)]) for cls in _RECORDS]).encode()
).hexdigest()[:16]


def _checked(value: Any, last: str) -> tuple[FileEntry, ...]:
    """A block's entries: a non-empty tuple of well-formed FileEntry records, paths rising after ``last``.

    Plain ``type(x) is`` tests, inline: at 100k entries, helper calls cost more than the unpickling.
    """
    if type(value) is not tuple or not value:
        raise TypeError("a block is not a tuple of entries")
    for e in value:
        if (type(e) is not FileEntry or type(e.source) is not str or type(e.stamp) is not Stamp
                or type(e.findings) is not tuple):
            raise TypeError("a block holds something other than entries (path, stamp, findings)")
        if e.source <= last:
            raise ValueError(f"{e.source!r} out of order or twice")
        for f in e.findings:
            if type(f) is not Finding or f.level not in _LEVELS:
                raise TypeError(f"{e.source!r}: a finding of the wrong shape")
        if e.article is not None and _misshapen(e.article, e.source):
            raise TypeError(f"{e.source!r}: not an article without body, with UTC times and text fields")
        last = e.source
    return value


def _misshapen(a: Any, source: str) -> bool:
    """``a`` is not an Article of ``source`` without body, with UTC times and text fields."""
    return (
        type(a) is not Article or a.source != source or type(a.title) is not str or a.body is not None
        or type(a.published) is not datetime or a.published.tzinfo is not UTC
        or (a.updated is not None and (type(a.updated) is not datetime or a.updated.tzinfo is not UTC))
        or type(a.categories) is not tuple or type(a.tags) is not tuple or type(a.draft) is not bool
        or (a.author is not None and type(a.author) is not Author)
        or not _none_or_text(a.permalink, a.given_id, a.image, a.thumbnail, a.summary, *a.categories, *a.tags)
    )


_LEVELS = frozenset({"error", "warning", "info"})


def _none_or_text(*values: Any) -> bool:
    for value in values:  # noqa: SIM110 - a loop, not a generator per record
        if value is not None and type(value) is not str:
            return False
    return True


def stage_entries(folder: Path, entries: Sequence[FileEntry], previous: Cache | None = None,
                  packed: Sequence[tuple[tuple[FileEntry, ...], bytes]] = ()) -> Staged:
    """Write the entry blocks of a cache to a temp file in ``folder``; ``save_cache`` puts them in place.

    The slow half of saving (100k entries), apart so that it can run while
    feeds render. A run of entries that is exactly a block ``previous`` read
    (the very records) is copied as the bytes it was read from, when the old
    file is still in place and unchanged; a run that is exactly one of
    ``packed`` (records and the ``pack_block`` bytes made of them) is written
    as those bytes; the others are pickled afresh. Entries without a stamp
    are left out: they cannot be recognised next time.
    """
    with _staging(folder) as staged, _old_file(folder / FILE, previous) as old:
        starts = {id(b.entries[0]): b for b in previous.blocks} if old is not None and previous else {}
        made = {id(run[0]): (run, payload) for run, payload in packed if run and all(e.stamp for e in run)}
        fresh: list[FileEntry] = []
        at = 0
        while at < len(entries):
            block = starts.get(id(entries[at]))
            if block is not None and _same(entries, at, block.entries):
                staged.block(fresh)
                frame = os.pread(old.fileno(), block.size, block.offset)  # type: ignore[union-attr]
                staged.frame(frame, block.entries[0].source, block.entries[-1].source)
                at += len(block.entries)
                continue
            run, payload = made.get(id(entries[at]), ((), b""))
            if run and _same(entries, at, run):
                staged.block(fresh)
                staged.payload(payload, run)
                at += len(run)
                continue
            if entries[at].stamp is not None:
                fresh.append(entries[at])
                if len(fresh) == _BLOCK:
                    staged.block(fresh)
            at += 1
        staged.block(fresh)
    return staged.done()


class _Stager:
    """Writes the frames of a staged file, keeping its index (``Staged.index``)."""

    def __init__(self, path: Path, handle: BinaryIO) -> None:
        self._path, self._handle = path, handle
        self._index: list[tuple[int, str, str]] = []

    def frame(self, frame: bytes, first: str, last: str) -> None:
        """A whole frame (length, digest, pickle) as read from a cache file: entries ``first`` to ``last``."""
        self._handle.write(frame)
        self._index.append((len(frame), first, last))

    def payload(self, payload: bytes, entries: Sequence[FileEntry]) -> None:
        """``payload`` (``pack_block`` of ``entries``) framed."""
        self.frame(_FRAME.pack(len(payload), _digest(payload)) + payload, entries[0].source, entries[-1].source)

    def copied(self, fd: int, offset: int, size: int, first: str, last: str) -> None:
        """A whole frame copied from ``fd`` (a cache file) at ``offset``, as ``frame`` would write it."""
        copy_range(fd, self._handle, offset, size)
        self._index.append((size, first, last))

    def block(self, fresh: list[FileEntry]) -> None:
        """Pickle ``fresh`` as one block, and empty it."""
        if fresh:
            self.payload(pack_block(fresh), fresh)
            fresh.clear()

    def done(self) -> Staged:
        return Staged(self._path, tuple(self._index))


@contextlib.contextmanager
def _staging(folder: Path) -> Iterator[_Stager]:
    """A fresh temp file in ``folder`` for staged blocks (the temp files of killed builds removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    mine = f".tmp-{os.getpid()}-"
    for stale in folder.glob(".tmp-*"):  # left by a build that was killed
        if not stale.name.startswith(mine):
            stale.unlink(missing_ok=True)
    path = folder / f"{mine}entries"
    try:
        with path.open("wb") as handle:
            yield _Stager(path, handle)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def quick_blocks(
    folder: Path, cache: Cache, snapshot: Snapshot, wanted: Sequence[str]
) -> dict[int, tuple[FileEntry, ...]]:
    """The entries of the blocks that hold the ``wanted`` paths, or would (``home``), by their place.

    ``cache`` was read with ``entries=False``. The file must be the one that
    was read, with exactly the blocks the snapshot lists (CacheError if
    not), so that ``restage`` can copy the others as they are. Only the
    blocks read here are checked against their digests: the others are not
    looked at by this build, and the next build that reads them checks them
    (a block that fails its digest then discards the cache, as ever).
    """
    unpickler = _unpickler()
    homes = {home(snapshot.blocks, path) for path in wanted}
    found: dict[int, tuple[FileEntry, ...]] = {}
    with _same_file(folder, cache) as fd:
        offset = cache.blocks_at
        if os.fstat(fd).st_size != offset + sum(size for size, _, _ in snapshot.blocks):
            raise CacheError(f"corrupt (its blocks are not the ones {SNAPSHOT} lists)")
        for place, (size, first, last) in enumerate(snapshot.blocks):
            if place not in homes:
                offset += size
                continue
            frame = os.pread(fd, size, offset)
            length, digest = _FRAME.unpack_from(frame) if len(frame) >= _FRAME.size else (-1, b"")
            if len(frame) != size or length != size - _FRAME.size or _digest(frame[_FRAME.size:]) != digest:
                raise CacheError(f"corrupt (the block at byte {offset} does not match its digest)")
            try:
                entries = _checked(unpickler(io.BytesIO(frame[_FRAME.size:])).load(), "")
            except Exception as exc:  # whatever a foreign pickle raises: never trusted
                raise CacheError(f"corrupt (the block at byte {offset}: {exc})") from exc
            if (entries[0].source, entries[-1].source) != (first, last):
                raise CacheError(f"corrupt (the block at byte {offset} is not the one {SNAPSHOT} lists)")
            found[place] = entries
            offset += size
    return found


def home(index: Sequence[tuple[int, str, str]], path: str) -> int:
    """The block (of an index of blocks in path order) that holds ``path``, or would: the first that
    ends at or after it, else the last."""
    return next((place for place, (_, _, last) in enumerate(index) if last >= path), len(index) - 1)


def restage(folder: Path, cache: Cache, snapshot: Snapshot, blocks: Mapping[int, tuple[FileEntry, ...]],
            changed: Mapping[str, FileEntry], added: Sequence[FileEntry] = ()) -> Staged:
    """Stage the blocks of ``cache``'s file with the ``changed`` entries in place and the ``added`` ones in.

    ``blocks`` are the blocks that hold them, or will (``quick_blocks``):
    pickled again; the others are copied as their bytes.
    """
    new: dict[int, list[FileEntry]] = {}
    for entry in added:
        new.setdefault(home(snapshot.blocks, entry.source), []).append(entry)
    with _staging(folder) as staged, _same_file(folder, cache) as fd:
        offset = cache.blocks_at
        for place, (size, first, last) in enumerate(snapshot.blocks):
            entries = blocks.get(place)
            if entries is None:
                staged.copied(fd, offset, size, first, last)
            else:
                run = [changed.get(e.source, e) for e in entries] + new.get(place, [])
                staged.block(sorted(run, key=_SOURCE) if place in new else run)
            offset += size
    return staged.done()


def copy_range(fd: int, out: BinaryIO, offset: int, count: int) -> None:
    """``count`` bytes of ``fd`` from ``offset`` on, appended to ``out``; CacheError if it holds fewer.

    In the kernel where it can (``copy_file_range``: no bytes through this
    process), else read and written a megabyte at a time.
    """
    out.flush()  # what was written before goes first
    target = out.fileno()
    while count > 0 and _KERNEL_COPY:
        try:
            done = os.copy_file_range(fd, target, count, offset)
        except OSError:  # EXDEV, ENOSYS, EINVAL: file systems and kernels that cannot
            break
        if done <= 0:
            break
        offset, count = offset + done, count - done
    while count > 0:
        chunk = os.pread(fd, min(count, 1 << 20), offset)
        if not chunk:
            raise CacheError("shorter than its blocks, while this build read it")
        out.write(chunk)
        offset, count = offset + len(chunk), count - len(chunk)
    out.flush()


_KERNEL_COPY = hasattr(os, "copy_file_range")


@contextlib.contextmanager
def _same_file(folder: Path, cache: Cache) -> Iterator[int]:
    """The fd of ``cache``'s file, when it is still the file ``cache`` was read from (else CacheError)."""
    with _still(folder / FILE, cache.origin) as handle:
        if handle is None:
            raise CacheError("replaced, or gone, while this build read it")
        yield handle.fileno()


def _same(entries: Sequence[FileEntry], at: int, block: tuple[FileEntry, ...]) -> bool:
    """``entries[at:]`` starts with the very records of ``block``."""
    run = entries[at : at + len(block)]
    return len(run) == len(block) and all(map(operator.is_, run, block))


def pack_block(entries: Sequence[FileEntry]) -> bytes:
    """``entries`` (in path order, each with a stamp) as the payload of one block of a cache file.

    A parsing worker packs its chunk once: the build unpacks it, and saves
    the same bytes (``stage_entries``'s ``packed``) instead of pickling the
    records again.
    """
    import pickle  # only a build that saves its entries needs it

    return pickle.dumps(tuple(entries), protocol=5)


@contextlib.contextmanager
def _old_file(path: Path, previous: Cache | None) -> Iterator[BinaryIO | None]:
    """``path`` opened, when it is still the file ``previous`` was read from (and it has blocks)."""
    if previous is None or not previous.blocks:
        yield None
        return
    with _still(path, previous.origin) as handle:
        yield handle


@contextlib.contextmanager
def _still(path: Path, origin: tuple[int, int, int] | None) -> Iterator[BinaryIO | None]:
    """``path`` opened, when it is still the file of identity ``origin`` (``_identity``); else None."""
    try:
        handle = path.open("rb")
    except OSError:
        yield None
        return
    with handle:
        yield handle if origin == _identity(os.fstat(handle.fileno())) else None


def save_cache(
    folder: Path, config: Config, cache: Cache, previous: Cache | None = None, *, staged: Staged | None = None,
    snapshot: bytes | None = None, report: str | None = None,
) -> None:
    """Write the cache atomically (a temp file, then rename), and the ``snapshot`` that goes with it.

    ``staged`` holds the entry blocks ``stage_entries`` wrote (then
    ``cache.entries`` is not looked at); without it they are written here.
    ``snapshot`` is a ``pack_snapshot``, ``report`` the ``encode_report`` of
    ``cache.report``, when the caller made them while feeds rendered. The
    snapshot is put in place first, naming a token that only the new cache
    file carries: whatever stops the build in between, a snapshot is never
    used with a cache file it was not saved with.
    """
    if staged is None:
        staged = stage_entries(folder, tuple(cache.entries[s] for s in sorted(cache.entries)), previous)
    tmp = folder / f".tmp-{os.getpid()}-{FILE}"
    try:
        token = _save_snapshot(folder, snapshot) if snapshot is not None else ""
        if not token:
            (folder / SNAPSHOT).unlink(missing_ok=True)
        with tmp.open("wb") as handle:
            handle.write(_dumps({"format": FORMAT, "version": VERSION, "layout": LAYOUT,
                                 "key": config_key(config), "stamp": cache.stamp, "snapshot": token,
                                 "scanned_ns": cache.scanned_ns}).encode())
            handle.write(_extra_prefix(cache.outputs, cache.slugs).encode())
            # Megabytes at 100k files (every finding of the report): written a slice at a time, so
            # neither a newline appended nor the UTF-8 encoding copies all of it at once.
            text = encode_report(cache.report) if report is None else report
            for start in range(0, len(text), _SLICE):
                handle.write(text[start : start + _SLICE].encode())
            del text
            handle.write(b"}\n")
            with staged.path.open("rb") as blocks:
                copy_range(blocks.fileno(), handle, 0, os.fstat(blocks.fileno()).st_size)
        os.replace(tmp, folder / FILE)
        for old in _OLD_FILES:
            (folder / old).unlink(missing_ok=True)
    finally:
        staged.path.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)


def _extra_prefix(outputs: Mapping[str, Output], slugs: Mapping[str, str]) -> str:
    """The second line of a cache file up to its report (the report, then ``}``, follow)."""
    records = {p: [o.fingerprint, o.size, o.mtime_ns] for p, o in sorted(outputs.items())}
    return f'{{"outputs":{_ENCODER.encode(records)},"slugs":{_ENCODER.encode(dict(slugs))},"report":'


def encode_report(report: Mapping[str, Any]) -> str:
    """``report`` as the cache file holds it (JSON)."""
    return _ENCODER.encode(dict(report))


def pack_snapshot(snapshot: Snapshot) -> bytes:
    """``snapshot`` (its ``blocks`` those of the cache file it goes with) as ``save_cache`` writes it."""
    import pickle  # only a build that saves its plan needs it

    return pickle.dumps((
        "\0".join(snapshot.sources), snapshot.numbers.tobytes(),
        tuple((w.family, w.name, w.path, w.title, w.length, w.items) for w in snapshot.windows),
        tuple(sorted(_packed_records(snapshot.articles).items())), snapshot.newest_rest,
        tuple(sorted(snapshot.shared)), array.array("q", sorted(snapshot.dates)).tobytes(),
        tuple(sorted(snapshot.given_ids)), snapshot.blocks,
    ), protocol=5)


def _packed_records(articles: Mapping[str, Article]) -> dict[str, bytes]:
    """Each record's bytes: ``Records.packed``, for the records of a full build's plan too."""
    return (articles if isinstance(articles, Records) else Records({}, articles)).packed()


def _save_snapshot(folder: Path, payload: bytes) -> str:
    """Write a ``pack_snapshot`` atomically; the token that names it."""
    token = os.urandom(12).hex()
    tmp = folder / f".tmp-{os.getpid()}-{SNAPSHOT}"
    try:
        with tmp.open("wb") as handle:
            handle.write(_dumps({"format": SNAPSHOT_FORMAT, "version": VERSION, "layout": LAYOUT,
                                 "token": token}).encode())
            handle.write(_FRAME.pack(len(payload), _digest(payload)))
            handle.write(payload)
        os.replace(tmp, folder / SNAPSHOT)
    finally:
        tmp.unlink(missing_ok=True)
    return token


def load_snapshot(folder: Path, cache: Cache) -> Snapshot | None:
    """The snapshot saved with ``cache`` (read with ``entries=False``), with the index of its blocks.

    None when there is none, or when it was saved with another cache file
    (a build stopped between the two renames). Raises CacheError for a file
    that is not a snapshot of this version, or whose contents are not what
    this version writes.
    """
    if not cache.token:
        return None
    with _headed(folder / SNAPSHOT, SNAPSHOT_FORMAT, f"feeds snapshot ({SNAPSHOT})") as opened:
        if opened is None:
            return None
        handle, header = opened
        try:
            if header.get("token") != cache.token:
                return None
            length, digest = _FRAME.unpack(handle.read(_FRAME.size))
            payload = handle.read(length + 1)
            if len(payload) != length or _digest(payload) != digest:
                raise ValueError(f"{SNAPSHOT} does not match its digest")
            return _snapshot(_unpickler()(io.BytesIO(payload)).load())
        except CacheError:
            raise
        except Exception as exc:  # whatever a foreign pickle raises: never trusted
            raise CacheError(f"corrupt {SNAPSHOT} ({exc})") from exc


def _snapshot(value: Any) -> Snapshot:
    """A snapshot's payload, checked to be exactly what ``_save_snapshot`` writes."""
    joined, numbers, windows, articles, newest_rest, shared, dates, given_ids, blocks = value
    sources = tuple(_str(joined).split("\0")) if joined else ()
    counts = array.array("q")
    counts.frombytes(numbers if type(numbers) is bytes else b"\0")  # bytes of another length: refused below
    if len(counts) != 2 * len(sources) or len(set(sources)) != len(sources):
        raise ValueError("paths and stamps that do not match")
    by_source = {_str(s): _bytes(b) for s, b in map(_pair, _tuple(articles))}  # each checked when read (Records)
    if len(by_source) != len(articles):
        raise ValueError("a record twice")
    kept = tuple(Window(_str(f), _str(n), _str(p), _str(t), _int(length), _str_tuple(items))
                 for f, n, p, t, length, items in _tuple(windows))
    if any(s not in by_source for w in kept for s in w.items):
        raise ValueError("a feed item without its record")
    index = tuple((_int(size), _str(first), _str(last)) for size, first, last in _tuple(blocks))
    days = array.array("q")
    days.frombytes(dates if type(dates) is bytes else b"\0")  # not bytes, or another length: refused
    return Snapshot(sources, counts, kept, Records(by_source), _utc_or_none(newest_rest),
                    frozenset(_utc_or_none(d) for d in _tuple(shared)), frozenset(days),
                    frozenset(_str_tuple(given_ids)), index)


def _tuple(value: Any) -> tuple[Any, ...]:
    if type(value) is not tuple:
        raise TypeError(f"expected a tuple, got {type(value).__name__}")
    return value


def _pair(value: Any) -> tuple[Any, Any]:
    if len(_tuple(value)) != 2:
        raise TypeError("expected a pair")
    return value[0], value[1]


def _bytes(value: Any) -> bytes:
    if type(value) is not bytes:
        raise TypeError(f"expected bytes, got {type(value).__name__}")
    return value


def _str_tuple(value: Any) -> tuple[str, ...]:
    return tuple(map(_str, _tuple(value)))


def _utc_or_none(value: Any) -> Any:
    if value is not None and (type(value) is not datetime or value.tzinfo is not UTC):
        raise TypeError("a time that is not UTC")
    return value


def _identity(info: os.stat_result) -> tuple[int, int, int]:
    return info.st_size, info.st_mtime_ns, info.st_ino


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_SLICE = 1 << 18  # characters written at once


def _dumps(value: object) -> str:
    return _ENCODER.encode(value) + "\n"


def finding_json(f: Finding) -> list[str]:
    return [f.file, f.level, f.code, f.message]


def finding_from_json(value: Any) -> Finding:
    file, level, code, message = value
    if level not in _LEVELS:
        raise ValueError(f"level {level!r}")
    return Finding(_str(file), level, _str(code), _str(message))


def _report(value: Any) -> dict[str, Any]:
    """A build's report as ``save_cache`` wrote it, every field checked: a rebuild replays it, or adds to it."""
    report = _dict(value)
    for key in ("files", "published", "drafts"):
        _int(report[key])
    for code, count in _dict(report["skipped"]).items():
        _str(code)
        _int(count)
    for key in ("findings", "future"):
        if not isinstance(report[key], list):
            raise TypeError(f"{key}: expected a list, got {type(report[key]).__name__}")
    for source, when in report["future"]:
        _str(source)
        datetime.fromisoformat(_str(when))
    return report


def _outputs(value: Any) -> dict[str, Output]:
    return {_str(p): Output(_str(f), _int(s), _int(m)) for p, (f, s, m) in _dict(value).items()}


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
