"""Command line: build / check / serve. The only place that picks exit codes."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feeds import __version__
from feeds.config import Config, load_config
from feeds.errors import FeedsError, LockError

if TYPE_CHECKING:
    from feeds.build import BuildReport
    from feeds.loader import Progress
    from feeds.models import Finding

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = _config(args)
        result: int = args.run(args, config)
        return result
    except LockError as exc:
        _err(f"error: {exc}")
        return EXIT_LOCKED
    except FeedsError as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, sized to the terminal only when it formats something.

    argparse makes one for every add_argument, only to check a metavar, and
    each asked for the terminal's size, the first importing shutil: some
    3 ms of every cron run, for help that is never printed.
    """

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None, **more: Any) -> None:  # more: what later Pythons pass (color …)
        super().__init__(prog, indent_increment, max_help_position, 80 if width is None else width, **more)
        self._asked = (indent_increment, max_help_position, width)

    def format_help(self) -> str:
        indent_increment, max_help_position, width = self._asked
        if width is None:  # what HelpFormatter.__init__ would have done
            import shutil

            self._width = shutil.get_terminal_size().columns - 2
            self._max_help_position = min(max_help_position, max(self._width - 20, indent_increment * 2))
        return super().format_help()


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser (and its subcommands' parsers) with ``_Formatter``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="feeds", description="RSS and Atom feeds from Hexo-style articles.")
    parser.add_argument("--version", action="version", version=f"feeds {__version__}")
    # prog given: argparse would format a usage line to find it, asking the terminal size
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", prog="feeds")
    b = sub.add_parser("build", help="write every feed into the output folder")
    _common(b)
    b.add_argument("--output", type=Path, metavar="DIR", help="output folder (default: [build] output)")
    b.add_argument("--strict", action="store_true", help="write nothing if any article has an error")
    b.add_argument("--allow-empty", action="store_true", help="publish empty feeds when no article is left")
    b.add_argument("--lock-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="how long to wait for another build's lock (default 30)")
    b.add_argument("--no-cache", action="store_true",
                   help="ignore the build cache: parse every file and render every feed")
    b.add_argument("-q", "--quiet", action="store_true",
                   help="print only problems: no progress bar, no summary")
    b.add_argument("-v", "--verbose", action="store_true", help="also list every file written or removed")
    b.add_argument("--no-ping", action="store_true",
                   help="do not notify the [websub] hub (e.g. when the output is uploaded later)")
    b.add_argument("--jobs", type=_jobs, default=os.cpu_count() or 1, metavar="N",
                   help="worker processes for parsing and rendering (default: the number of CPUs)")
    b.set_defaults(run=_run_build)
    c = sub.add_parser("check", help="report problems in the articles; write nothing")
    _common(c)
    c.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    c.add_argument("--jobs", type=_jobs, default=os.cpu_count() or 1, metavar="N",
                   help="worker processes for parsing (default: the number of CPUs)")
    c.set_defaults(run=_run_check, output=None)
    s = sub.add_parser("serve", help="serve the feeds over HTTP (development server)")
    _common(s)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.set_defaults(run=_run_serve, output=None)
    return parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=Path("config.toml"), metavar="FILE",
                   help="site config (default: ./config.toml)")
    p.add_argument("--content", type=Path, metavar="DIR", help="article folder (default: [build] content)")


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    return config.with_paths(content=args.content, output=args.output)


def _run_build(args: argparse.Namespace, config: Config) -> int:
    # A build allocates records by the hundred thousand and frees them by
    # reference counting: a 10k-article build leaves some 400 objects in
    # cycles (tests/test_build.py checks it grows with no file). The cycle
    # collector only walked the live records: 4-5% of a build, even with
    # thresholds raised to (50000, 20, 100). Worker processes inherit this.
    gc.disable()
    # The content folder is scanned in a child from here on, while this process imports the build.
    from feeds import prescan

    scanning = prescan.start(config.content, config.output) if args.jobs > 1 else None
    try:
        from feeds.build import build

        terminal = sys.stderr.isatty() and not args.quiet
        with _progress(terminal) as progress:
            report = build(config, strict=args.strict, allow_empty=args.allow_empty, lock_timeout=args.lock_timeout,
                           use_cache=not args.no_cache, jobs=args.jobs, progress=progress, prescan=scanning)
    finally:
        if scanning is not None:
            scanning.close()
    for notice in report.notices:
        _err(notice)
    if report.findings:  # thousands on a big site: one write, and the folder's path made once
        folder = _folder_prefix(config.content)
        _err("\n".join(_finding_line(finding, folder) for finding in report.findings))
    if args.verbose:
        _list_files(report)
    if terminal:
        from feeds.display import print_summary

        print_summary(report)
    elif not args.quiet:
        _err(report.summary())
    if config.websub_hub and not args.no_ping:
        _ping(config, report.write.written)
    return EXIT_SKIPPED if report.counts.skipped else EXIT_OK


def _ping(config: Config, written: Sequence[str]) -> None:
    """Tell the WebSub hub about exactly the feeds whose bytes changed; never fails the build."""
    from feeds.websub import changed_feed_urls, ping_lines, publish

    results = publish(config.websub_hub, changed_feed_urls(written, config),
                      timeout=config.websub_timeout, retries=config.websub_retries)
    for line in ping_lines(results, config.websub_hub):
        _err(line)


def _progress(terminal: bool) -> contextlib.AbstractContextManager[Progress | None]:
    """A progress bar on a terminal (rich is imported only then), else nothing."""
    if not terminal:
        return contextlib.nullcontext()
    from feeds.display import TerminalProgress

    return TerminalProgress()


def _list_files(report: BuildReport) -> None:
    for verb, paths in (("wrote", report.write.written), ("removed", report.write.removed)):
        for path in paths:
            _err(f"{verb} {path}")


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return jobs


def _folder_prefix(folder: Path) -> str:
    """What ``(folder / name).as_posix()`` puts before ``name``."""
    posix = folder.as_posix()
    return "" if posix == "." else posix if posix.endswith("/") else f"{posix}/"


def _finding_line(finding: Finding, folder: str) -> str:
    prefix = "" if finding.level == "error" else f"{finding.level}: "
    return f"{folder}{finding.file}: {prefix}{finding.message}"


def _run_check(args: argparse.Namespace, config: Config) -> int:
    from feeds.check import run_check

    return run_check(config, as_json=args.json, out=sys.stdout, jobs=args.jobs)


def _run_serve(args: argparse.Namespace, config: Config) -> int:
    from feeds.web import create_app

    create_app(config).run(host=args.host, port=args.port)
    return EXIT_OK


def _err(line: str) -> None:
    print(line, file=sys.stderr)


def run() -> None:
    """The console script (and ``python -m feeds``): ``main()``, then straight out of the process.

    Left to itself, the interpreter's exit frees every object one at a time
    (a build's records, every module): 10-30 ms of each cron run, measured
    at 10k articles, for nothing. By the time ``main`` returns, every file is
    closed, the lock released and the workers gone; once stdout and stderr
    are flushed, ``os._exit`` skips the rest. An exception, or ``SystemExit``
    from argparse, leaves the usual way.
    """
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe (feeds check | head): nothing more can be said
        pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
