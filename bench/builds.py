"""Build timings for one corpus size: our cold / no-change / one-edit builds and Hugo's, interleaved."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common import COMMAND_TIMEOUT, REPO, WORK, Sample, output_of, remove_tree, say, timed
from corpus import add_article, category_count, edit_article, newest_first
from hugosite import HugoSite, count_feeds, hugo_build_command

ITEMS = 50
VENV = WORK / "venv"  # `pip install .` of the working tree, as a site owner installs it

# Case keys, in the order they run within one repetition (no-change and one-edit follow a cold build).
COLD, NOCHANGE, EDIT, ADD, FULL, DEFAULT, HUGO = "cold", "nochange", "edit", "add", "full", "default", "hugo"
LABELS = {
    COLD: "ours: cold build (output folder deleted)",
    NOCHANGE: "ours: no-change rebuild",
    EDIT: "ours: one-edit rebuild",
    ADD: "ours: one-new-article rebuild",
    FULL: "ours: forced full rebuild (--no-cache, output kept)",
    DEFAULT: "ours: cold build, default feeds (+ JSON Feed, author feeds)",
    HUGO: "Hugo: build (fresh destination)",
}
# What Hugo's site builds: RSS and Atom of all articles and of each category. `feeds build` also
# makes JSON Feed and tag and author feeds by default; the DEFAULT case times those too.
SAME_AS_HUGO = """
[feeds]
formats = ["rss", "atom"]
categories = true
tags = false
authors = false
"""


@dataclass(frozen=True, slots=True)
class FeedsTool:
    python: str  # the interpreter `feeds` runs on (gunicorn runs on it too)
    command: tuple[str, ...]  # what runs `feeds`
    installed: str  # how it got there, for the report
    no_cache: bool  # `feeds build --no-cache` exists (incremental builds by default)
    jobs_flag: bool  # `feeds build --jobs N` exists
    jobs: int | None  # passed as --jobs when given and supported

    @classmethod
    def detect(cls, jobs: int | None, *, venv: bool = True) -> FeedsTool:
        python, command, installed = install_tool() if venv else in_place()
        help_text = output_of([*command, "build", "--help"])
        if "--output" not in help_text:
            raise SystemExit(f"`{' '.join(command)} build --help` failed:\n{help_text}")
        return cls(python, command, installed, "--no-cache" in help_text, "--jobs" in help_text, jobs)

    def build(self, config: Path, content: Path, output: Path, *, full: bool = False) -> list[str]:
        cmd = [*self.command, "build", "--config", str(config), "--content", str(content), "--output", str(output)]
        if self.jobs is not None and self.jobs_flag:
            cmd += ["--jobs", str(self.jobs)]
        return [*cmd, "--no-cache"] if full and self.no_cache else cmd

    def version(self) -> str:
        return output_of([*self.command, "--version"]) or "?"

    def packages(self) -> str:
        """Every distribution its interpreter can import, with versions: what else is there shows.

        A package left in the venv by hand (an optional C parser for
        gunicorn, say) changes the figures without changing this repository.
        """
        return output_of([self.python, "-I", "-c", _PACKAGES]) or "?"  # -I: not the current folder's


_PACKAGES = ("import importlib.metadata as m; print(', '.join(sorted({"
             "f'{d.metadata[\"Name\"]} {d.version}' for d in m.distributions()}, key=str.lower)))")


def install_tool() -> tuple[str, tuple[str, ...], str]:
    """The working tree installed (not editable) into a venv of its own, and its `feeds` script.

    What a site owner's cron runs: an installed package with its bytecode,
    started by its console script. A venv also keeps out what this
    interpreter's site-packages runs at every start (.pth files: the editable
    install's finder and anything else installed there). Falls back to this
    interpreter when the venv cannot be made (no package index, say).
    """
    python = VENV / "bin" / "python"
    fresh = not python.is_file()
    try:
        if fresh:
            say(f"making {VENV.relative_to(REPO)} (pip install . with its dependencies) ...")
            _run([sys.executable, "-m", "venv", str(VENV)])
            _run([str(python), "-m", "pip", "install", "-q", str(REPO)])
        else:  # the dependencies are there: only this working tree again
            _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(REPO)])
    except (OSError, subprocess.SubprocessError) as exc:
        say(f"cannot install into {VENV.relative_to(REPO)} ({exc}); timing the package in place instead")
        remove_tree(VENV)
        return in_place()
    return str(python), (str(VENV / "bin" / "feeds"),), "pip install . into a venv of its own (bench/work/venv)"


def in_place() -> tuple[str, tuple[str, ...], str]:
    """This interpreter and the package where it is (``--no-venv``)."""
    # Bytecode once, untimed, as `pip install` does for an installed package: an editable
    # install (or PYTHONDONTWRITEBYTECODE) would otherwise compile every module in every run.
    output_of([sys.executable, "-m", "compileall", "-q", str(REPO / "feeds")])
    return sys.executable, (sys.executable, "-m", "feeds.cli"), "in place, run as python -m feeds.cli"


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, cwd=REPO, timeout=COMMAND_TIMEOUT, capture_output=True)


@dataclass(frozen=True, slots=True)
class Case:
    key: str
    cmd: list[str]
    prepare: Callable[[int], None]  # called with the repetition's index before each timed run


@dataclass
class SizeResult:
    articles: int
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def write_config(path: Path, content: Path, output: Path, *, same_as_hugo: bool = False) -> Path:
    """The repository's site settings, with [build] pointing at ``content`` and ``output``.

    ``same_as_hugo``: only the feeds the Hugo site builds (SAME_AS_HUGO), not every default one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""\
[site]
title = "中证财经快讯"
base_url = "https://news.example.com/"
description = "金融、证券、能源与宏观经济新闻"
language = "zh-CN"
timezone = "Asia/Shanghai"
author = "中证财经快讯编辑部"

[build]
content = {_toml_str(content)}
output = {_toml_str(output)}
items = {ITEMS}
permalink = "{{year}}/{{month}}/{{day}}/{{slug}}/"

[category_slugs]
"金融" = "finance"
"中证网" = "cs-com-cn"
""" + (SAME_AS_HUGO if same_as_hugo else ""), encoding="utf-8")
    return path


def _toml_str(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def count_our_feeds(output: Path) -> int:
    return sum(1 for folder in (output, output / "category") for pattern in ("*.rss", "*.atom")
               for _ in folder.glob(pattern))


def our_cases(tool: FeedsTool, articles: int, content: Path) -> tuple[list[Case], Path]:
    """Cases for `feeds build`, and the output folder they share."""
    output = WORK / f"out-{articles}"
    config = write_config(WORK / f"config-{articles}.toml", content, output, same_as_hugo=True)
    build = tool.build(config, content, output)
    default_output = WORK / f"out-default-{articles}"
    default_config = write_config(WORK / f"config-default-{articles}.toml", content, default_output)
    targets = newest_first(content)  # edit the newest articles: each is in all.rss and its categories' feeds

    def edit(rep: int) -> None:
        edit_article(targets[rep % min(len(targets), ITEMS)], rep)

    cases = [
        Case(COLD, build, lambda _rep: remove_tree(output)),
        Case(NOCHANGE, build, lambda _rep: None),
        Case(EDIT, build, edit),
        Case(ADD, build, lambda rep: add_article(targets[0], rep)),
    ]
    if tool.no_cache:
        cases.append(Case(FULL, tool.build(config, content, output, full=True), lambda _rep: None))
    cases.append(Case(DEFAULT, tool.build(default_config, content, default_output),
                      lambda _rep: remove_tree(default_output)))
    return cases, output


def hugo_case(binary: Path, site: HugoSite, articles: int) -> tuple[Case, Path]:
    destination = WORK / f"hugo-out-{articles}"
    return Case(HUGO, hugo_build_command(binary, site, destination), lambda _rep: remove_tree(destination)), destination


def warm_up(result: SizeResult, cases: list[Case]) -> None:
    """One untimed cold run of ours and of Hugo's (file cache, .pyc), leaving outputs to check."""
    for case in cases:
        if case.key in (COLD, DEFAULT, HUGO):
            case.prepare(-1)
            timed(case.cmd, log=_log(result.articles, case.key), cwd=REPO)


def check(result: SizeResult, what: str, found: int, expected: int) -> None:
    line = f"{what}: {found} feed files" + ("" if found == expected else f", expected {expected}")
    say(f"  check {line}")
    if found != expected:
        result.notes.append(f"{result.articles} articles: {line}")


def check_hugo_template(result: SizeResult, destination: Path) -> None:
    """Hugo silently falls back to its own RSS template (summary only) when ours is not found."""
    home = destination / "index.xml"
    if not home.is_file() or "<content:encoded>" not in home.read_text(encoding="utf-8"):
        result.notes.append(f"{result.articles} articles: Hugo's index.xml has no <content:encoded>")
        say("  check Hugo: index.xml lacks <content:encoded> (the bench template was not used)")


def run_interleaved(result: SizeResult, cases: list[Case], repeat: int) -> None:
    """``repeat`` rounds; each round runs every case once, in order, so noise hits all alike."""
    for rep in range(repeat):
        for case in cases:
            case.prepare(rep)
            sample = timed(case.cmd, log=_log(result.articles, case.key), cwd=REPO)
            result.samples.setdefault(case.key, []).append(sample)
            say(f"  [{result.articles}] round {rep + 1}/{repeat} {case.key:8} "
                f"{sample.wall:7.2f} s wall {sample.cpu:7.2f} s cpu {sample.rss_kb / 1024:7.1f} MiB")


def _log(articles: int, key: str) -> Path:
    return WORK / f"log-{articles}-{key}.txt"


def bench_size(tool: FeedsTool, articles: int, content: Path, hugo: tuple[Path, HugoSite] | None,
               repeat: int) -> SizeResult:
    result = SizeResult(articles)
    cases, output = our_cases(tool, articles, content)
    destination = None
    if hugo is not None:
        case, destination = hugo_case(hugo[0], hugo[1], articles)
        cases.append(case)
    warm_up(result, cases)
    check(result, "ours", count_our_feeds(output), 2 * (1 + category_count(content)))
    if hugo is not None and destination is not None:
        check(result, "Hugo", count_feeds(destination), hugo[1].expected_feeds)
        check_hugo_template(result, destination)
    run_interleaved(result, cases, repeat)
    return result
