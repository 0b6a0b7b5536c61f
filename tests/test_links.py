"""Links and ids made when rendering: the same as spelling them out with pathlib and quote()."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from feeds.config import Config
from feeds.links import article_id, article_link, expand_permalink
from feeds.parser import parse_article

from .conftest import make_config

segment = st.text(alphabet=st.sampled_from("ab.-_~ 文章%#?+é"), min_size=1, max_size=8).filter(
    lambda s: s not in (".", "..") and not s.startswith(".")
)
sources = st.lists(segment, min_size=1, max_size=3).map("/".join)


@given(sources)
def test_slug_and_name_as_pathlib_and_quote_make_them(source: str) -> None:
    config = make_config(Path("/content"), Path("/out"), permalink="{slug}|{name}|{title}|{hour}")
    when = datetime(2021, 7, 10, 13, 41, tzinfo=UTC)
    pure = PurePosixPath(source)
    expected_slug = quote(pure.with_suffix("").as_posix(), safe="/")  # what the parser did before
    got = expand_permalink(config, source, when, ())
    assert got == f"{expected_slug}|{quote(pure.stem, safe='')}|{expected_slug}|21"


def test_given_permalink_and_id_win(config: Config) -> None:
    text = "---\ntitle: t\ndate: 2021-07-10\npermalink: /p/1/\nid: urn:x:1\n---\n<p>x</p>"
    a = parse_article(text, "a.md", config)
    assert (article_link(a, config), article_id(a, config)) == ("https://news.example.com/p/1/", "urn:x:1")
