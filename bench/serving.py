"""Serving: the Flask app under gunicorn against nginx serving the built folder, measured with wrk.

Everything listens on 127.0.0.1 only; both servers are always stopped (their process groups,
which this module started, are signalled by id).
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from builds import FeedsTool, write_config
from common import COMMAND_TIMEOUT, REPO, WORK, BenchError, output_of, remove_tree, say

HOST = "127.0.0.1"
START_TIMEOUT = 300.0  # seconds for the app to load the corpus in both workers
CASES = ("plain 200", "gzip 200", "304")
TARGETS = {"plain 200": 0.25, "304": 0.1}  # app req/s over nginx req/s, at least


@dataclass(frozen=True, slots=True)
class Load:
    rps: float
    requests: int
    bad: int  # non-2xx/3xx answers plus socket errors
    note: str  # what a probe request got back (status, encoding, bytes)


@dataclass
class ServeResult:
    articles: int
    path: str  # the feed every request asks for
    size: int  # its bytes on disk
    gz_on_disk: bool
    seconds: int
    rounds: int = 1
    runs: dict[tuple[str, str], list[Load]] = field(default_factory=dict)  # (server, case) -> a Load a round
    notes: list[str] = field(default_factory=list)

    @property
    def loads(self) -> dict[tuple[str, str], Load]:
        """(server, case) -> the round of median requests/s (a round's own figures)."""
        return {key: sorted(runs, key=lambda load: load.rps)[(len(runs) - 1) // 2] for key, runs in self.runs.items()}

    def ratios(self, case: str) -> list[float]:
        """app / nginx requests/s of ``case``, round by round (the two measured one after the other)."""
        app, nginx = self.runs.get(("app", case), []), self.runs.get(("nginx", case), [])
        return [a.rps / n.rps for a, n in zip(app, nginx, strict=False) if n.rps]


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]


def app_missing(python: str = sys.executable) -> str | None:
    """Why the app cannot be served by ``python``, or None."""
    for module in ("feeds.web", "gunicorn"):
        proc = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True,
                              cwd=REPO, timeout=120, check=False)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            return f"`import {module}` fails ({last})"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def biggest_category_feed(output: Path) -> Path:
    feeds = sorted((output / "category").glob("*.rss"), key=lambda p: (p.stat().st_size, p.name))
    if not feeds:
        raise BenchError(f"{output}/category: no .rss file to serve")
    return feeds[-1]


# --- servers ---------------------------------------------------------------------------


def gunicorn_command(port: int, python: str = sys.executable) -> list[str]:
    return [python, "-m", "gunicorn", "-k", "gthread", "--threads", "4", "-w", "2",
            "-b", f"{HOST}:{port}", "--forwarded-allow-ips", "*", "feeds.web:create_app()"]


NGINX_CONF = """\
worker_processes 2;
daemon off;
pid {base}/nginx.pid;
error_log {base}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {base}/tmp/body;
    proxy_temp_path {base}/tmp/proxy;
    fastcgi_temp_path {base}/tmp/fastcgi;
    uwsgi_temp_path {base}/tmp/uwsgi;
    scgi_temp_path {base}/tmp/scgi;
    types {{
        application/rss+xml rss;
        application/atom+xml atom;
        text/html html;
        text/x-opml opml;
    }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    etag on;
    gzip_static on;
    server {{
        listen {host}:{port};
        root {root};
    }}
}}
"""


def nginx_command(base: Path, root: Path, port: int) -> list[str]:
    (base / "tmp").mkdir(parents=True, exist_ok=True)
    conf = base / "nginx.conf"
    conf.write_text(NGINX_CONF.format(base=base, host=HOST, port=port, root=root), encoding="utf-8")
    return ["nginx", "-p", str(base), "-c", str(conf), "-e", str(base / "error.log")]


@contextmanager
def running(name: str, cmd: list[str], port: int, probe: str, *, log: Path,
            env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start ``cmd`` in its own process group; yield once ``probe`` answers; always stop it."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=REPO, env=env, start_new_session=True)
    try:
        _wait_ready(name, proc, port, probe, log)
        yield Server(name, port, proc)
    finally:
        _stop(proc)


def _wait_ready(name: str, proc: subprocess.Popen[bytes], port: int, probe: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited with {proc.returncode} while starting; see {log}")
        try:
            if fetch(port, probe)[0] == 200:
                _wait_idle(proc.pid, deadline)
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.5)
    raise BenchError(f"{name} did not answer {probe} within {START_TIMEOUT:.0f} s; see {log}")


def _wait_idle(pid: int, deadline: float) -> None:
    """Until the process group's CPU use is under 10 % of a core for a second.

    gunicorn's second worker may still be loading the corpus when the first one answers.
    """
    previous = _group_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        current = _group_cpu(pid)
        if current - previous < 0.1:
            return
        previous = current


def _group_cpu(pgid: int) -> float:
    """CPU seconds used so far by the live processes of process group ``pgid`` (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:  # fields after the command: state ppid pgrp ... utime(11) stime(12)
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)  # the group this module started (start_new_session)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


# --- requests --------------------------------------------------------------------------


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def case_headers(server: Server, path: str) -> dict[str, dict[str, str]]:
    """The request headers of each case; the 304 case sends the server's own ETag back."""
    status, headers, _ = fetch(server.port, path)
    etag = headers.get("etag")
    if status != 200 or not etag:
        raise BenchError(f"{server.name}: GET {path} gave {status} (ETag {etag!r})")
    return {"plain 200": {}, "gzip 200": {"Accept-Encoding": "gzip"}, "304": {"If-None-Match": etag}}


def probe_note(server: Server, path: str, headers: dict[str, str]) -> str:
    status, got, body = fetch(server.port, path, headers)
    return f"{status} {got.get('content-encoding', 'identity')} {len(body)} B"


def wrk(port: int, path: str, headers: dict[str, str], seconds: int) -> tuple[float, int, int]:
    cmd = ["wrk", "-t2", "-c50", f"-d{seconds}s", "--timeout", "5s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    text = subprocess.run([*cmd, f"http://{HOST}:{port}{path}"], capture_output=True, text=True,
                          timeout=seconds + 60, check=False).stdout
    rps = re.search(r"^Requests/sec:\s*([\d.]+)", text, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in", text, re.MULTILINE)
    if rps is None or total is None:
        raise BenchError(f"wrk printed no Requests/sec:\n{text}")
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s*(\d+)", text))
    errors = re.search(r"^\s*Socket errors:(.*)$", text, re.MULTILINE)
    bad += sum(int(n) for n in re.findall(r"\d+", errors.group(1))) if errors else 0
    return float(rps.group(1)), int(total.group(1)), bad


# --- the whole part --------------------------------------------------------------------


def prepare_site(tool: FeedsTool, articles: int, content: Path) -> tuple[Path, Path]:
    """A fresh build of ``content`` for both servers; returns (config, output folder)."""
    base = WORK / f"serve-{articles}"
    output = base / "out"
    remove_tree(output)
    config = write_config(base / "config.toml", content, output)
    say(f"building {articles} articles for serving (untimed) ...")
    with (base / "build-log.txt").open("wb") as log:
        proc = subprocess.run(tool.build(config, content, output), stdout=log, stderr=log, cwd=REPO,
                              timeout=COMMAND_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise BenchError(f"feeds build for serving exited with {proc.returncode}; see {base / 'build-log.txt'}")
    return config, output


def bench_serving(tool: FeedsTool, articles: int, content: Path, seconds: int, rounds: int = 3) -> ServeResult:
    config, output = prepare_site(tool, articles, content)
    feed = biggest_category_feed(output)
    path = "/" + feed.relative_to(output).as_posix()
    result = ServeResult(articles, path, feed.stat().st_size, feed.with_name(feed.name + ".gz").is_file(), seconds,
                         rounds)
    base = config.parent
    env = {**os.environ, "FEEDS_CONFIG": str(config)}
    app_port, nginx_port = free_port(), free_port()
    with ExitStack() as stack:
        say(f"starting gunicorn on {HOST}:{app_port} and nginx on {HOST}:{nginx_port} ...")
        servers = [
            stack.enter_context(running("app", gunicorn_command(app_port, tool.python), app_port, "/healthz",
                                        log=base / "gunicorn-log.txt", env=env)),
            stack.enter_context(running("nginx", nginx_command(base / "nginx", output, nginx_port), nginx_port,
                                        path, log=base / "nginx-log.txt")),
        ]
        headers = {server.name: case_headers(server, path) for server in servers}
        for number in range(rounds):  # interleaved: app, nginx, next case; then the next round
            say(f"  round {number + 1}/{rounds}")
            for case in CASES:
                for server in servers:
                    _measure(result, server, case, headers[server.name][case])
    return result


def _measure(result: ServeResult, server: Server, case: str, headers: dict[str, str]) -> None:
    note = probe_note(server, result.path, headers)
    rps, total, bad = wrk(server.port, result.path, headers, result.seconds)
    result.runs.setdefault((server.name, case), []).append(Load(rps, total, bad, note))
    say(f"  {server.name:5} {case:9} {rps:10.0f} req/s ({total} requests, {bad} bad; probe: {note})")
    if bad:
        result.notes.append(f"{server.name} {case}: {bad} of {total} requests failed or were not 2xx/3xx")


def tool_versions(python: str = sys.executable) -> dict[str, str]:
    return {
        "gunicorn": output_of([python, "-m", "gunicorn", "--version"]) or "?",
        "nginx": output_of(["nginx", "-v"]) or "?",
        "wrk": (output_of(["wrk", "--version"]).splitlines() or ["?"])[0],
    }
