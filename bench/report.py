"""Medians, ratios against the issue's targets, the machine, and RESULTS.md."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from builds import ADD, COLD, DEFAULT, EDIT, FULL, HUGO, LABELS, NOCHANGE, SizeResult
from common import GNU_TIME, REPO, output_of
from serving import CASES, TARGETS, ServeResult

RSS_LIMIT_MIB = 250.0
RSS_TARGET_FROM = 100_000  # articles: the peak RSS target applies from this size on
# The sizes the issue sets each build target at; at other sizes the ratio is shown, with no verdict.
COLD_TARGET_AT = (10_000, 100_000)
REBUILD_TARGET_AT = (10_000,)


@dataclass(frozen=True, slots=True)
class Target:
    what: str
    value: float | None  # None: could not be measured
    limit: float
    at_least: bool = False  # else: at most
    set_at: str = ""  # not empty: the issue sets this target only at another size (named here)

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "not measured"
        if self.set_at:
            return f"(no target here: the issue sets it at {self.set_at})"
        met = self.value >= self.limit if self.at_least else self.value <= self.limit
        return "met" if met else "MISSED"

    def row(self) -> list[str]:
        value = "—" if self.value is None else f"{self.value:.3f}"
        return [self.what, value, f"{'≥' if self.at_least else '≤'} {self.limit:g}", self.verdict]


def median_wall(result: SizeResult, key: str) -> float | None:
    samples = result.samples.get(key)
    return statistics.median(s.wall for s in samples) if samples else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def build_targets(result: SizeResult) -> list[Target]:
    n = f"{result.articles:,} articles"
    cold = median_wall(result, COLD)
    targets = []
    cold_at = "" if result.articles in COLD_TARGET_AT else " and ".join(f"{a:,}" for a in COLD_TARGET_AT)
    rebuild_at = "" if result.articles in REBUILD_TARGET_AT else " and ".join(f"{a:,}" for a in REBUILD_TARGET_AT)
    if HUGO in result.samples:
        targets.append(Target(f"{n}: ours cold / Hugo", _ratio(cold, median_wall(result, HUGO)), 0.6,
                              set_at=cold_at))
    targets.append(Target(f"{n}: no-change / ours cold", _ratio(median_wall(result, NOCHANGE), cold), 0.1,
                          set_at=rebuild_at))
    targets.append(Target(f"{n}: one-edit / ours cold", _ratio(median_wall(result, EDIT), cold), 0.2,
                          set_at=rebuild_at))
    if result.articles >= RSS_TARGET_FROM:
        ours = [s.rss_kb for key in (COLD, NOCHANGE, EDIT, ADD, FULL, DEFAULT) for s in result.samples.get(key, [])]
        peak = max(ours) / 1024 if ours else None
        targets.append(Target(f"{n}: peak RSS of our builds, MiB (largest run)", peak, RSS_LIMIT_MIB))
    return targets


def serve_targets(result: ServeResult) -> list[Target]:
    out = []
    for case, limit in TARGETS.items():
        app, nginx = result.loads.get(("app", case)), result.loads.get(("nginx", case))
        value = app.rps / nginx.rps if app and nginx and nginx.rps else None
        out.append(Target(f"serving {case}: app / nginx req/s", value, limit, at_least=True))
    return out


# --- tables ----------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def build_table(results: Sequence[SizeResult]) -> list[str]:
    rows = []
    for result in results:
        for key in (COLD, NOCHANGE, EDIT, ADD, FULL, DEFAULT, HUGO):
            samples = result.samples.get(key)
            if not samples:
                continue
            walls = [s.wall for s in samples]
            rows.append([
                f"{result.articles:,}", LABELS[key], f"{statistics.median(walls):.3f}",
                f"{min(walls):.3f}–{max(walls):.3f}", f"{statistics.median(s.cpu for s in samples):.2f}",
                f"{statistics.median(s.rss_kb for s in samples) / 1024:.1f}",
                f"{max(s.rss_kb for s in samples) / 1024:.1f}", str(len(samples)),
            ])
    headers = ["articles", "run", "median wall s", "min–max s", "median CPU s", "median peak RSS MiB",
               "max peak RSS MiB", "runs"]
    return table(headers, rows)


def serve_table(result: ServeResult) -> list[str]:
    rows = []
    for case in CASES:
        app, nginx = result.loads.get(("app", case)), result.loads.get(("nginx", case))
        ratio = f"{app.rps / nginx.rps:.3f}" if app and nginx and nginx.rps else "—"
        rounds = result.ratios(case)
        spread = f"{min(rounds):.3f}–{max(rounds):.3f}" if rounds else "—"
        rows.append([
            case, f"{app.rps:,.0f}" if app else "—", f"{nginx.rps:,.0f}" if nginx else "—", ratio, spread,
            app.note if app else "—", nginx.note if nginx else "—",
        ])
    return table(["case", "app req/s (median)", "nginx req/s (median)", "app / nginx", "round by round",
                  "app answer", "nginx answer"], rows)


def target_table(targets: Sequence[Target]) -> list[str]:
    return table(["target", "value", "limit", "verdict"], [t.row() for t in targets])


# --- the machine -----------------------------------------------------------------------


def machine(load_at_start: str) -> dict[str, str]:
    return {
        "platform": platform.platform(),
        "nproc": output_of(["nproc"]) or str(os.cpu_count()),
        "CPU": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "?",
        "memory": _memory(),
        "load average (1, 5, 15 min) at the start": load_at_start,
        "load average at the end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _proc_field(path: str, name: str) -> str | None:
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def _memory() -> str:
    total = _proc_field("/proc/meminfo", "MemTotal")
    if not total or not total.split()[0].isdigit():
        return "?"
    return f"{int(total.split()[0]) / 1024 / 1024:.1f} GiB"


def repo_revision() -> str:
    head = output_of(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]) or "?"
    status = output_of(["git", "--no-optional-locks", "-C", str(REPO), "status", "--porcelain",
                        "--untracked-files=no"])
    return head + (" + uncommitted changes" if status else "")


def time_version() -> str:
    return (output_of([str(GNU_TIME), "--version"]).splitlines() or ["?"])[0]


# --- RESULTS.md ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Report:
    command: str
    started: datetime
    seconds: float
    load_at_start: str  # os.getloadavg() when the run began: this machine is shared
    repeat: int
    versions: dict[str, str]
    results: Sequence[SizeResult]
    serve: ServeResult | None
    serve_skipped: str | None
    notes: Sequence[str]
    revision: str  # repo_revision() as the run installed (or found) the package it times


def targets_of(report: Report) -> list[Target]:
    targets = [t for result in report.results for t in build_targets(result)]
    return targets + (serve_targets(report.serve) if report.serve else [])


def summary_lines(report: Report) -> list[str]:
    """The tables, as printed at the end of a run and written into RESULTS.md."""
    lines = [f"## Builds (medians of {report.repeat} interleaved runs)", "", *build_table(report.results), ""]
    if report.serve:
        s = report.serve
        lines += [f"## Serving ({s.articles:,} articles; `{s.path}`, {s.size:,} bytes, "
                  f"{'with' if s.gz_on_disk else 'no'} .gz beside it; wrk -t2 -c50 -d{s.seconds}s, "
                  f"{s.rounds} rounds)", "",
                  *serve_table(s), ""]
    elif report.serve_skipped:
        lines += ["## Serving", "", f"Skipped: {report.serve_skipped}", ""]
    return [*lines, "## Targets", "", *target_table(targets_of(report)), ""]


def markdown(report: Report) -> str:
    lines = [
        "# Benchmark results", "",
        f"- date: {report.started.strftime('%Y-%m-%d %H:%M:%S %Z').strip()}",
        f"- command: `{report.command}` (from the repository root)",
        f"- runtime: {report.seconds:.0f} s",
        f"- repository: {report.revision}", "",
        "## Machine", "", *(f"- {k}: {v}" for k, v in machine(report.load_at_start).items()), "",
        "## Tools", "", *(f"- {k}: {v}" for k, v in report.versions.items()), "",
        *summary_lines(report),
        "## Notes", "", *(f"- {note}" for note in report.notes), "",
    ]
    return "\n".join(lines)


def write(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(report), encoding="utf-8")
