"""Findings about usable articles (warnings and info) for build and check; pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime

from feeds.config import Config
from feeds.loader import LoadResult
from feeds.models import Article, Finding

OLDEST = datetime(1995, 1, 1, tzinfo=UTC)
LEVELS = ("error", "warning", "info")


def findings_of(
    load: LoadResult, config: Config, now: datetime, known_slugs: Mapping[str, str] | None = None
) -> list[Finding]:
    """What a build and ``feeds check`` both report, by file, errors first."""
    found = list(load.findings) + review(load.articles, config, known_slugs or {})
    return ordered(found + future_findings(((a.source, a.published) for a in load.articles), now))


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.file, LEVELS.index(f.level), f.code))


def review(articles: Sequence[Article], config: Config, known_slugs: Mapping[str, str]) -> list[Finding]:
    """Everything suspicious about ``articles`` that does not depend on the clock."""
    found = [f for a in articles for f in article_findings(a)]
    found += _duplicates(articles, config)
    found += _slug_clashes(articles, config, known_slugs)
    return found


def future_findings(dated: Iterable[tuple[str, datetime]], now: datetime) -> list[Finding]:
    """Articles dated after ``now``: the one finding that changes with the clock."""
    return [Finding(src, "warning", "future-date", f"date: {_iso(when)} is in the future")
            for src, when in dated if when > now]


def article_findings(article: Article) -> Iterator[Finding]:
    """What is said about ``article`` alone (its draft flag, date, author, categories)."""
    src = article.source
    if article.draft:
        yield Finding(src, "info", "draft", "draft: in no feed until published")
    if article.published < OLDEST:
        yield Finding(src, "warning", "old-date", f"date: {_iso(article.published)} is before 1995")
    if article.author is None:
        yield Finding(src, "warning", "missing-author", "author: missing (the site author is used)")
    if not article.categories:
        yield Finding(src, "warning", "missing-categories", "categories: none (only in the all-articles feeds)")


def _duplicates(articles: Sequence[Article], config: Config) -> Iterator[Finding]:
    """Repeated ids, and repeated (title, date) pairs."""
    from feeds.plan import repeated_ids, repeats  # not for a build with nothing to do, which replays its findings

    for ident, sources in repeated_ids(articles, config).items():
        for src in sources:
            others = ", ".join(s for s in sources if s != src)
            yield Finding(src, "warning", "duplicate-id",
                          f"id {ident!r} is also used by {others}; feeds carry only the newest of them")
    for (title, _), sources in repeats(articles, lambda a: (a.title, a.published)).items():
        for src in sources:
            others = ", ".join(s for s in sources if s != src)
            yield Finding(src, "warning", "duplicate-title", f"same title and date as {others}: {title!r}")


def _slug_clashes(
    articles: Sequence[Article], config: Config, known_slugs: Mapping[str, str]
) -> Iterator[Finding]:
    for family in config.families:
        yield from _family_clashes(articles, family, config, known_slugs)


_PLURAL = {"category": ("categories", "category_slugs"), "tag": ("tags", "tag_slugs"),
           "author": ("authors", "author_slugs")}


def _family_clashes(
    articles: Sequence[Article], family: str, config: Config, known_slugs: Mapping[str, str]
) -> Iterator[Finding]:
    from feeds.plan import names_of
    from feeds.slugs import natural_slugs

    first_use: dict[str, str] = {}
    for a in articles:
        for name in names_of(a, family):
            first_use.setdefault(name, a.source)
    natural = natural_slugs(first_use, known_slugs)
    overrides = config.slug_overrides(family)
    groups: dict[str, list[str]] = defaultdict(list)
    for name in first_use:
        groups[overrides.get(name) or natural[name]].append(name)
    plural, table = _PLURAL[family]
    for slug, names in groups.items():
        if len(names) > 1:
            listed = ", ".join(repr(n) for n in sorted(names))
            for name in sorted(names):
                yield Finding(
                    first_use[name], "warning", "slug-clash",
                    f"{plural} {listed} all slugify to {slug!r}; each gets its own feed, "
                    f"set [{table}] to choose the slugs",
                )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
