"""Snapshot: every file with its compressed copies and validators, pages on demand."""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime

import pytest

from feeds.compress import COMPRESSORS, gzip_bytes
from feeds.config import Config
from feeds.loader import load_articles
from feeds.site import build_site
from feeds.snapshot import Snapshot, make_resource

from .conftest import WriteArticle


@pytest.fixture
def snapshot(config: Config, write_article: WriteArticle) -> Snapshot:
    for n in range(1, 6):
        write_article(f"a{n}.md", title=f"第{n}篇", date=f"2021-07-0{n} 10:00:00")
    return Snapshot(build_site(load_articles(config).published, config), config)


def test_gzip_is_deterministic() -> None:
    data = "中文".encode() * 1000
    assert gzip_bytes(data) == gzip_bytes(data)
    assert gzip_bytes(data)[4:8] == b"\0\0\0\0"  # no timestamp
    assert gzip.decompress(gzip_bytes(data)) == data


def test_every_variant_has_its_own_strong_etag() -> None:
    body = b"<rss/>" * 100
    resource = make_resource("all.rss", body, datetime(2021, 7, 1, tzinfo=UTC))
    digest = hashlib.sha256(body).hexdigest()[:32]
    assert resource.media_type == "application/rss+xml; charset=utf-8"
    assert resource.variants["identity"].etag == f'"{digest}"'
    assert resource.variants["gzip"].etag == f'"{digest}-gz"'
    assert set(resource.variants) == {"identity", *COMPRESSORS}
    assert len({v.etag for v in resource.variants.values()}) == len(resource.variants)


def test_files_are_the_build_files(snapshot: Snapshot) -> None:
    assert set(snapshot.resources) == set(snapshot.site.files)
    for path, resource in snapshot.resources.items():
        assert resource.variants["identity"].body == snapshot.site.files[path]
        assert resource.last_modified == snapshot.site.updated[path]


def test_pages(snapshot: Snapshot) -> None:
    assert snapshot.page("all.rss", None, 1) is snapshot.get("all.rss")
    assert snapshot.page("all.rss", 1000, 1) is snapshot.get("all.rss")
    assert snapshot.page("all.rss", 2, 3) is not None
    assert snapshot.page("all.rss", 2, 4) is None
    assert snapshot.page("all.rss", 0, 5) is not None  # limit 0 is 1
    assert snapshot.page("nope.rss", 2, 1) is None
    assert snapshot.page("index.html", 2, 1) is None
    assert snapshot.page("all.rss", 2, 2) is snapshot.page("all.rss", 2, 2)  # rendered once
    assert snapshot.articles == 5
