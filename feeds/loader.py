"""Read every article under the content folder (the I/O half of parsing)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from feeds.config import Config
from feeds.errors import ArticleError, ConfigError
from feeds.models import Article, Finding
from feeds.parser import decode_article, parse_article


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
    """(relative '/'-path, path) of every non-hidden file, sorted, recursively.

    ``skip`` (the output folder, when it lies inside the content folder) is
    not entered.
    """
    if not content.is_dir():
        raise ConfigError(str(content), "content folder does not exist or is not a folder")
    skip_real = os.path.realpath(skip) if skip is not None else None
    for root, dirs, files in os.walk(content):
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and os.path.realpath(os.path.join(root, d)) != skip_real
        )
        for name in sorted(files):
            if not name.startswith("."):
                path = Path(root, name)
                yield path.relative_to(content).as_posix(), path


def load_article(path: Path, source: str, config: Config) -> Article:
    """Read, decode and parse one file; every failure is an ArticleError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(source, f"cannot read: {exc.strerror or exc}", "unreadable") from exc
    text, notes = decode_article(data, source)
    article = parse_article(text, source, config)
    return replace(article, warnings=notes + article.warnings) if notes else article


def load_articles(config: Config) -> LoadResult:
    """Every article of ``config.content``; bad files become findings."""
    articles: list[Article] = []
    findings: list[Finding] = []
    files = 0
    for source, path in iter_sources(config.content, skip=config.output):
        files += 1
        try:
            article = load_article(path, source, config)
        except ArticleError as exc:
            findings.append(Finding(source, "error", exc.code, exc.reason))
            continue
        articles.append(article)
        findings.extend(article.warnings)
    return LoadResult(tuple(articles), tuple(findings), files)
