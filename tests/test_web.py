"""The app through Flask's test client: routes, headers, conditional GET, pages, reload."""

from __future__ import annotations

import gzip
import importlib.util
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from feeds.config import Config
from feeds.errors import ConfigError
from feeds.loader import load_articles
from feeds.reload import LiveSite
from feeds.site import render_site
from feeds.web import create_app

from .conftest import ARTICLE, TYPES, WriteArticle, make_config

HAS_BROTLI = importlib.util.find_spec("brotli") is not None
ARTICLES = [  # name, title, date (site time), categories
    ("a1.md", "第一篇", "2021-07-01 10:00:00", ("金融",)),
    ("a2.md", "第二篇", "2021-07-02 10:00:00", ("金融", "股市")),
    ("a3.md", "第三篇", "2021-07-03 10:00:00", ("股市",)),
    ("a4.md", "第四篇", "2021-07-04 10:00:00", ("金融",)),
    ("a5.md", "第五篇", "2021-07-05 10:00:00", ("能源",)),
]
FEED = "/category/finance.rss"  # 第四篇, 第二篇, 第一篇


def write_articles(folder: Path) -> None:
    for name, title, date, categories in ARTICLES:
        cats = "\n".join(f" - {c}" for c in categories)
        (folder / name).write_text(ARTICLE.format(title=title, date=date, categories=cats), encoding="utf-8")


@pytest.fixture(scope="module")
def shared_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    root = tmp_path_factory.mktemp("web")
    (root / "content").mkdir()
    write_articles(root / "content")
    return make_config(root / "content", root / "public", reload_seconds=0, ttl_minutes=20)


@pytest.fixture(scope="module")
def client(shared_config: Config) -> Iterator[FlaskClient]:
    """For tests that only read: one app for the module."""
    app = create_app(shared_config)
    yield app.test_client()
    live(app).close()


@pytest.fixture
def site_config(config: Config) -> Config:
    """For tests that change the content folder: their own copy."""
    write_articles(config.content)
    return replace(config, reload_seconds=0, ttl_minutes=20)


@pytest.fixture
def app(site_config: Config) -> Iterator[Flask]:
    app = create_app(site_config)
    yield app
    live(app).close()


@pytest.fixture
def own_client(app: Flask) -> FlaskClient:
    return app.test_client()


def live(app: Flask) -> LiveSite:
    site = app.extensions["feeds"]
    assert isinstance(site, LiveSite)
    return site


def built_files(config: Config) -> dict[str, bytes]:
    return render_site(load_articles(config).published, config)


def titles(body: bytes) -> list[str]:
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [e.title for e in parsed.entries]


def http_time(response: TestResponse) -> float:
    return parsedate_to_datetime(response.headers["Last-Modified"]).timestamp()


# --- routes and bytes -------------------------------------------------------


def test_every_built_file_is_served_with_the_same_bytes_and_type(
    client: FlaskClient, shared_config: Config
) -> None:
    files = built_files(shared_config)
    assert {"all.rss", "all.atom", "category/finance.rss", "index.html", "feeds.opml"} <= set(files)
    for path, body in files.items():
        response = client.get(f"/{path}")
        assert response.status_code == 200, path
        assert response.data == body, path
        assert response.headers["Content-Type"] == TYPES[path.rpartition(".")[2]]
        assert response.headers["Vary"] == "Accept-Encoding"
        assert "Content-Encoding" not in response.headers


def test_root_is_the_index_page_with_autodiscovery(client: FlaskClient) -> None:
    root, index = client.get("/"), client.get("/index.html")
    assert root.data == index.data
    assert root.headers["ETag"] == index.headers["ETag"]
    assert b'<link rel="alternate" type="application/rss+xml"' in root.data
    assert b'href="https://news.example.com/category/finance.atom"' in root.data


def test_feeds_are_read_by_feedparser(client: FlaskClient) -> None:
    assert titles(client.get(FEED).data) == ["第四篇", "第二篇", "第一篇"]
    assert titles(client.get("/all.atom").data) == ["第五篇", "第四篇", "第三篇", "第二篇", "第一篇"]


@pytest.mark.parametrize("path", [
    "/category/nope.rss", "/category/Finance.rss", "/category/finance.xml", "/category/finance.rss/",
    "/category/-x.rss", "/all.xml", "/all", "/category/", "/config.toml", "/public/all.rss",
    "/category/../config.toml", "/%2e%2e/config.toml", "/category/%2e%2e%2fconfig.toml",
    "/category/%00.rss", "/static/x", "/.feeds-manifest", "/category/..%2f..%2fall.rss",
])
def test_unknown_paths_are_a_plain_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.data.startswith(b"not found: /")
    assert len(response.data) < 200


def test_unknown_category_message_is_exact(client: FlaskClient) -> None:
    assert client.get("/category/nope.rss").data == b"not found: /category/nope.rss\n"
    assert client.get("/category/%00.rss").data == b"not found: /category/%00.rss\n"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(client: FlaskClient, method: str) -> None:
    response = client.open(FEED, method=method)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.data == b"405 Method Not Allowed\n"


@pytest.mark.parametrize("path", ["/", "/index.html", "/all.rss", "/all.atom", FEED, "/feeds.opml",
                                  "/healthz", "/category/nope.rss", "/all.rss?limit=1&page=2"])
@pytest.mark.parametrize("encoding", ["", "gzip"])
def test_head_matches_get_without_a_body(client: FlaskClient, path: str, encoding: str) -> None:
    headers = {"Accept-Encoding": encoding}
    get, head = client.get(path, headers=headers), client.head(path, headers=headers)
    assert head.status_code == get.status_code
    assert head.data == b""
    assert dict(head.headers) == dict(get.headers)
    assert int(head.headers["Content-Length"]) == len(get.data)


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data == b"ok\n5 articles, 4 feeds\n"


# --- caching headers ----------------------------------------------------------


def test_validators_and_cache_control(client: FlaskClient) -> None:
    response = client.get(FEED)
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) == 34  # strong
    assert response.headers["Cache-Control"] == "public, max-age=1200"
    assert feedparser.parse(response.data).feed.ttl == "20"
    assert response.headers["Last-Modified"] == "Sun, 04 Jul 2021 02:00:00 GMT"  # 第四篇, 10:00 +08:00
    assert client.get("/category/neng-yuan.atom").headers["Last-Modified"] == "Mon, 05 Jul 2021 02:00:00 GMT"
    for path in ("/", "/feeds.opml", "/all.rss"):
        assert client.get(path).headers["Last-Modified"] == "Mon, 05 Jul 2021 02:00:00 GMT"


def test_etag_is_from_the_content_and_stable_across_apps(shared_config: Config, client: FlaskClient) -> None:
    other = create_app(shared_config).test_client()
    for path in ("/all.rss", "/all.atom", FEED, "/", "/feeds.opml"):
        assert other.get(path).headers["ETag"] == client.get(path).headers["ETag"]
    assert len({client.get(p).headers["ETag"] for p in ("/all.rss", "/all.atom", FEED)}) == 3


def test_gzip_when_accepted_with_its_own_etag(client: FlaskClient) -> None:
    plain = client.get(FEED)
    zipped = client.get(FEED, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + '-gz"'
    assert zipped.data == client.get(FEED, headers={"Accept-Encoding": "gzip"}).data  # computed once


@pytest.mark.skipif(not HAS_BROTLI, reason="brotli is not installed")
def test_brotli_preferred_when_accepted(client: FlaskClient) -> None:
    brotli = importlib.import_module("brotli")

    plain = client.get(FEED)
    response = client.get(FEED, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["Content-Encoding"] == "br"
    assert brotli.decompress(response.data) == plain.data
    assert response.headers["ETag"] == plain.headers["ETag"][:-1] + '-br"'


@pytest.mark.parametrize(("header", "expected"), [
    ("gzip;q=0", None), ("identity", None), ("deflate", None), ("gzip;q=abc", None), (",;,=q", None),
    ("GZIP", "gzip"), ("x, gzip;q=0.5", "gzip"), ("br;q=0.1, gzip;q=0.9", "gzip"),
    ("*;q=0", None), ("br;q=0, gzip;q=0", None),
])
def test_accept_encoding_choices(client: FlaskClient, header: str, expected: str | None) -> None:
    response = client.get(FEED, headers={"Accept-Encoding": header})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == expected


def test_wildcard_accept_encoding_compresses(client: FlaskClient) -> None:
    response = client.get(FEED, headers={"Accept-Encoding": "*"})
    assert response.headers["Content-Encoding"] == ("br" if HAS_BROTLI else "gzip")


# --- conditional GET ------------------------------------------------------------


def assert_not_modified(response: TestResponse, sent: TestResponse) -> None:
    assert response.status_code == 304
    assert response.data == b""
    for name in ("ETag", "Cache-Control", "Vary", "Last-Modified"):
        assert response.headers[name] == sent.headers[name], name
    assert "Content-Encoding" not in response.headers


@pytest.mark.parametrize("path", ["/", "/index.html", "/all.rss", "/all.atom", FEED, "/feeds.opml",
                                  "/all.atom?limit=2&page=2"])
@pytest.mark.parametrize("encoding", ["", "gzip"])
def test_round_trip_with_the_etag_sent(client: FlaskClient, path: str, encoding: str) -> None:
    sent = client.get(path, headers={"Accept-Encoding": encoding})
    again = client.get(path, headers={"Accept-Encoding": encoding, "If-None-Match": sent.headers["ETag"]})
    assert_not_modified(again, sent)
    head = client.head(path, headers={"Accept-Encoding": encoding, "If-None-Match": sent.headers["ETag"]})
    assert_not_modified(head, sent)


@pytest.mark.parametrize("path", ["/", "/all.rss", FEED, "/feeds.opml", "/all.rss?limit=1"])
def test_round_trip_with_the_last_modified_sent(client: FlaskClient, path: str) -> None:
    sent = client.get(path)
    again = client.get(path, headers={"If-Modified-Since": sent.headers["Last-Modified"]})
    assert_not_modified(again, sent)


@pytest.mark.parametrize(("template", "status"), [
    ("{etag}", 304), ('"x", {etag}', 304), ('"x",{etag} , "y"', 304), ("W/{etag}", 304),
    ('"x", W/{etag}', 304), ("*", 304), ('"x"', 200), ("{etag_gz}", 200), ('"x", *', 304),
    ("", 200), ("garbage", 200), ('"unterminated', 200), ("{bare}", 200),
])
def test_if_none_match_lists(client: FlaskClient, template: str, status: int) -> None:
    etag = client.get(FEED).headers["ETag"]
    value = template.format(etag=etag, etag_gz=etag[:-1] + '-gz"', bare=etag.strip('"'))
    assert client.get(FEED, headers={"If-None-Match": value}).status_code == status


def test_if_none_match_wins_over_if_modified_since(client: FlaskClient) -> None:
    sent = client.get(FEED)
    later = format_datetime(parsedate_to_datetime(sent.headers["Last-Modified"]).replace(year=2030), usegmt=True)
    headers = {"If-None-Match": '"other"', "If-Modified-Since": later}
    assert client.get(FEED, headers=headers).status_code == 200
    headers = {"If-None-Match": sent.headers["ETag"], "If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}
    assert client.get(FEED, headers=headers).status_code == 304


@pytest.mark.parametrize(("value", "status"), [
    ("Sun, 04 Jul 2021 02:00:00 GMT", 304),  # equal
    ("Sun, 04 Jul 2021 02:00:01 GMT", 304),  # after
    ("Sun, 04 Jul 2021 10:00:00 +0800", 304),  # equal, another zone
    ("Sunday, 04-Jul-21 02:00:00 GMT", 304),  # RFC 850
    ("Sun Jul  4 02:00:00 2021", 304),  # asctime
    ("Sun, 04 Jul 2021 01:59:59 GMT", 200),  # before
    ("yesterday", 200), ("", 200), ("Sun, 04 Jul 2021 02:00:00 +99999999999999999999", 200),
    ("Mon, 01 Jan 99999 00:00:00 GMT", 200), ("Sun, 04 Jul 2021 99:00:00 GMT", 200),
])
def test_if_modified_since(client: FlaskClient, value: str, status: int) -> None:
    assert client.get(FEED, headers={"If-Modified-Since": value}).status_code == status


# --- ?limit and ?page -----------------------------------------------------------


def test_limit_is_clamped_to_one_and_items(client: FlaskClient, shared_config: Config) -> None:
    assert titles(client.get("/all.rss?limit=2").data) == ["第五篇", "第四篇"]
    for value in ("0", "-3", "1", "+1", "01"):
        assert titles(client.get(f"/all.rss?limit={value}").data) == ["第五篇"], value
    canonical = client.get("/all.rss")
    for value in (str(shared_config.items), "1000", "9" * 40):
        response = client.get(f"/all.rss?limit={value}")
        assert response.data == canonical.data, value
        assert response.headers["ETag"] == canonical.headers["ETag"]


def test_limit_clamps_to_the_configured_items(shared_config: Config) -> None:
    app = create_app(replace(shared_config, items=2))
    client = app.test_client()
    assert titles(client.get("/all.rss?limit=40").data) == ["第五篇", "第四篇"]
    assert client.get("/all.rss?limit=40").data == client.get("/all.rss").data


def test_pages_hold_older_items_with_their_own_validators(client: FlaskClient) -> None:
    first = client.get("/all.rss?limit=2")
    second = client.get("/all.rss?limit=2&page=2")
    assert titles(second.data) == ["第三篇", "第二篇"]
    assert titles(client.get("/all.rss?limit=2&page=3").data) == ["第一篇"]
    assert second.headers["ETag"] != first.headers["ETag"]
    assert second.headers["Last-Modified"] == "Sat, 03 Jul 2021 02:00:00 GMT"
    assert second.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert client.get("/all.rss?page=2&limit=2").data == second.data
    zipped = client.get("/all.rss?limit=2&page=2", headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(zipped.data) == second.data
    assert zipped.headers["ETag"] == second.headers["ETag"][:-1] + '-gz"'


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_page_links_follow_rfc_5005(client: FlaskClient, fmt: str) -> None:
    base = f"https://news.example.com/all.{fmt}"
    parsed = feedparser.parse(client.get(f"/all.{fmt}?limit=2&page=2").data)
    assert not parsed.bozo
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == f"{base}?limit=2&page=2"
    assert links["first"] == f"{base}?limit=2"
    assert links["previous"] == f"{base}?limit=2"
    assert links["next"] == f"{base}?limit=2&page=3"
    assert links["last"] == f"{base}?limit=2&page=3"
    last = feedparser.parse(client.get(f"/all.{fmt}?limit=2&page=3").data)
    assert "next" not in {link.rel for link in last.feed.links}
    canonical = feedparser.parse(client.get(f"/all.{fmt}").data)
    assert {link.rel for link in canonical.feed.links} <= {"self", "alternate"}


@pytest.mark.parametrize(("query", "status", "body"), [
    ("page=0", 400, b"bad query: page must be a positive integer, got '0'\n"),
    ("page=-1", 400, b"bad query: page must be a positive integer, got '-1'\n"),
    ("page=x", 400, b"bad query: page must be a positive integer, got 'x'\n"),
    ("page=1.5", 400, b"bad query: page must be a positive integer, got '1.5'\n"),
    ("page=", 400, b"bad query: page must be a positive integer, got ''\n"),
    ("page=%D9%A1", 400, b"bad query: page must be a positive integer, got '\xd9\xa1'\n"),
    ("limit=abc", 400, b"bad query: limit must be an integer, got 'abc'\n"),
    ("limit=1e3", 400, b"bad query: limit must be an integer, got '1e3'\n"),
    ("page=2", 404, b"not found: /all.rss?page=2\n"),
    ("limit=2&page=4", 404, b"not found: /all.rss?limit=2&page=4\n"),
    ("page=" + "9" * 5000, 404, None),
])
def test_bad_pages(client: FlaskClient, query: str, status: int, body: bytes | None) -> None:
    response = client.get(f"/all.rss?{query}")
    assert response.status_code == status
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    if body is not None:
        assert response.data == body


def test_page_query_on_an_unknown_feed_is_404(client: FlaskClient) -> None:
    assert client.get("/category/nope.rss?page=2").status_code == 404


def test_other_queries_are_ignored(client: FlaskClient) -> None:
    canonical = client.get("/all.rss").data
    for query in ("utm_source=x", "page=1", "x=%ff%00", "limit=50&page=1"):
        assert client.get(f"/all.rss?{query}").data == canonical, query
    assert client.get("/index.html?page=x").status_code == 200
    assert client.get("/feeds.opml?limit=x").status_code == 200


# --- reload ---------------------------------------------------------------------


def test_refresh_serves_a_new_article(app: Flask, own_client: FlaskClient, write_article: WriteArticle) -> None:
    before = own_client.get("/all.rss")
    assert live(app).refresh() is False  # nothing changed
    write_article("a6.md", title="第六篇", date="2021-07-06 10:00:00", categories=("金融",))
    assert live(app).refresh() is True
    after = own_client.get("/all.rss")
    assert titles(after.data)[0] == "第六篇"
    assert after.headers["ETag"] != before.headers["ETag"]
    assert own_client.get("/all.rss", headers={"If-None-Match": before.headers["ETag"]}).status_code == 200
    assert own_client.get("/healthz").data.startswith(b"ok\n6 articles")


def test_watcher_thread_rebuilds_on_its_own(site_config: Config, write_article: WriteArticle) -> None:
    app = create_app(replace(site_config, reload_seconds=0.05))
    client = app.test_client()
    try:
        client.get("/healthz")
        write_article("a6.md", title="第六篇", date="2021-07-06 10:00:00", categories=("金融",))
        deadline = time.monotonic() + 10
        while titles(client.get(FEED).data)[0] != "第六篇":
            assert time.monotonic() < deadline, "the app never rebuilt"
            time.sleep(0.02)
    finally:
        live(app).close()


def test_failed_rebuild_keeps_the_last_good_feeds(app: Flask, own_client: FlaskClient, site_config: Config) -> None:
    before = {path: own_client.get(path).data for path in ("/all.rss", FEED, "/feeds.opml")}
    shutil.rmtree(site_config.content)
    assert live(app).refresh() is False
    assert {path: own_client.get(path).data for path in before} == before
    health = own_client.get("/healthz")
    assert health.status_code == 200
    assert b"stale: the last rebuild failed: " in health.data
    assert b"content folder does not exist" in health.data


def test_an_emptied_folder_keeps_the_last_good_feeds(app: Flask, own_client: FlaskClient, site_config: Config) -> None:
    before = own_client.get("/all.rss").data
    for path in site_config.content.iterdir():
        path.unlink()
    assert live(app).refresh() is False
    assert own_client.get("/all.rss").data == before
    assert b"stale: " in own_client.get("/healthz").data


def test_a_bad_article_is_skipped_not_fatal(app: Flask, own_client: FlaskClient, write_article: WriteArticle) -> None:
    write_article("bad.md", text="---\ntitle: t\ndate: sometime\n---\n")
    write_article("a6.md", title="第六篇", date="2021-07-06 10:00:00")
    assert live(app).refresh() is True
    assert titles(own_client.get("/all.rss").data)[0] == "第六篇"


# --- configuration --------------------------------------------------------------

CONFIG = """[site]
title = "环境变量站"
base_url = "https://env.example.com/"

[build]
content = "articles"

[serve]
reload_seconds = 0
"""


def test_create_app_reads_feeds_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       write_article: WriteArticle, content: Path) -> None:
    write_article("a1.md", title="第一篇")
    shutil.copytree(content, tmp_path / "site" / "articles")
    (tmp_path / "site" / "config.toml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("FEEDS_CONFIG", str(tmp_path / "site" / "config.toml"))
    parsed = feedparser.parse(create_app().test_client().get("/all.atom").data)
    assert parsed.feed.title == "环境变量站"
    assert [e.title for e in parsed.entries] == ["第一篇"]


def test_create_app_defaults_to_config_toml_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FEEDS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^config.toml: no such config file \(set FEEDS_CONFIG="):
        create_app()
    (tmp_path / "articles").mkdir()
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    assert create_app().test_client().get("/healthz").data == b"ok\n0 articles, 1 feeds\n"


def test_start_up_fails_loudly_without_a_content_folder(shared_config: Config, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="content folder does not exist"):
        create_app(replace(shared_config, content=tmp_path / "missing"))
