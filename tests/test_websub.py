"""WebSub publish pings against a real local HTTP server standing in for the hub."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import feedparser
import pytest

from feeds import __version__
from feeds.build import build
from feeds.config import Config
from feeds.websub import MAX_DELAY, PingResult, changed_feed_urls, ping_lines, publish

from .conftest import ROOT, WriteArticle, make_config

TOPICS = ["https://news.example.com/all.atom", "https://news.example.com/all.rss",
          "https://news.example.com/category/finance.rss"]


@dataclass(frozen=True)
class Answer:
    status: int = 204
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay: float = 0.0  # seconds to hold the answer back (to outlast a client's timeout)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    content_type: str
    user_agent: str
    form: dict[str, list[str]]


@dataclass
class Hub:
    """What the fake hub was sent, and the answers it is told to give (then 204)."""

    url: str
    seen: list[Seen] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, times: int, answer: Answer) -> None:
        self.answers.extend([answer] * times)

    def topics(self) -> list[str]:
        return [url for s in self.seen for url in s.form.get("hub.url", [])]


def _handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._answer()

        def do_GET(self) -> None:
            self._answer()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("ascii")
            with hub.lock:
                hub.seen.append(Seen(self.command, self.path, self.headers.get("Content-Type", ""),
                                     self.headers.get("User-Agent", ""), parse_qs(body, keep_blank_values=True)))
                answer = hub.answers.pop(0) if hub.answers else Answer()
            if answer.delay:
                hub.release.wait(answer.delay)  # set at teardown: no thread outlives the test for long
            try:
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except OSError:
                pass  # the client gave up (timeout)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Traffic goes straight to 127.0.0.1 whatever proxy the environment names."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def hub() -> Iterator[Hub]:
    state = Hub("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hub"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


class Sleeps(list[float]):
    """An injected sleep: records the delays, waits for none."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


class NoNetwork(urllib.request.OpenerDirector):
    def open(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("no request may be sent")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens on it any more


# --- the request itself ----------------------------------------------------------


def test_one_form_post_per_topic(hub: Hub, sleeps: Sleeps) -> None:
    results = publish(hub.url, TOPICS, sleep=sleeps)
    assert results == [PingResult(url, True, 204, f"{url}: hub answered 204") for url in TOPICS]
    assert [(s.method, s.path) for s in hub.seen] == [("POST", "/hub")] * 3
    assert {s.content_type for s in hub.seen} == {"application/x-www-form-urlencoded"}
    assert {s.user_agent for s in hub.seen} == {f"feeds/{__version__}"}
    assert [s.form for s in hub.seen] == [{"hub.mode": ["publish"], "hub.url": [url]} for url in TOPICS]
    assert sleeps == []


def test_query_and_non_ascii_topic_are_form_encoded(hub: Hub) -> None:
    topic = "https://news.example.com/category/金融.rss?a=1&b=2"
    assert publish(hub.url, [topic, topic])[0].ok  # duplicates are sent once
    assert hub.topics() == [topic]


def test_any_2xx_is_success(hub: Hub) -> None:
    hub.answers = [Answer(202, body=b"queued"), Answer(200)]
    results = publish(hub.url, TOPICS[:2])
    assert [(r.ok, r.status) for r in results] == [(True, 202), (True, 200)]


# --- retries ---------------------------------------------------------------------


def test_retries_5xx_with_exponential_backoff_then_succeeds(hub: Hub, sleeps: Sleeps) -> None:
    hub.fail(2, Answer(503))
    [result] = publish(hub.url, TOPICS[:1], retries=3, backoff=0.5, sleep=sleeps)
    assert result.ok and result.status == 204
    assert sleeps == [0.5, 1.0]
    assert hub.topics() == [TOPICS[0]] * 3


def test_gives_up_after_retries_tries(hub: Hub, sleeps: Sleeps) -> None:
    hub.fail(10, Answer(500))
    [result] = publish(hub.url, TOPICS[:1], retries=3, sleep=sleeps)
    assert result == PingResult(TOPICS[0], False, 500, f"{TOPICS[0]}: hub answered 500 after 3 tries")
    assert len(hub.seen) == 3
    assert sleeps == [1.0, 2.0]  # none after the last try


def test_429_honours_numeric_retry_after(hub: Hub, sleeps: Sleeps) -> None:
    hub.answers = [Answer(429, (("Retry-After", "7"),))]
    assert publish(hub.url, TOPICS[:1], sleep=sleeps)[0].ok
    assert sleeps == [7.0]


def test_retry_after_is_capped_and_a_date_falls_back_to_backoff(hub: Hub, sleeps: Sleeps) -> None:
    hub.answers = [Answer(503, (("Retry-After", "86400"),)),
                   Answer(503, (("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),))]
    assert publish(hub.url, TOPICS[:1], retries=3, backoff=0.25, sleep=sleeps)[0].ok
    assert sleeps == [MAX_DELAY, 0.5]


def test_backoff_is_capped(hub: Hub, sleeps: Sleeps) -> None:
    hub.fail(3, Answer(500))
    assert publish(hub.url, TOPICS[:1], retries=4, backoff=20, sleep=sleeps)[0].ok
    assert sleeps == [20, MAX_DELAY, MAX_DELAY]


def test_no_retry_on_400_and_the_hub_text_is_shown_safely(hub: Hub, sleeps: Sleeps) -> None:
    hub.answers = [Answer(400, (("Content-Type", "text/plain; charset=utf-8"),),
                          b"Topic URL \x1b[31mnot allowed\n" + b"x" * 500)]
    results = publish(hub.url, TOPICS[:2], sleep=sleeps)
    assert [(r.ok, r.status) for r in results] == [(False, 400), (True, 204)]  # the next topic is still sent
    message = results[0].message
    assert message.startswith(f"{TOPICS[0]}: hub refused it: 400 Bad Request: Topic URL [31mnot allowed x")
    assert "\x1b" not in message and "\n" not in message and len(message) < 300
    assert len(hub.seen) == 2 and sleeps == []


def test_a_redirect_is_reported_not_followed(hub: Hub, sleeps: Sleeps) -> None:
    hub.answers = [Answer(302, (("Location", "https://elsewhere.example/hub"),))]
    [result] = publish(hub.url, TOPICS[:1], sleep=sleeps)
    assert (result.ok, result.status) == (False, 302)
    assert "redirect to https://elsewhere.example/hub" in result.message
    assert [s.method for s in hub.seen] == ["POST"]  # no GET to the Location
    assert sleeps == []


def test_a_failing_hub_is_not_sent_the_other_topics(hub: Hub, sleeps: Sleeps) -> None:
    hub.fail(10, Answer(500))
    results = publish(hub.url, TOPICS, retries=2, sleep=sleeps)
    assert [r.ok for r in results] == [False, False, False]
    assert hub.topics() == [TOPICS[0], TOPICS[0]]
    assert results[1].message == f"{TOPICS[1]}: not sent: the hub failed for {TOPICS[0]}"
    assert results[1].status is None


# --- the hub never answers ------------------------------------------------------


def test_timeout_is_reported_not_raised(hub: Hub, sleeps: Sleeps) -> None:
    hub.fail(2, Answer(delay=5.0))
    start = time.monotonic()
    [result] = publish(hub.url, TOPICS[:1], timeout=0.2, retries=2, sleep=sleeps)
    assert time.monotonic() - start < 2.0
    assert result == PingResult(TOPICS[0], False, None,
                                f"{TOPICS[0]}: no answer from the hub within 0.2 s after 2 tries")
    assert len(hub.seen) == 2 and sleeps == [1.0]


def test_unreachable_hub_is_reported(sleeps: Sleeps) -> None:
    hub = f"http://127.0.0.1:{closed_port()}/hub"
    results = publish(hub, TOPICS[:2], retries=2, backoff=0.1, sleep=sleeps)
    assert [(r.ok, r.status) for r in results] == [(False, None), (False, None)]
    assert results[0].message.startswith(f"{TOPICS[0]}: cannot reach the hub (")
    assert results[0].message.endswith(") after 2 tries")
    assert "refused" in results[0].message.lower()
    assert results[1].message == f"{TOPICS[1]}: not sent: the hub failed for {TOPICS[0]}"
    assert sleeps == [0.1]


@pytest.mark.parametrize("bad", ["ftp://hub.example.com/", "hub.example.com", "", "https://", "/hub",
                                 "http://hub.example.com:port/", "http://[::1/", "https://hub.example.com/a b",
                                 "https://user:secret@hub.example.com/", "https://hüb.example.com/"])
def test_bad_hub_fails_every_topic_without_sending(bad: str) -> None:
    results = publish(bad, TOPICS, opener=NoNetwork())
    assert [(r.url, r.ok, r.status) for r in results] == [(url, False, None) for url in TOPICS]
    assert all(r.message.startswith(f"{r.url}: not sent: ") for r in results)
    assert "secret" not in results[0].message
    if bad.startswith("ftp"):
        assert results[0].message == f"{TOPICS[0]}: not sent: hub {bad!r} is not an absolute http(s) URL"


def test_bad_arguments_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="retries"):
        publish("https://hub.example.com/", TOPICS, retries=0, opener=NoNetwork())
    with pytest.raises(ValueError, match="timeout"):
        publish("https://hub.example.com/", TOPICS, timeout=0, opener=NoNetwork())


# --- which feeds changed ---------------------------------------------------------


def test_changed_feed_urls_picks_the_feed_documents(config: Config) -> None:
    written = ["all.rss", "all.rss.gz", "all.rss.br", "all.atom", "category/finance.atom",
               "category/finance.atom.gz", "feed.json", "index.html", "index.html.gz", "feeds.opml",
               "feeds.opml.br", "all.rss"]
    assert changed_feed_urls(written, config) == [
        "https://news.example.com/all.atom", "https://news.example.com/all.rss",
        "https://news.example.com/category/finance.atom", "https://news.example.com/feed.json",
    ]
    assert changed_feed_urls([], config) == []
    assert changed_feed_urls(["index.html", "feeds.opml.gz"], config) == []


def test_changed_feed_urls_use_feed_url(tmp_path: Path) -> None:
    config = make_config(tmp_path, tmp_path / "out", feed_url="https://cdn.example.com/feeds/")
    assert changed_feed_urls(["category/finance.rss"], config) == ["https://cdn.example.com/feeds/category/finance.rss"]


def test_a_real_build_pings_its_feeds_once(config: Config, write_article: WriteArticle, hub: Hub) -> None:
    write_article("a.md", title="第一篇")
    first = publish(hub.url, changed_feed_urls(build(config, jobs=1).write.written, config))
    assert [r.url for r in first] == [f"https://news.example.com/{path}.{fmt}" for path in ("all", "category/finance")
                                      for fmt in ("atom", "json", "rss")]
    assert all(r.ok for r in first)
    hub.seen.clear()
    again = changed_feed_urls(build(config, jobs=1).write.written, config)
    assert again == []
    assert publish(hub.url, again) == []
    assert hub.seen == []  # a build that changed nothing sends nothing


# --- what the user sees ----------------------------------------------------------


def test_ping_lines() -> None:
    ok = [PingResult(url, True, 204, f"{url}: hub answered 204") for url in TOPICS]
    hub = "https://hub.example.com/"
    assert ping_lines([], hub) == []
    assert ping_lines(ok, hub) == ["websub: notified https://hub.example.com/ of 3 changed feeds"]
    assert ping_lines(ok[:1], hub) == ["websub: notified https://hub.example.com/ of 1 changed feed"]
    bad = PingResult(TOPICS[2], False, 500, f"{TOPICS[2]}: hub answered 500 after 3 tries")
    assert ping_lines([*ok[:2], bad], hub) == [
        "websub: notified https://hub.example.com/ of 2 changed feeds (1 failed)",
        f"websub: warning: {TOPICS[2]}: hub answered 500 after 3 tries",
    ]
    assert ping_lines([bad], "https://user:pw@hub.example.com/") == [
        "websub: warning: could not notify the hub of 1 changed feed",
        f"websub: warning: {TOPICS[2]}: hub answered 500 after 3 tries",
    ]


# --- integration: config, feeds, the app, `feeds build` --------------------------------


def site_for(tmp_path: Path, hub_url: str) -> Path:
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "a.md").write_text(
        "---\ntitle: 一\ndate: 2021-07-10 10:00:00\ncategories: [金融]\nauthor: 中证网\n---\n<p>正文。</p>\n",
        encoding="utf-8")
    (tmp_path / "config.toml").write_text(
        f'[site]\ntitle = "t"\nbase_url = "https://news.example.com/"\n[build]\ncontent = "content"\n'
        f'[feeds]\ntags = false\nauthors = false\n[websub]\nhub = "{hub_url}"\nretries = 1\ntimeout = 2\n',
        encoding="utf-8")
    return tmp_path


def cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run([sys.executable, "-m", "feeds.cli", "build", *args], cwd=site, capture_output=True,
                          text=True, timeout=60, env={**env, "PYTHONPATH": str(ROOT)})


def test_build_pings_exactly_the_changed_feeds(hub: Hub, tmp_path: Path) -> None:
    site = site_for(tmp_path, hub.url)
    first = cli(site)
    assert first.returncode == 0, first.stderr
    assert sorted(hub.topics()) == [f"https://news.example.com/{path}.{fmt}" for path in ("all", "category/jin-rong")
                                    for fmt in ("atom", "json", "rss")]
    assert f"websub: notified {hub.url} of 6 changed feeds" in first.stderr
    seen = len(hub.seen)
    assert cli(site).returncode == 0
    assert len(hub.seen) == seen  # nothing changed, nothing sent
    (site / "content" / "a.md").write_text((site / "content" / "a.md").read_text().replace("一", "二"))
    assert cli(site, "--no-ping").returncode == 0
    assert len(hub.seen) == seen


def test_failed_ping_is_reported_and_does_not_fail_the_build(tmp_path: Path) -> None:
    site = site_for(tmp_path, f"http://127.0.0.1:{closed_port()}/hub")
    result = cli(site)
    assert result.returncode == 0
    assert "websub: warning: " in result.stderr
    assert (site / "public" / "all.rss").is_file()


def test_feeds_and_app_advertise_the_hub(tmp_path: Path) -> None:
    from feeds.config import load_config
    from feeds.web import create_app

    site = site_for(tmp_path, "https://hub.example.com/")
    config = load_config(site / "config.toml")
    assert (config.websub_hub, config.websub_retries, config.websub_timeout) == ("https://hub.example.com/", 1, 2.0)
    client = create_app(config).test_client()
    for fmt in ("rss", "atom"):
        response = client.get(f"/all.{fmt}")
        links = {link.rel: link.href for link in feedparser.parse(response.data).feed.links}
        assert links["hub"] == "https://hub.example.com/"
        assert links["self"] == f"https://news.example.com/all.{fmt}"
        assert response.headers["Link"] == (
            f'<https://hub.example.com/>; rel="hub", <https://news.example.com/all.{fmt}>; rel="self"')
        again = client.get(f"/all.{fmt}", headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.headers["Link"] == response.headers["Link"]
    assert "hub" not in {link.rel for link in feedparser.parse(client.get("/all.rss?page=1&limit=1").data).feed.links}


@pytest.mark.parametrize("bad", ["ftp://hub", "https://user:pw@hub.example.com/", "hub.example.com", "https://h b/"])
def test_bad_hub_in_config_is_one_line(tmp_path: Path, bad: str) -> None:
    from feeds.config import load_config
    from feeds.errors import ConfigError

    site = site_for(tmp_path, bad)
    with pytest.raises(ConfigError, match=r"\[websub\] hub: expected an absolute http\(s\) URL"):
        load_config(site / "config.toml")
