"""`feeds build` as a library call: load, render, write; returns a report."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from feeds.config import Config
from feeds.errors import FeedsError
from feeds.loader import LoadResult, load_articles
from feeds.models import Finding
from feeds.output import WriteReport, output_lock, read_manifest, write_tree
from feeds.review import findings_of
from feeds.site import render_site


class StrictError(FeedsError):
    """``--strict`` and some article had an error: nothing is written."""


class EmptyError(FeedsError):
    """No article to publish while feeds are published: kept unless allowed."""


@dataclass(frozen=True)
class BuildReport:
    load: LoadResult
    write: WriteReport
    findings: tuple[Finding, ...]  # errors and warnings, by file; as `feeds check`
    seconds: float

    def summary(self) -> str:
        load, write = self.load, self.write
        skipped = Counter(f.code for f in load.errors)
        reasons = ", ".join(f"{code} {n}" for code, n in sorted(skipped.items()))
        skipped_text = f"{len(load.errors)} skipped" + (f" ({reasons})" if reasons else "")
        return (
            f"feeds: {load.files} files read, {len(load.published)} published, "
            f"{skipped_text}, {_plural(load.drafts, 'draft')}; {len(write.written)} files written, "
            f"{len(write.unchanged)} unchanged, {len(write.removed)} removed in {self.seconds:.2f} s"
        )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def build(
    config: Config, *, strict: bool = False, allow_empty: bool = False,
    lock_timeout: float = 30.0, now: datetime | None = None,
) -> BuildReport:
    """Build every feed of ``config`` into ``config.output``.

    ``now`` only decides which dates are reported as in the future; no output
    byte depends on it.
    """
    start = time.perf_counter()
    with output_lock(config.output, lock_timeout):
        load = load_articles(config)
        _refuse(load, config, strict=strict, allow_empty=allow_empty)
        files = render_site(load.published, config)
        written = write_tree(files, config.output)
    found = findings_of(load, config, now or datetime.now(UTC))
    reported = tuple(f for f in found if f.level != "info")
    return BuildReport(load, written, reported, time.perf_counter() - start)


def _refuse(load: LoadResult, config: Config, *, strict: bool, allow_empty: bool) -> None:
    if strict and load.errors:
        raise StrictError(
            str(config.content),
            f"--strict: {len(load.errors)} article(s) have errors; nothing written",
        )
    if not load.published and not allow_empty and read_manifest(config.output):
        raise EmptyError(
            str(config.content),
            f"no article to publish; the feeds in {config.output} are kept "
            "(pass --allow-empty to publish empty feeds)",
        )
