"""`feeds check`: report findings per file, write nothing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import groupby
from typing import TextIO

from feeds.config import Config
from feeds.loader import load_articles
from feeds.models import Finding
from feeds.review import LEVELS, findings_of


def collect_findings(config: Config, now: datetime | None = None, jobs: int = 1) -> list[Finding]:
    """Every finding of ``config.content``: what a build reports, plus info."""
    return findings_of(load_articles(config, jobs=jobs), config, now or datetime.now(UTC))


def exit_code(findings: Sequence[Finding]) -> int:
    totals = Counter(f.level for f in findings)
    return 2 if totals["error"] else 1 if totals["warning"] else 0


def format_json(findings: Sequence[Finding]) -> str:
    totals = Counter(f.level for f in findings)
    doc = {
        "findings": [
            {"file": f.file, "level": f.level, "code": f.code, "message": f.message} for f in findings
        ],
        "totals": {level: totals[level] for level in LEVELS},
    }
    return json.dumps(doc, ensure_ascii=False, indent=2)


def format_table(findings: Sequence[Finding], content: str) -> str:
    lines: list[str] = []
    code_width = max((len(f.code) for f in findings), default=0)
    for file, group in groupby(findings, key=lambda f: f.file):
        lines.append(f"{content}/{file}")
        lines += [f"  {f.level:<7}  {f.code:<{code_width}}  {f.message}" for f in group]
    lines.append(_total(findings))
    return "\n".join(lines)


def _total(findings: Sequence[Finding]) -> str:
    totals = Counter(f.level for f in findings)
    files = len({f.file for f in findings})
    counts = ", ".join(f"{totals[level]} {level}{'s' if totals[level] != 1 and level != 'info' else ''}"
                       for level in LEVELS)
    return f"{files} file{'s' if files != 1 else ''} with findings: {counts}"


def run_check(
    config: Config, *, as_json: bool, out: TextIO, now: datetime | None = None, jobs: int = 1
) -> int:
    findings = collect_findings(config, now, jobs)
    text = format_json(findings) if as_json else format_table(findings, config.content.as_posix())
    print(text, file=out)
    return exit_code(findings)
