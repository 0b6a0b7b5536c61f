"""Load test: the app under gunicorn, hit by wrk, while its content folder is rewritten.

    python bench/load.py [--articles 1000] [--seconds 20] [--connections 50] [--rewrites 10]

Copies a cached corpus (bench/corpora/<N>/) into bench/work/load-<N>/content/, starts gunicorn (`-k
gthread --threads 4 -w 2 --forwarded-allow-ips '*'`) on 127.0.0.1 with `[serve] reload_seconds =
0.5`, and for `--seconds` runs at once: wrk over a mix of URLs (a third of them conditional), a
rewriter (`--rewrites` rounds: titles edited in place, an article added, one deleted), a verifier
that checks every answer it gets in full, and a monitor of /all.rss and /healthz. Prints requests/s,
latency percentiles, status counts and PASS or FAIL (exit 1). Traffic goes to 127.0.0.1 only;
gunicorn is always stopped. See bench/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import feedparser
from builds import write_config
from common import REPO, WORK, BenchError, remove_tree, run_main, say
from corpus import ensure_corpus, generator_path, newest_first
from lxml import etree
from serving import HOST, fetch, free_port, gunicorn_command, running

RELOAD_SECONDS = 0.5
VERIFY_MAX = 2000  # requests the verifier sends at most
MONITOR_EVERY = 0.25  # seconds between HEAD /all.rss probes (and /healthz every 4th)
SETTLE_SECONDS = 30.0  # after wrk, for every worker to serve the last rewrite ...
SETTLE_DEADLINE = 55.0  # ... and no later than this many seconds past --seconds after the start
EDITS_PER_ROUND = 3
EDIT_POOL = 20  # titles are edited among the newest articles: they head all.rss
OK_STATUSES = {200, 304}
MEDIA_TYPES = {  # by extension, as README.md ("Routes") documents them
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "opml": "text/x-opml; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
ETAG_SUFFIXES = {"identity": "", "gzip": "-gz"}  # feeds/snapshot.py: sha256 of the plain bytes, 32 hex digits
ATOM = "{http://www.w3.org/2005/Atom}"
_TITLE_LINE = re.compile(r"^(title:\s*'.*)'\s*$", re.MULTILINE)

LUA = r"""-- written by bench/load.py: rotate through the paths given after `--`; every third round
-- of them is conditional (If-None-Match: the last ETag this thread got for that path);
-- count statuses per thread; done() prints the totals as one JSON line.
local threads = {}
local kinds = {html = "text/html", opml = "text/x-opml", rss = "application/rss+xml",
               atom = "application/atom+xml"}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for i = 1, #args do paths[i] = args[i] end
  etags = {}
  counts = {}
  n = 0
end

function request()
  local i = n % #paths
  local round = math.floor(n / #paths)
  n = n + 1
  local path = paths[i + 1]
  local etag = etags[path]
  if etag ~= nil and round % 3 == 0 then
    return wrk.format("GET", path, {["If-None-Match"] = etag})
  end
  return wrk.format("GET", path)
end

-- Which of our paths a 200 answer is: by Content-Type, and for feeds by their own URL,
-- which the head of the body carries (the self link).
local function owner(ctype, body)
  local head = string.sub(body, 1, 4096)
  for _, path in ipairs(paths) do
    local ext = string.match(path, "%.(%w+)$")
    if string.find(ctype, kinds[ext], 1, true) == 1 and
       (ext == "html" or ext == "opml" or string.find(head, path .. '"', 1, true)) then
      return path
    end
  end
  return nil
end

function response(status, headers, body)
  local key = tostring(status)
  counts[key] = (counts[key] or 0) + 1
  if status ~= 200 then return end
  local etag, ctype
  for k, v in pairs(headers) do
    local lk = string.lower(k)
    if lk == "etag" then etag = v elseif lk == "content-type" then ctype = v end
  end
  if etag == nil or ctype == nil then return end
  local path = owner(ctype, body)
  if path ~= nil then etags[path] = etag end
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, string.format('"%s": %d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'LOAD-SUMMARY {"statuses": {%s}, "requests": %d, "errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}}\n',
    table.concat(parts, ", "), summary.requests, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Load-test the app under gunicorn while its content folder changes.")
    p.add_argument("--articles", type=_positive, default=1000, help="corpus size (default 1000)")
    p.add_argument("--seconds", type=_positive, default=20, help="wrk duration (default 20)")
    p.add_argument("--connections", type=_positive, default=50, help="wrk connections (default 50)")
    p.add_argument("--rewrites", type=_non_negative, default=10, help="rounds of rewrites (default 10)")
    p.add_argument("--make-corpus", type=Path, metavar="PATH",
                   help="corpus generator (default: ../shared/tools/make_corpus.py from the repository)")
    return p.parse_args(argv)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _non_negative(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {text!r}")
    return int(text)


# --- the content folder ----------------------------------------------------------------


def categories_of(path: Path) -> list[str]:
    """The names under `categories:` in the front matter of ``path``."""
    names: list[str] = []
    inside = False
    for line in path.read_text(encoding="utf-8").lstrip().split("\n---", 1)[0].splitlines():
        if line.startswith("categories:"):
            inside = True
        elif inside and line.lstrip().startswith("- "):
            names.append(line.strip()[2:].strip())
        elif inside:
            break
    return names


def busiest_categories(content: Path) -> list[str]:
    counts = Counter(name for path in content.glob("*.txt") for name in set(categories_of(path)))
    if len(counts) < 2:
        raise BenchError(f"{content}: fewer than two categories")
    return [name for name, _ in counts.most_common(2)]


class Rewriter:
    """Rewrites the content folder ``rounds`` times, spread over ``seconds`` (the first at once).

    Each round edits the titles of a few of the newest articles in place (truncate and
    write, so a rebuild may read a half-written file), adds an article in both watched
    categories (it heads every watched feed) and deletes one article in neither (so no
    watched feed can run out of items).
    """

    def __init__(self, content: Path, watched: list[str], rounds: int, seconds: float) -> None:
        self.content, self.watched, self.rounds, self.seconds = content, watched, rounds, seconds
        newest = newest_first(content)
        self.edit_pool = newest[:EDIT_POOL]
        self.deletable = [p for p in newest[EDIT_POOL:] if not set(categories_of(p)) & set(watched)]
        self.done = 0
        self.at: list[float] = []  # when each round was written, seconds after the start
        self.added: list[str] = []  # titles of the added articles, in order
        self.error: str | None = None
        self.stop = threading.Event()

    def run(self, start: float) -> None:
        try:
            for k in range(1, self.rounds + 1):
                if self.stop.wait(max(0.0, start + self.seconds * (k - 1) / self.rounds - time.monotonic())):
                    return
                self.at.append(time.monotonic() - start)
                self.round(k)
                self.done = k
        except Exception as exc:  # reported as a failure of the run
            self.error = f"round {self.done + 1}: {type(exc).__name__}: {exc}"

    def round(self, k: int) -> None:
        for j in range(EDITS_PER_ROUND):
            path = self.edit_pool[(k * EDITS_PER_ROUND + j) % len(self.edit_pool)]
            text, edited = _TITLE_LINE.subn(lambda m: f"{m.group(1)} 改{k}'", path.read_text(encoding="utf-8"), 1)
            if not edited:
                raise BenchError(f"{path}: no title: '...' line to edit")
            path.write_text(text, encoding="utf-8")
        title = f"压测新稿 第{k}轮"
        categories = "".join(f" - {name}\n" for name in self.watched)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        (self.content / f"load-{k:03d}.txt").write_text(
            f"---\ntitle: '{title}'\ncategories:\n{categories}author: bench\ncomments: false\ndate: {now}\n---\n\n"
            f"<div>\n<p>\u3000\u3000bench/load.py 第{k}轮写入的文章。</p>\n</div>\n", encoding="utf-8")
        self.added.append(title)
        if self.deletable:
            self.deletable.pop(0).unlink()


# --- checking answers ------------------------------------------------------------------


def expected_etag(plain: bytes, encoding: str) -> str:
    return f'"{hashlib.sha256(plain).hexdigest()[:32]}{ETAG_SUFFIXES[encoding]}"'


def problem(path: str, status: int, headers: dict[str, str], body: bytes) -> str | None:
    """What is wrong with one answer to GET ``path``, or None."""
    if status == 304:
        return None if headers.get("etag") and not body else "304 without ETag or with a body"
    if status != 200:
        return f"status {status}"
    length = headers.get("content-length")
    if length is None or int(length) != len(body):
        return f"Content-Length {length} for {len(body)} bytes"
    encoding = headers.get("content-encoding", "identity")
    if encoding not in ETAG_SUFFIXES:
        return f"Content-Encoding {encoding} (not asked for)"
    plain = gzip.decompress(body) if encoding == "gzip" else body
    if headers.get("etag") != expected_etag(plain, encoding):
        return f"ETag {headers.get('etag')} is not {expected_etag(plain, encoding)} (from the body)"
    ext = path.rpartition(".")[2]
    if headers.get("content-type") != MEDIA_TYPES[ext]:
        return f"Content-Type {headers.get('content-type')}"
    if ext == "html":
        return None if plain.rstrip().endswith(b"</html>") else "index.html does not end with </html>"
    try:
        root = etree.fromstring(plain)
    except etree.XMLSyntaxError as exc:
        return f"lxml: {exc}"
    if ext == "opml":
        return None if root.tag == "opml" and root.find("body/outline") is not None else "OPML without outlines"
    if root.tag not in ("rss", f"{ATOM}feed"):
        return f"root element {root.tag}"
    parsed = feedparser.parse(plain)
    if parsed.bozo:
        return f"feedparser: {parsed.get('bozo_exception')}"
    if not parsed.entries:
        return "a feed without items"
    selves = [link.get("href", "") for link in parsed.feed.get("links", []) if link.get("rel") == "self"]
    if not any(href.endswith(path) for href in selves):
        return f"self link {selves} is not {path}"
    return None


class Versions:
    """The ETags of /all.rss (identity) seen by the verifier and the monitor, with when each
    was first seen (seconds after the start). Each worker rebuilds on its own, so the served
    ETag may go back and forth for a while: only first sights count."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.first_seen: dict[str, float] = {}

    def see(self, etag: str) -> None:
        self.first_seen.setdefault(etag, time.monotonic() - self.start)

    def new_ones(self) -> list[float]:
        """When each version after the first one was first seen."""
        return sorted(self.first_seen.values())[1:]


@dataclass
class Verified:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    gzip: int = 0
    conditional: int = 0
    failures: list[str] = field(default_factory=list)


def verify(port: int, paths: list[str], stop: threading.Event, out: Verified, versions: Versions) -> None:
    """GET the paths in turn until ``stop`` (at most VERIFY_MAX); every third asks for gzip,
    every third (offset) sends the last ETag seen for the path; every answer is checked whole."""
    last: dict[str, str] = {}
    while not stop.is_set() and out.requests < VERIFY_MAX:
        n = out.requests
        path = paths[n % len(paths)]
        headers: dict[str, str] = {}
        if n % 3 == 0:
            headers["Accept-Encoding"] = "gzip"
            out.gzip += 1
        elif n % 3 == 1 and path in last:
            headers["If-None-Match"] = last[path]
            out.conditional += 1
        out.requests += 1
        when = f"{time.monotonic() - versions.start:6.2f} s"
        try:
            status, got, body = fetch(port, path, headers)
        except (OSError, http.client.HTTPException) as exc:
            out.failures.append(f"{when} {path}: {type(exc).__name__}: {exc}")
            continue
        out.statuses[status] += 1
        why = problem(path, status, got, body)
        if why is not None:
            out.failures.append(f"{when} {path} {status}: {why}")
        elif status == 200 and "content-encoding" not in got:
            last[path] = got["etag"]
            if path == "/all.rss":
                versions.see(got["etag"])


@dataclass
class Monitored:
    probes: int = 0
    stale: list[str] = field(default_factory=list)  # /healthz answers that were not a plain ok
    failures: list[str] = field(default_factory=list)


def head(port: int, path: str) -> tuple[int, str | None]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("HEAD", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("ETag")
    finally:
        conn.close()


def monitor(port: int, stop: threading.Event, out: Monitored, versions: Versions) -> None:
    """HEAD /all.rss every MONITOR_EVERY seconds, and GET /healthz every fourth time."""
    while not stop.wait(MONITOR_EVERY):
        out.probes += 1
        try:
            status, etag = head(port, "/all.rss")
            if status != 200 or etag is None:
                out.failures.append(f"HEAD /all.rss: {status}, ETag {etag}")
            else:
                versions.see(etag)
            if out.probes % 4 == 0:
                status, _, body = fetch(port, "/healthz")
                text = body.decode("utf-8", "replace")
                if status != 200 or "stale" in text:
                    out.stale.append(f"{status} {text.strip()!r}")
        except (OSError, http.client.HTTPException) as exc:
            out.failures.append(f"monitor: {type(exc).__name__}: {exc}")


# --- wrk ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    rps: float
    latency_ms: dict[str, float]  # "50%" ... "99%" from --latency
    summary: dict[str, Any]  # the Lua done() line
    text: str


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def run_wrk(port: int, paths: list[str], seconds: int, connections: int, script: Path) -> WrkResult:
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
           "-s", str(script), f"http://{HOST}:{port}{paths[0]}", "--", *paths]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=False)
    text = proc.stdout + proc.stderr
    rps = re.search(r"^Requests/sec:\s*([\d.]+)", text, re.MULTILINE)
    line = re.search(r"^LOAD-SUMMARY (\{.*\})\s*$", text, re.MULTILINE)
    if proc.returncode != 0 or rps is None or line is None:
        raise BenchError(f"wrk exited with {proc.returncode} without its summary:\n{text}")
    latency = {pct: float(value) * _UNITS_MS[unit] for pct, value, unit in
               re.findall(r"^\s+(\d+%)\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.MULTILINE)}
    return WrkResult(float(rps.group(1)), latency, json.loads(line.group(1)), text)


# --- the run -----------------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> tuple[Path, Path]:
    """A fresh copy of the corpus (real copies: the rewriter writes in place) and its config."""
    corpus = ensure_corpus(generator_path(args.make_corpus), args.articles)
    base = WORK / f"load-{args.articles}"
    content = base / "content"
    remove_tree(content)
    shutil.copytree(corpus, content)
    config = write_config(base / "config.toml", content, base / "out")
    with config.open("a", encoding="utf-8") as f:
        f.write(f"\n[serve]\nreload_seconds = {RELOAD_SECONDS}\n")
    return content, config


def category_paths(port: int, names: list[str]) -> list[str]:
    """/category/<slug> of each name, from the OPML the app serves (outline text "site · name")."""
    status, _, body = fetch(port, "/feeds.opml")
    if status != 200:
        raise BenchError(f"GET /feeds.opml gave {status}")
    slugs = {}
    for outline in etree.fromstring(body).iter("outline"):
        url = outline.get("xmlUrl") or ""
        if "/category/" in url:
            slugs[(outline.get("text") or "").rpartition(" · ")[2]] = url[url.index("/category/"):-len(".rss")]
    missing = [name for name in names if name not in slugs]
    if missing:
        raise BenchError(f"/feeds.opml lists no category feed for {missing}")
    return [slugs[name] for name in names]


def settle(port: int, title: str, deadline: float) -> float | None:
    """Seconds until ten GET /all.rss in a row show ``title`` (both workers rebuilt), or None."""
    start, streak = time.monotonic(), 0
    while time.monotonic() < deadline:
        try:
            status, _, body = fetch(port, "/all.rss")
        except (OSError, http.client.HTTPException):
            status, body = 0, b""
        streak = streak + 1 if status == 200 and title.encode() in body else 0
        if streak == 10:
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def log_counts(log: Path) -> dict[str, int]:
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    return {"Traceback": text.count("Traceback"), "rebuild failed": text.count("rebuild failed"),
            "WORKER TIMEOUT": text.count("WORKER TIMEOUT")}


@dataclass
class Run:
    args: argparse.Namespace
    wrk: WrkResult
    verified: Verified
    monitored: Monitored
    versions: Versions
    rewriter: Rewriter
    settled: float | None  # seconds after wrk until every worker served the last rewrite
    logged: dict[str, int]
    seconds: float  # the whole run


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    content, config = prepare(args)
    base = config.parent
    watched = busiest_categories(content)
    rewriter = Rewriter(content, watched, args.rewrites, args.seconds)
    port = free_port()
    env = {**os.environ, "FEEDS_CONFIG": str(config)}
    log = base / "gunicorn-log.txt"
    verified, monitored, stop = Verified(), Monitored(), threading.Event()
    say(f"starting gunicorn on {HOST}:{port} ({args.articles} articles, reload every {RELOAD_SECONDS} s) ...")
    with running("app", gunicorn_command(port), port, "/healthz", log=log, env=env):
        say(f"ready after {time.monotonic() - began:.1f} s")
        cat_rss, cat_atom = category_paths(port, watched)
        paths = ["/all.rss", "/all.atom", f"{cat_rss}.rss", f"{cat_atom}.atom", "/index.html", "/feeds.opml"]
        script = base / "mix.lua"
        script.write_text(LUA, encoding="utf-8")
        say(f"wrk {args.seconds} s, {args.connections} connections over {' '.join(paths)}; "
            f"{args.rewrites} rewrites of {content.relative_to(REPO)}")
        start = time.monotonic()
        versions = Versions(start)
        checkers = [threading.Thread(target=verify, args=(port, paths, stop, verified, versions), daemon=True),
                    threading.Thread(target=monitor, args=(port, stop, monitored, versions), daemon=True)]
        writer = threading.Thread(target=rewriter.run, args=(start,), daemon=True)
        for thread in [*checkers, writer]:
            thread.start()
        try:
            wrk = run_wrk(port, paths, args.seconds, args.connections, script)
            (base / "wrk-output.txt").write_text(wrk.text, encoding="utf-8")
            writer.join(timeout=10)
            # the verifier and the monitor go on until every worker serves the last rewrite
            deadline = min(time.monotonic() + SETTLE_SECONDS, began + args.seconds + SETTLE_DEADLINE)
            settled = settle(port, rewriter.added[-1], deadline) if rewriter.added else 0.0
        finally:
            rewriter.stop.set()
            stop.set()
            for thread in [writer, *checkers]:
                thread.join(timeout=15)
    run = Run(args, wrk, verified, monitored, versions, rewriter, settled, log_counts(log), time.monotonic() - began)
    return report(run)


def report(run: Run) -> int:
    args, wrk, verified, monitored, rewriter = run.args, run.wrk, run.verified, run.monitored, run.rewriter
    statuses = {int(k): int(v) for k, v in wrk.summary["statuses"].items()}
    errors = {k: int(v) for k, v in wrk.summary["errors"].items()}
    bad = sum(n for status, n in statuses.items() if status not in OK_STATUSES)
    new = run.versions.new_ones()
    under_load = [t for t in new if t <= args.seconds]
    lat = wrk.latency_ms
    say("")
    say(f"requests/s   {wrk.rps:.0f}  ({wrk.summary['requests']} requests in {args.seconds} s, "
        f"{args.connections} connections)")
    say("latency      " + "   ".join(f"p{pct[:-1]} {lat[pct]:.2f} ms" for pct in ("50%", "90%", "99%") if pct in lat))
    say(f"wrk statuses {json.dumps(dict(sorted(statuses.items())))}; not 200/304: {bad}; "
        f"socket errors: {json.dumps(errors)}")
    say(f"verifier     {verified.requests} requests ({verified.gzip} gzip, {verified.conditional} conditional): "
        f"{dict(sorted(verified.statuses.items()))}; {verified.requests - len(verified.failures)} complete, "
        f"{len(verified.failures)} failed")
    say(f"rewrites     {rewriter.done} of {args.rewrites} rounds, at {[round(t, 1) for t in rewriter.at]} s")
    say(f"rebuilds     {len(new)} new versions of /all.rss seen, first at {[round(t, 1) for t in new]} s; "
        f"{len(under_load)} while wrk ran")
    settled = "never" if run.settled is None else f"{run.settled:.1f} s after wrk ended"
    say(f"             every worker served the last rewrite {settled}; /healthz not ok: {len(monitored.stale)}")
    say(f"gunicorn log {json.dumps(run.logged)} ({monitored.probes} monitor probes)")
    fails = []
    if bad or any(errors[k] for k in ("connect", "read", "write", "timeout")):
        fails.append("wrk got answers other than 200/304, or socket errors")
    if not statuses.get(200) or not statuses.get(304):
        fails.append("wrk got no 200 or no 304 (the conditional share did not work)")
    if verified.failures or not verified.requests:
        fails.append("the verifier found incomplete or wrong answers")
    if monitored.failures or monitored.stale:
        fails.append("the monitor got an error, or /healthz reported a failed rebuild")
    if rewriter.error or rewriter.done != args.rewrites:
        fails.append(f"the rewriter did {rewriter.done} of {args.rewrites} rounds ({rewriter.error or 'stopped'})")
    if args.rewrites and not new:
        fails.append("no rebuild seen: /all.rss never changed")
    if any(run.logged.values()):
        fails.append("the gunicorn log has errors")
    for line in (verified.failures + monitored.failures + monitored.stale)[:20]:
        say(f"  {line}")
    if run.settled is None:
        say("note: the last rewrite was not yet served by every worker when the run had to end "
            "(rebuilds are slow on this machine now: see the times above)")
    if args.rewrites and new and not under_load:
        say(f"note: no rebuild finished while wrk ran (a rebuild under this load took longer than the run); "
            f"the swaps were checked by the verifier only. Try --seconds {max(45, 3 * args.seconds)}.")
    say(f"{'FAIL' if fails else 'PASS'} in {run.seconds:.0f} s" + "".join(f"\n  - {why}" for why in fails))
    return 1 if fails else 0


if __name__ == "__main__":
    run_main(main)
