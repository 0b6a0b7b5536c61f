"""Read every article under the content folder (the I/O half of parsing).

Hostile folders are expected: broken or looping symlinks, symlinks out of the
folder, FIFOs, empty and binary files. Each becomes one finding naming the
file; nothing here follows a link out of the content folder or blocks.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from feeds.config import Config
from feeds.errors import ArticleError, ConfigError
from feeds.models import Article, Finding
from feeds.parser import decode_article, parse_article

_SNIFF = 8192  # bytes looked at to tell binary files from text


@dataclass(frozen=True)
class LoadResult:
    articles: tuple[Article, ...]  # every usable article, drafts included
    findings: tuple[Finding, ...]  # errors (skipped files) and warnings, by file
    files: int  # files looked at

    @property
    def published(self) -> tuple[Article, ...]:
        return tuple(a for a in self.articles if not a.draft)

    @property
    def drafts(self) -> int:
        return sum(1 for a in self.articles if a.draft)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "error")


def iter_sources(content: Path, skip: Path | None = None) -> Iterator[tuple[str, Path]]:
    """(relative '/'-path, path) of every non-hidden entry, sorted, recursively.

    Folders are entered, except hidden ones, symlinked ones (yielded instead,
    so that they are reported) and ``skip`` (the output folder, when it lies
    inside the content folder).
    """
    if not content.is_dir():
        raise ConfigError(str(content), "content folder does not exist or is not a folder")
    skip_real = os.path.realpath(skip) if skip is not None else None
    for root, dirs, files in os.walk(content):
        entered: list[str] = []
        linked: list[str] = []
        for d in sorted(dirs):
            full = os.path.join(root, d)
            if d.startswith(".") or (os.path.realpath(full) == skip_real and not os.path.islink(full)):
                continue
            (linked if os.path.islink(full) else entered).append(d)
        dirs[:] = entered
        for name in sorted(files + linked):
            if not name.startswith("."):
                path = Path(root, name)
                yield path.relative_to(content).as_posix(), path


def read_source(path: Path, source: str, root: str, limit: int) -> bytes:
    """The bytes of one article file, or an ArticleError saying why not."""
    _check_link(path, source, root)
    try:
        info = path.stat()
    except OSError as exc:
        raise _stat_error(exc, path, source) from None
    if stat.S_ISDIR(info.st_mode):
        raise ArticleError(source, "a symlinked folder (not followed)", "not-a-file")
    if not stat.S_ISREG(info.st_mode):
        raise ArticleError(source, "not a regular file (a FIFO, socket or device)", "not-a-file")
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ArticleError(source, f"cannot read: {exc.strerror or exc}", "unreadable") from exc
    return _checked(data[:limit] if len(data) > limit else data, source, truncated=len(data) > limit)


def _check_link(path: Path, source: str, root: str) -> None:
    if not path.is_symlink():
        return
    real = os.path.realpath(path)
    if os.path.commonpath([real, root]) != root:
        raise ArticleError(source, "symlink points outside the content folder (not followed)", "symlink-outside")


def _stat_error(exc: OSError, path: Path, source: str) -> ArticleError:
    if exc.errno == errno.ELOOP:
        return ArticleError(source, "symlink loop", "broken-symlink")
    if exc.errno == errno.ENOENT and path.is_symlink():
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


def load_article(path: Path, source: str, config: Config, root: str) -> Article:
    """Read, decode and parse one file; every failure is an ArticleError."""
    limit = config.max_front_matter + config.max_body + 65536
    text, notes = decode_article(read_source(path, source, root, limit), source)
    article = parse_article(text, source, config)
    return replace(article, warnings=notes + article.warnings) if notes else article


def load_articles(config: Config) -> LoadResult:
    """Every article of ``config.content``; bad files become findings."""
    articles: list[Article] = []
    findings: list[Finding] = list(_output_inside(config))
    root = os.path.realpath(config.content)
    files = 0
    for source, path in iter_sources(config.content, skip=config.output):
        files += 1
        try:
            article = load_article(path, source, config, root)
        except ArticleError as exc:
            findings.append(Finding(source, "error", exc.code, exc.reason))
            continue
        articles.append(article)
        findings.extend(article.warnings)
    return LoadResult(tuple(articles), tuple(findings), files)


def _output_inside(config: Config) -> Iterator[Finding]:
    content, output = os.path.realpath(config.content), os.path.realpath(config.output)
    if output != content and os.path.commonpath([output, content]) == content:
        rel = os.path.relpath(output, content)
        yield Finding(rel, "warning", "output-inside-content",
                      "the output folder is inside the content folder; it is not read as articles")
