"""End to end with real parts: `feeds build`, gunicorn, HTTP, feedparser, newsboat, nginx.

Two gunicorn servers run for the session: ``served`` over a content folder that
never changes (its bytes are compared with the files `feeds build` wrote), and
``changing`` over a copy that the concurrency test rewrites while it reads.
"""

from __future__ import annotations

import calendar
import gzip
import hashlib
import http.client
import importlib.util
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from .conftest import ROOT, SEEDS, TYPES

HAS_BROTLI = importlib.util.find_spec("brotli") is not None
TTL_MINUTES = 15
CONFIG = f"""[site]
title = "中证财经快讯"
base_url = "https://news.example.com/"
description = "金融、证券、能源与宏观经济新闻"
author = "中证财经快讯编辑部"

[build]
content = "content"
output = "public"
items = 5

[category_slugs]
"金融" = "finance"

[serve]
ttl_minutes = {TTL_MINUTES}
reload_seconds = 0.2
"""
ACCESS_FORMAT = '%(m)s %(U)s %(s)s "%(a)s"'


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    site: Path  # holds config.toml, content/ and public/
    access_log: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def fetch(self, path: str, method: str = "GET", headers: dict[str, str] | None = None) -> Reply:
        return fetch(self.host, self.port, path, method, headers)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # names lowercased
    body: bytes


def fetch(host: str, port: int, path: str, method: str = "GET",
          headers: dict[str, str] | None = None) -> Reply:
    """One request, sent as written (no normalisation of the path)."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_site(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copytree(SEEDS, root / "content")
    (root / "config.toml").write_text(CONFIG, encoding="utf-8")
    return root


def feeds_build(site: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "feeds.cli", "build", "--config", str(site / "config.toml")],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr


@contextmanager
def gunicorn(site: Path) -> Iterator[Server]:
    port, log = free_port(), site / "access.log"
    command = [
        sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--threads", "4", "-w", "2",
        "-b", f"127.0.0.1:{port}", "--forwarded-allow-ips", "*", "--graceful-timeout", "5",
        "--access-logfile", str(log), "--access-logformat", ACCESS_FORMAT, "feeds.web:create_app()",
    ]
    env = {**os.environ, "FEEDS_CONFIG": str(site / "config.toml")}
    with open(site / "gunicorn.err", "wb") as err:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        server = Server("127.0.0.1", port, site, log)
        wait_healthy(server, proc)
        yield server
    finally:
        stop(proc)


def wait_healthy(server: Server, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            errors = (server.site / "gunicorn.err").read_text(errors="replace")
            pytest.fail(f"gunicorn exited with {proc.returncode}:\n{errors[-3000:]}")
        try:
            if server.fetch("/healthz").status == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "gunicorn did not answer /healthz in time"
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    site = make_site(tmp_path_factory.mktemp("e2e") / "site")
    feeds_build(site)
    with gunicorn(site) as server:
        yield server


@pytest.fixture(scope="session")
def changing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    site = make_site(tmp_path_factory.mktemp("e2e-changing") / "site")
    with gunicorn(site) as server:
        yield server


def built_files(site: Path) -> dict[str, bytes]:
    """Every published file `feeds build` wrote (hidden names are not published)."""
    public = site / "public"
    return {
        p.relative_to(public).as_posix(): p.read_bytes()
        for p in sorted(public.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(public).parts)
    }


def feed_paths(site: Path) -> list[str]:
    return [p for p in built_files(site) if p.endswith((".rss", ".atom"))]


def parse_feed(body: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


# --- bytes and types -------------------------------------------------------------


def test_served_bytes_equal_the_files_feeds_build_wrote(served: Server) -> None:
    files = built_files(served.site)
    assert {"index.html", "feeds.opml", "all.rss", "all.atom", "category/finance.rss"} <= set(files)
    assert len(files) >= 10
    for path, body in files.items():
        coding = CODINGS.get(path.rpartition(".")[2])
        if coding:  # a pre-compressed copy: what the app sends for that encoding
            path = path.rpartition(".")[0]
            reply = served.fetch(f"/{path}", headers={"Accept-Encoding": coding})
            assert reply.headers["content-encoding"] == coding, path
        else:
            reply = served.fetch(f"/{path}")
        assert reply.status == 200, path
        assert reply.body == body, path
        assert reply.headers["content-type"] == TYPES[path.rpartition(".")[2]], path
    assert served.fetch("/").body == files["index.html"]
    assert any(p.endswith(".gz") for p in files)


CODINGS = {"gz": "gzip", "br": "br"}


def test_every_feed_is_read_by_feedparser(served: Server) -> None:
    for path in feed_paths(served.site):
        parsed = parse_feed(served.fetch(f"/{path}").body)
        assert parsed.entries, path
        if path.endswith(".rss"):
            assert parsed.feed.ttl == str(TTL_MINUTES)


def test_opml_lists_every_rss_feed(served: Server) -> None:
    reply = served.fetch("/feeds.opml")
    assert reply.headers["content-type"] == "text/x-opml; charset=utf-8"
    root = etree.fromstring(reply.body)
    assert root.get("version") == "2.0"
    urls = [o.get("xmlUrl") for o in root.iter("outline") if o.get("type") == "rss"]
    rss = sorted(p for p in feed_paths(served.site) if p.endswith(".rss"))
    assert sorted(urls) == sorted(f"https://news.example.com/{p}" for p in rss)
    for url in urls:
        assert served.fetch(url.removeprefix("https://news.example.com")).status == 200


# --- headers ---------------------------------------------------------------------

ROUTES = ["/", "/index.html", "/all.rss", "/all.atom", "/category/finance.rss", "/category/finance.atom",
          "/feeds.opml"]


@pytest.mark.parametrize("path", ROUTES)
def test_caching_headers(served: Server, path: str) -> None:
    reply = served.fetch(path)
    assert re.fullmatch(r'"[0-9a-f]{32}"', reply.headers["etag"])
    assert reply.headers["cache-control"] == f"public, max-age={TTL_MINUTES * 60}"
    assert reply.headers["vary"] == "Accept-Encoding"
    assert int(reply.headers["content-length"]) == len(reply.body)
    parsedate_to_datetime(reply.headers["last-modified"])


def last_modified(reply: Reply) -> int:
    return int(parsedate_to_datetime(reply.headers["last-modified"]).timestamp())


def test_last_modified_is_the_newest_item_of_each_feed(served: Server) -> None:
    newest_of_all = 0
    for path in feed_paths(served.site):
        reply = served.fetch(f"/{path}")
        parsed = parse_feed(reply.body)
        assert last_modified(reply) == calendar.timegm(parsed.feed.updated_parsed), path
        if path.endswith(".atom"):
            newest = max(calendar.timegm(e.updated_parsed) for e in parsed.entries)
            assert last_modified(reply) == newest, path
            newest_of_all = max(newest, newest_of_all)
    for path in ("/", "/feeds.opml"):
        assert last_modified(served.fetch(path)) == newest_of_all


@pytest.mark.parametrize("path", ROUTES)
def test_gzip_and_brotli(served: Server, path: str) -> None:
    plain = served.fetch(path)
    zipped = served.fetch(path, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.body) == plain.body
    assert zipped.headers["etag"] == plain.headers["etag"][:-1] + '-gz"'
    if HAS_BROTLI:
        brotli = importlib.import_module("brotli")

        squeezed = served.fetch(path, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert squeezed.headers["content-encoding"] == "br"
        assert brotli.decompress(squeezed.body) == plain.body
        assert squeezed.headers["etag"] == plain.headers["etag"][:-1] + '-br"'


@pytest.mark.parametrize("path", [*ROUTES, "/all.atom?limit=2&page=3"])
@pytest.mark.parametrize("encoding", ["", "gzip"])
def test_304_round_trips(served: Server, path: str, encoding: str) -> None:
    sent = served.fetch(path, headers={"Accept-Encoding": encoding})
    validators = [{"If-None-Match": sent.headers["etag"]},
                  {"If-Modified-Since": sent.headers["last-modified"]},
                  {"If-None-Match": f'"nope", W/{sent.headers["etag"]}'}]
    for method in ("GET", "HEAD"):
        for validator in validators:
            again = served.fetch(path, method, headers={"Accept-Encoding": encoding, **validator})
            assert again.status == 304, (method, validator)
            assert again.body == b""
            for name in ("etag", "cache-control", "vary", "last-modified"):
                assert again.headers[name] == sent.headers[name], name
    changed = served.fetch(path, headers={"Accept-Encoding": encoding, "If-None-Match": '"other"',
                                          "If-Modified-Since": sent.headers["last-modified"]})
    assert changed.status == 200  # If-None-Match wins


@pytest.mark.parametrize("path", [*ROUTES, "/healthz", "/category/nope.rss", "/all.rss?page=x"])
def test_head_has_the_get_headers_and_no_body(served: Server, path: str) -> None:
    get, head = served.fetch(path), served.fetch(path, "HEAD")
    assert head.status == get.status
    assert head.body == b""
    drop = {"date"}
    assert {k: v for k, v in head.headers.items() if k not in drop} == {
        k: v for k, v in get.headers.items() if k not in drop}


# --- errors ----------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/category/nope.rss", "/category/../config.toml", "/%2e%2e/config.toml", "/category/%2e%2e/config.toml",
    "/category/%00.rss", "/..%2fconfig.toml", "/category/..%2f..%2fconfig.toml", "/public/all.rss",
    "/content/000_651e3118f59f4f36.txt", "/.feeds-manifest", "/category/FINANCE.rss", "/config.toml",
])
def test_404_with_a_short_plain_body(served: Server, path: str) -> None:
    reply = served.fetch(path)
    assert reply.status == 404
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.body.startswith(b"not found: ") and len(reply.body) < 200
    assert b"[site]" not in reply.body


def test_unknown_category_is_never_an_empty_feed(served: Server) -> None:
    reply = served.fetch("/category/nope.atom")
    assert (reply.status, reply.body) == (404, b"not found: /category/nope.atom\n")


def test_other_methods_are_405(served: Server) -> None:
    for method in ("POST", "PUT", "DELETE"):
        reply = served.fetch("/all.rss", method)
        assert reply.status == 405
        assert "GET" in reply.headers["allow"]


@pytest.mark.parametrize("headers", [
    {"If-Modified-Since": "Sun, 04 Jul 2021 02:00:00 +99999999999999999999"},
    {"If-Modified-Since": "\u00ff\u00fe"}, {"If-None-Match": "\u00ff"}, {"If-None-Match": '"'},
    {"Accept-Encoding": "gzip;q=nan, br;q=-1"}, {"Accept-Encoding": ";;;,,,"},
])
def test_malformed_headers_are_ignored(served: Server, headers: dict[str, str]) -> None:
    assert served.fetch("/all.rss", headers=headers).status == 200


@pytest.mark.parametrize("headers", [
    {"X-Forwarded-Proto": "https"}, {"X-Forwarded-Host": "evil.example"},
    {"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9;proto=https;host=evil.example"},
    {"X-Forwarded-Ssl": "on", "X-Forwarded-Port": "8443"},
])
def test_forwarded_headers_change_no_answer(served: Server, headers: dict[str, str]) -> None:
    # The README runs gunicorn with --forwarded-allow-ips '*': the app must build nothing from them.
    for path in ("/all.rss", "/", "/feeds.opml"):
        plain, forwarded = served.fetch(path), served.fetch(path, headers=headers)
        assert forwarded.status == plain.status == 200
        assert forwarded.body == plain.body
        assert forwarded.headers["etag"] == plain.headers["etag"]


@pytest.mark.parametrize(("query", "status"), [
    ("page=x", 400), ("page=0", 400), ("limit=ten", 400), ("page=99", 404), ("limit=0", 200),
    ("limit=99999", 200), ("utm_source=x", 200), ("page=%ff%fe", 400),
])
def test_bad_queries_are_400_or_404_never_500(served: Server, query: str, status: int) -> None:
    reply = served.fetch(f"/all.rss?{query}")
    assert reply.status == status
    if status == 400:
        assert reply.body.startswith(b"bad query: ")


def test_pages_over_http(served: Server) -> None:
    all_items = parse_feed(served.fetch("/all.atom").body)
    assert len(all_items.entries) == 5
    assert served.fetch("/all.atom?limit=99").body == served.fetch("/all.atom").body
    second = parse_feed(served.fetch("/all.atom?page=2").body)
    links = {link.rel: link.href for link in second.feed.links}
    assert links["first"] == "https://news.example.com/all.atom"
    assert links["next"] == "https://news.example.com/all.atom?page=3"
    assert links["last"] == "https://news.example.com/all.atom?page=4"
    first_ids = {e.id for e in all_items.entries}
    assert len(second.entries) == 5 and not first_ids & {e.id for e in second.entries}
    assert served.fetch("/all.rss?page=5").status == 404


# --- real feed readers -------------------------------------------------------------


@pytest.mark.skipif(shutil.which("newsboat") is None, reason="newsboat is not installed (apt-get install newsboat)")
def test_newsboat_stores_the_items_and_revalidates(served: Server, tmp_path: Path) -> None:
    url = f"{served.url}/category/finance.rss"
    (tmp_path / "urls").write_text(url + "\n", encoding="utf-8")
    (tmp_path / "config").write_text("", encoding="utf-8")
    command = ["newsboat", "-u", str(tmp_path / "urls"), "-c", str(tmp_path / "cache.db"),
               "-C", str(tmp_path / "config"), "-x", "reload"]
    env = {**os.environ, "HOME": str(tmp_path), "LC_ALL": "C.UTF-8"}
    for _ in range(5):  # the first fetch is a 200; later ones send the stored validators
        result = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        if wait_for_log(served, "GET /category/finance.rss 304", "newsboat", timeout=0.5):
            break
    else:
        pytest.fail("newsboat never got a 304")
    with sqlite3.connect(tmp_path / "cache.db") as db:
        stored = {row[0] for row in db.execute("SELECT title FROM rss_item WHERE feedurl = ?", (url,))}
        etag = db.execute("SELECT etag FROM rss_feed WHERE rssurl = ?", (url,)).fetchone()[0]
    expected = {e.title for e in parse_feed(served.fetch("/category/finance.rss").body).entries}
    assert stored == expected
    sent = {served.fetch("/category/finance.rss", headers={"Accept-Encoding": coding}).headers["etag"]
            for coding in ("", "gzip", "br")}
    assert etag in sent  # the ETag of the 304 is the one it keeps


def wait_for_log(server: Server, request: str, agent: str, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = server.access_log.read_text(encoding="utf-8", errors="replace").splitlines()
        if any(line.startswith(request) and agent in line for line in lines):
            return True
        time.sleep(0.05)
    return False


# --- nginx serving the built tree with the README's snippet ---------------------------


def nginx_snippet() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```nginx\n(.*?)```", text, re.S)
    assert found, "README.md has no ```nginx block"
    return found.group(1)


@contextmanager
def nginx(root: Path, public: Path, app_port: int) -> Iterator[tuple[str, int]]:
    port = free_port()
    server = nginx_snippet()
    server = re.sub(r"listen \d+;", f"listen 127.0.0.1:{port};", server)
    server = re.sub(r"root [^;]+;", f"root {public};", server)
    server = server.replace("127.0.0.1:8000", f"127.0.0.1:{app_port}")
    server = re.sub(r"max-age=\d+", f"max-age={TTL_MINUTES * 60}", server)  # [serve] ttl_minutes × 60
    temp = {name: root / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    conf = root / "nginx.conf"
    conf.write_text(
        f"daemon off;\nmaster_process off;\npid {root / 'nginx.pid'};\nerror_log {root / 'error.log'};\n"
        "events {}\nhttp {\n"
        f"  access_log off;\n  client_body_temp_path {temp['body']};\n  proxy_temp_path {temp['proxy']};\n"
        f"  fastcgi_temp_path {temp['fastcgi']};\n  uwsgi_temp_path {temp['uwsgi']};\n"
        f"  scgi_temp_path {temp['scgi']};\n{server}\n}}\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(["nginx", "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.fail(f"nginx exited: {proc.stderr.read().decode() if proc.stderr else ''}"
                            f"{(root / 'error.log').read_text(errors='replace')}")
            try:
                fetch("127.0.0.1", port, "/")
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield "127.0.0.1", port
    finally:
        stop(proc)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (apt-get install nginx)")
def test_nginx_snippet_serves_the_built_tree_like_the_app(served: Server, tmp_path: Path) -> None:
    with nginx(tmp_path, served.site / "public", served.port) as (host, port):
        files = built_files(served.site)
        for path, body in files.items():
            if path.rpartition(".")[2] in CODINGS:
                continue  # the copies nginx sends for Accept-Encoding, checked below
            app, static = served.fetch(f"/{path}"), fetch(host, port, f"/{path}")
            assert static.status == 200, path
            assert static.body == body, path
            for name in ("content-type", "cache-control"):
                assert static.headers[name] == app.headers[name], (path, name)
            zipped = fetch(host, port, f"/{path}", headers={"Accept-Encoding": "gzip"})
            assert zipped.headers["content-encoding"] == "gzip", path
            assert zipped.body == files[path + ".gz"], path  # gzip_static: the built copy
            assert gzip.decompress(zipped.body) == body, path
            assert zipped.headers["vary"] == "Accept-Encoding", path
            again = fetch(host, port, f"/{path}", headers={"If-None-Match": static.headers["etag"]})
            assert again.status == 304, path
        assert fetch(host, port, "/").body == built_files(served.site)["index.html"]
        assert fetch(host, port, "/category/nope.rss").status == 404
        assert fetch(host, port, "/.feeds-manifest").status == 403
        assert fetch(host, port, "/category/../.feeds-manifest").status in (400, 403)
        # Pages are not in the tree: the snippet hands requests with a query to the app.
        paged = fetch(host, port, "/all.atom?limit=2&page=2")
        assert paged.body == served.fetch("/all.atom?limit=2&page=2").body
        assert paged.headers["cache-control"] == served.fetch("/all.atom").headers["cache-control"]


# --- rebuilds under load ---------------------------------------------------------------

HAMMERED = ["/all.rss", "/all.atom", "/category/finance.rss", "/category/finance.atom"]
ROUNDS = 5
MAX_REQUESTS = 3000
NEW_ARTICLE = """---
title: '并发测试第{n}篇'
date: 2021-09-{day:02d} 10:00:00
categories:
 - 金融
---
<p>\u3000\u3000第{n}篇的正文。{padding}</p>
"""


def test_rebuilds_under_concurrent_requests(changing: Server) -> None:
    """Every answer is one complete, well-formed feed, old or new; none fails."""
    replies: list[tuple[str, Reply]] = []
    done = threading.Event()

    def reader(index: int) -> None:
        n = 0
        while not done.is_set() and len(replies) < MAX_REQUESTS:
            path = HAMMERED[(index + n) % len(HAMMERED)]
            replies.append((path, changing.fetch(path, headers={"Accept-Encoding": ""})))
            n += 1
            time.sleep(0.02)

    def served_everywhere(title: str, since: int) -> bool:
        """Has every hammered URL answered with the article ``title`` since reply ``since``?"""
        paths = {path for path, reply in replies[since:] if title.encode() in reply.body}
        return paths == set(HAMMERED)

    content = changing.site / "content"
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(reader, i) for i in range(8)]
        try:
            for n in range(1, ROUNDS + 1):
                # A new article, written in place (readers may catch it half-written), an old one changed.
                text = NEW_ARTICLE.format(n=n, day=n, padding="填充" * 500 * n)
                since = len(replies)
                (content / f"new-{n}.md").write_text(text, encoding="utf-8")
                victim = sorted(content.iterdir())[n]
                victim.write_bytes(victim.read_bytes().replace(b"\n---\n", b"\n---\n<p>\xe6\x94\xb9</p>\n", 1))
                deadline = time.monotonic() + 20
                while not served_everywhere(f"并发测试第{n}篇", since):
                    assert time.monotonic() < deadline, f"round {n} was never served"
                    assert not any(f.done() for f in futures), [f.exception() for f in futures]
                    time.sleep(0.02)
        finally:
            done.set()
        for future in futures:
            future.result()
    check_replies(replies)


def check_replies(replies: list[tuple[str, Reply]]) -> None:
    assert len(replies) >= 100
    parsed: set[str] = set()
    etags: dict[str, set[str]] = {}
    for path, reply in replies:
        assert reply.status == 200, (path, reply.status, reply.body[:200])
        assert int(reply.headers["content-length"]) == len(reply.body)
        etree.fromstring(reply.body)  # complete and well-formed
        digest = hashlib.sha256(reply.body).hexdigest()
        assert reply.headers["etag"] == f'"{digest[:32]}"'  # the validator of exactly these bytes
        etags.setdefault(path, set()).add(digest)
        if digest not in parsed:  # the same bytes parse the same: feedparser once per version
            parse_feed(reply.body)
            parsed.add(digest)
    # Each round was served on every URL before the next began: a version per round at least.
    assert all(len(versions) >= ROUNDS for versions in etags.values()), {p: len(v) for p, v in etags.items()}


# --- request hardening ---------------------------------------------------------------


def raw_request(served: Server, request: bytes) -> int:
    """Send bytes as they are; the status code of the answer (0 if the server just closed)."""
    with socket.create_connection((served.host, served.port), timeout=30) as sock:
        try:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)  # no more bytes: a server waiting for a line end gets EOF
        except OSError:
            pass  # the server answered and closed before reading it all (a 414/400): read that
        answer = b""
        while b"\r\n" not in answer:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return 0
            answer += chunk
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("request_bytes", [
    b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /all.rss HTTP/1.1\r\nHost: x\r\nX-Long: " + b"v" * 100_000 + b"\r\n\r\n",
    b"GET /all.rss HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(500)) + b"\r\n",
    b"FOO /all.rss HTTP/1.1\r\nHost: x\r\n\r\n",
    b"TRACE /all.rss HTTP/1.1\r\nHost: x\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    b"CONNECT news.example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /category/\x00.rss HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /all.rss?limit=" + b"9" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /all.rss HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: " + b"\xff" * 50 + b"\r\n\r\n",
    b"GET /all.rss HTTP/9.9\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 64,
], ids=["long-url", "long-header", "many-headers", "method-foo", "trace", "options", "connect", "nul",
        "traversal", "huge-limit", "bad-ims", "http-9.9", "tls-bytes"])
def test_hostile_requests_get_a_4xx_or_a_correct_answer(served: Server, request_bytes: bytes) -> None:
    status = raw_request(served, request_bytes)
    assert status == 0 or 200 <= status < 500, status
    assert status != 200 or request_bytes.startswith((b"GET /all.rss", b"OPTIONS"))
    assert served.fetch("/healthz").status == 200  # and the server is still there
