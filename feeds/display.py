"""What a person at a terminal sees during and after a build (rich).

Only the CLI uses this, and only when stderr is a terminal: cron and pipes
get plain lines. rich is imported here and nowhere else.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from feeds.build import BuildReport, primary_count

SHOW_FROM = 200  # files to parse before a progress bar is worth showing


class TerminalProgress:
    """A transient progress bar while articles are parsed, if there are many."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._console = Console(file=stream, stderr=stream is sys.stderr)
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def start(self, total: int) -> None:
        if total < SHOW_FROM:
            return
        self._bar = Progress(
            TextColumn("读取文章"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=self._console, transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("parse", total=total)

    def advance(self, done: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, done)

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()


def summary_table(report: BuildReport) -> Table:
    """The build summary as a table: articles on the left, files on the right."""
    c, w = report.counts, report.write
    table = Table(title=f"feeds build · {report.seconds:.2f} s", show_header=False, title_justify="left")
    for _ in range(4):
        table.add_column()
    skipped = sum(c.skipped.values())
    reasons = ", ".join(f"{code} {n}" for code, n in c.skipped.items())
    rows = [
        ("articles read", c.files, "files written", primary_count(w.written)),
        ("published", c.published, "unchanged", primary_count(w.unchanged)),
        ("skipped" + (f" ({reasons})" if reasons else ""), skipped, "removed", primary_count(w.removed)),
        ("drafts", c.drafts, "", ""),
    ]
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    return table


def print_summary(report: BuildReport, stream: TextIO = sys.stderr) -> None:
    Console(file=stream, stderr=stream is sys.stderr).print(summary_table(report))
