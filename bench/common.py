"""Paths, progress output and one timed subprocess run (wall time, CPU time, peak RSS)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work"  # git-ignored: Hugo sites, working copies, outputs, logs
CORPORA = BENCH / "corpora"  # git-ignored: generated corpora, kept between runs
GNU_TIME = Path("/usr/bin/time")
COMMAND_TIMEOUT = 3600.0  # seconds; no single build may take longer


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and where to look."""


@dataclass(frozen=True, slots=True)
class Sample:
    wall: float  # seconds, time.perf_counter around the process
    cpu: float  # user + system seconds
    rss_kb: int  # peak resident set size of the largest single process, KiB


def run_main(main: Callable[[], int]) -> NoReturn:
    """Exit with ``main()``'s code; a BenchError is one line on stderr and exit 1."""
    try:
        raise SystemExit(main())
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def say(line: str) -> None:
    print(line, flush=True)


def output_of(cmd: Sequence[str], *, timeout: float = 60.0) -> str:
    """stdout + stderr of a short command, stripped; '' if it cannot run."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return (proc.stdout + proc.stderr).strip()


def ensure_gnu_time() -> None:
    """GNU time reports the peak RSS; Debian's `time` package provides it."""
    if GNU_TIME.is_file():
        return
    if shutil.which("apt-get") is None:
        raise BenchError(f"{GNU_TIME} is missing; install GNU time (Debian: apt-get install -y time)")
    say(f"{GNU_TIME} is missing: apt-get install -y time")
    subprocess.run(["apt-get", "update", "-qq"], check=False, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "time"], check=True, timeout=600)


def timed(cmd: Sequence[str], *, log: Path, cwd: Path | None = None) -> Sample:
    """Run ``cmd`` once under GNU time; its stdout and stderr go to ``log`` (overwritten).

    The wait blocks in waitpid, so the wall time ends when the process does.
    (``subprocess.run`` with a timeout polls instead, sleeping up to 50 ms
    between looks: that added 0-50 ms to every run, and rounded the short
    ones up to 50 ms steps.) The timeout is a timer that kills the process.
    """
    stats = log.with_suffix(".time")
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen([str(GNU_TIME), "-v", "-o", str(stats), *cmd], stdout=out, stderr=out, cwd=cwd)
        watchdog = threading.Timer(COMMAND_TIMEOUT, proc.kill)
        watchdog.start()
        try:
            returncode = proc.wait()
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - start
    if returncode != 0:
        raise BenchError(f"`{shlex.join(cmd)}` exited with {returncode}; its output is in {log}")
    text = stats.read_text(encoding="utf-8", errors="replace")
    cpu = _time_field(text, "User time (seconds)") + _time_field(text, "System time (seconds)")
    return Sample(wall, cpu, int(_time_field(text, "Maximum resident set size (kbytes)")))


def _time_field(text: str, name: str) -> float:
    match = re.search(rf"^\s*{re.escape(name)}:\s*([\d.]+)\s*$", text, re.MULTILINE)
    if match is None:
        raise BenchError(f"GNU time printed no '{name}' line")
    return float(match.group(1))


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        raise BenchError(f"{path}: could not be removed")
