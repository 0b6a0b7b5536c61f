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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO

from feeds import __version__
from feeds.config import Config
from feeds.loader import FileEntry, Stamp
from feeds.models import Article, Author, Finding

FORMAT = "feeds-cache"
VERSION = 3
FILE = "cache.bin"
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


def config_key(config: Config) -> str:
    """Changes whenever the config or the program could change any output.

    Folders count as absolute paths: ``--output public`` run from the site's
    folder (cron) and ``--output /srv/site/public`` (by hand) share a cache.
    """
    same = replace(config, content=Path(os.path.abspath(config.content)), output=Path(os.path.abspath(config.output)),
                   cache=Path(os.path.abspath(config.cache)) if config.cache is not None else None)
    return hashlib.sha256(f"{VERSION}\0{__version__}\0{same!r}".encode()).hexdigest()[:32]


def folder_stamp(scanned: Sequence[tuple[str, str, Stamp | None]]) -> str:
    """A digest of every (path, size, mtime) ``scan`` found: the same digest, the same folder.

    The paths joined by NUL (which no path holds), then the numbers as
    8-byte integers: two passes in C-speed comprehensions, not a formatted
    line per file (a third of the time, which every cron run spends).
    """
    digest = hashlib.sha256("\0".join([source for source, _, _ in scanned]).encode())
    numbers = [n for _, _, st in scanned for n in ((st.size, st.mtime_ns) if st is not None else (-1, -1))]
    digest.update(array.array("q", numbers).tobytes())
    return digest.hexdigest()[:32]


def load_cache(folder: Path, config: Config, *, entries: bool = True) -> Cache | None:
    """The cache in ``folder``, or None when there is none or it belongs to another config.

    Raises CacheError for a file that is not a cache of this version.
    With ``entries=False`` only the header and report are read (fast); with
    entries, the report (only a build with nothing to do replays it) is left out.
    """
    try:
        handle = (folder / FILE).open("rb")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CacheError(f"cannot read: {exc.strerror or exc}") from exc
    with handle:
        try:
            header = json.loads(handle.readline())
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise CacheError("not a feeds cache")
            if header.get("version") != VERSION or header.get("layout") != LAYOUT:
                raise CacheError(f"cache format {header.get('version')!r}, expected {VERSION}")
            if header.get("key") != config_key(config):
                return None  # another config or program version: a full build
            extra = json.loads(handle.readline())
            blocks = tuple(_blocks(handle)) if entries else ()
            return Cache(_str(header["stamp"]), _entries(blocks), _outputs(extra["outputs"]),
                         _str_map(extra["slugs"]), {} if entries else _dict(extra["report"]),
                         _identity(os.fstat(handle.fileno())), blocks)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, EOFError) as exc:
            raise CacheError(f"corrupt ({exc})") from exc


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
        a = e.article
        if a is not None and (
            type(a) is not Article or a.source != e.source or type(a.title) is not str or a.body is not None
            or type(a.published) is not datetime or a.published.tzinfo is not UTC
            or (a.updated is not None and (type(a.updated) is not datetime or a.updated.tzinfo is not UTC))
            or type(a.categories) is not tuple or type(a.tags) is not tuple or type(a.draft) is not bool
            or (a.author is not None and type(a.author) is not Author)
            or not _none_or_text(a.permalink, a.given_id, a.image, a.thumbnail, a.summary, *a.categories, *a.tags)
        ):
            raise TypeError(f"{e.source!r}: not an article without body, with UTC times and text fields")
        last = e.source
    return value


_LEVELS = frozenset({"error", "warning", "info"})


def _none_or_text(*values: Any) -> bool:
    for value in values:  # noqa: SIM110 - a loop, not a generator per record
        if value is not None and type(value) is not str:
            return False
    return True


def stage_entries(folder: Path, entries: Sequence[FileEntry], previous: Cache | None = None,
                  packed: Sequence[tuple[tuple[FileEntry, ...], bytes]] = ()) -> Path:
    """Write the entry blocks of a cache to a temp file in ``folder``; ``save_cache`` puts them in place.

    The slow half of saving (100k entries), apart so that it can run while
    feeds render. A run of entries that is exactly a block ``previous`` read
    (the very records) is copied as the bytes it was read from, when the old
    file is still in place and unchanged; a run that is exactly one of
    ``packed`` (records and the ``pack_block`` bytes made of them) is written
    as those bytes; the others are pickled afresh. Entries without a stamp
    are left out: they cannot be recognised next time.
    """
    folder.mkdir(parents=True, exist_ok=True)
    mine = f".tmp-{os.getpid()}-"
    for stale in folder.glob(".tmp-*"):  # left by a build that was killed
        if not stale.name.startswith(mine):
            stale.unlink(missing_ok=True)
    staged = folder / f"{mine}entries"
    with staged.open("wb") as handle, _old_file(folder / FILE, previous) as old:
        starts = {id(b.entries[0]): b for b in previous.blocks} if old is not None and previous else {}
        made = {id(run[0]): (run, payload) for run, payload in packed if run and all(e.stamp for e in run)}
        fresh: list[FileEntry] = []
        at = 0
        while at < len(entries):
            block = starts.get(id(entries[at]))
            if block is not None and _same(entries, at, block.entries):
                _write_block(handle, fresh)
                handle.write(os.pread(old.fileno(), block.size, block.offset))  # type: ignore[union-attr]
                at += len(block.entries)
                continue
            run, payload = made.get(id(entries[at]), ((), b""))
            if run and _same(entries, at, run):
                _write_block(handle, fresh)
                _write_payload(handle, payload)
                at += len(run)
                continue
            if entries[at].stamp is not None:
                fresh.append(entries[at])
                if len(fresh) == _BLOCK:
                    _write_block(handle, fresh)
            at += 1
        _write_block(handle, fresh)
    return staged


def _same(entries: Sequence[FileEntry], at: int, block: tuple[FileEntry, ...]) -> bool:
    """``entries[at:]`` starts with the very records of ``block``."""
    run = entries[at : at + len(block)]
    return len(run) == len(block) and all(map(operator.is_, run, block))


def _write_block(handle: BinaryIO, fresh: list[FileEntry]) -> None:
    """Pickle ``fresh`` as one block, and empty it."""
    if fresh:
        _write_payload(handle, pack_block(fresh))
        fresh.clear()


def _write_payload(handle: BinaryIO, payload: bytes) -> None:
    handle.write(_FRAME.pack(len(payload), _digest(payload)))
    handle.write(payload)


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
    """``path`` opened, when it is still the file ``previous`` was read from."""
    if previous is None or not previous.blocks:
        yield None
        return
    try:
        handle = path.open("rb")
    except OSError:
        yield None
        return
    with handle:
        yield handle if previous.origin == _identity(os.fstat(handle.fileno())) else None


def save_cache(
    folder: Path, config: Config, cache: Cache, previous: Cache | None = None, *, staged: Path | None = None
) -> None:
    """Write the cache atomically (a temp file, then rename).

    ``staged`` holds the entry blocks ``stage_entries`` wrote (then
    ``cache.entries`` is not looked at); without it they are written here.
    """
    if staged is None:
        staged = stage_entries(folder, tuple(cache.entries[s] for s in sorted(cache.entries)), previous)
    tmp = folder / f".tmp-{os.getpid()}-{FILE}"
    try:
        with tmp.open("wb") as handle:
            handle.write(_dumps({"format": FORMAT, "version": VERSION, "layout": LAYOUT,
                                 "key": config_key(config), "stamp": cache.stamp}).encode())
            outputs = {p: [o.fingerprint, o.size, o.mtime_ns] for p, o in sorted(cache.outputs.items())}
            # Megabytes at 100k files (every finding of the report): written a slice at a time, so
            # neither a newline appended nor the UTF-8 encoding copies all of it at once.
            extra = _ENCODER.encode({"outputs": outputs, "slugs": dict(cache.slugs), "report": dict(cache.report)})
            for start in range(0, len(extra), _SLICE):
                handle.write(extra[start : start + _SLICE].encode())
            del extra
            handle.write(b"\n")
            with staged.open("rb") as blocks:
                while chunk := blocks.read(1 << 20):
                    handle.write(chunk)
        os.replace(tmp, folder / FILE)
        for old in _OLD_FILES:
            (folder / old).unlink(missing_ok=True)
    finally:
        staged.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)


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
