"""Documents made again from their last bytes (feeds.splice): the same bytes as rendering them whole."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import feedparser
import pytest

from feeds.config import Config
from feeds.entries import EntryCache
from feeds.feed import render_feed
from feeds.models import Article
from feeds.parser import parse_article
from feeds.plan import FeedView, plan_feeds
from feeds.site import render_document
from feeds.splice import spliced, split_items

from .conftest import make_config

CONFIG = make_config(Path("c"), Path("o"), items=4, families=("category", "tag", "author"))
FORMATS = ("rss", "atom")
ALL_FORMATS = (*FORMATS, "json")


def article(n: int, *, title: str = "", meta: str = "", body: str = "") -> Article:
    text = (f"---\ntitle: '{title or f'第{n}篇'}'\ndate: 2021-07-{10 + n:02d} 09:{n:02d}:00\n"
            f"categories: [金融]\n{meta}---\n{body or f'<p>第{n}篇的正文。</p>'}\n")
    return parse_article(text, f"a{n:02d}.md", CONFIG)


def articles() -> list[Article]:
    """Items of every shape: authors with and without e-mail, images, tags, an empty body."""
    return [
        article(0, meta="author: {name: 张三, email: z@example.com}\nheadimg: https://img.example.com/0.jpg\n"),
        article(1, meta="tags: [利率, 央行]\nthumbnail: /t/1.png\n"),
        article(2, body="<p></p>"),
        article(3, meta="author: 新华社\nupdated: 2021-08-01 08:00:00\n"),
        article(4, meta="description: 摘要\n"),
        article(5, title="看似标签 <item> 与 <entry>",
                body="<pre>\n    <item>\n  <entry>\n</pre><p>]]&gt; 与 &lt;/item&gt;</p>"),
    ]


def entries() -> EntryCache:
    return EntryCache(CONFIG, body_of=lambda c, a: a.body or "")


def feed_view(shown: list[Article]) -> FeedView:
    spec = next(s for s in plan_feeds(shown, CONFIG) if s.path == "category/finance")
    return spec.view(CONFIG.items)


def sources(view: FeedView) -> list[str]:
    return [a.source for a in view.items]


@pytest.mark.parametrize("fmt", FORMATS)
def test_split_items_gives_the_document_back(fmt: str) -> None:
    for shown in (articles(), articles()[:1], articles()[2:]):
        view = feed_view(shown)
        document = render_feed(view, fmt, CONFIG, entries())
        parts = split_items(document, fmt)
        assert parts is not None
        head, items, tail = parts
        assert len(items) == len(view.items)
        assert head + b"".join(items) + tail == document
        tag = b"<item>" if fmt == "rss" else b"<entry>"
        assert all(item.strip().startswith(tag) for item in items)


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_that_looks_like_an_item_tag_stays_in_its_item(fmt: str) -> None:
    shown = articles()
    view = feed_view(shown)
    assert "a05.md" in sources(view)  # the look-alike is shown
    document = render_feed(view, fmt, CONFIG, entries())
    parts = split_items(document, fmt)
    assert parts is not None and len(parts[1]) == len(view.items)
    assert not feedparser.parse(document).bozo


def changes(shown: list[Article]) -> dict[str, tuple[list[Article], set[str]]]:
    """Name -> (the articles after the change, the sources that changed)."""
    edited = replace(shown[3], title="改过的标题", body="<p>新的正文。</p>")
    newer = replace(shown[4], updated=shown[4].published.replace(year=2022))  # the feed's updated moves
    added = article(9, meta="tags: [新能源]\n")  # the newest: it heads the feed, the oldest leaves it
    return {
        "body and title": ([*shown[:3], edited, *shown[4:]], {"a03.md"}),
        "updated": ([*shown[:4], newer, *shown[5:]], {"a04.md"}),
        "new article": ([*shown, added], {"a09.md"}),
        "two edits": ([*shown[:3], edited, newer, *shown[5:]], {"a03.md", "a04.md"}),
        "look-alike edited": ([*shown[:5], replace(shown[5], body="<pre>\n    </item>\n</pre>")], {"a05.md"}),
    }


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize("name", ["body and title", "updated", "new article", "two edits", "look-alike edited"])
def test_a_spliced_document_is_the_document_rendered_whole(fmt: str, name: str) -> None:
    before = articles()
    after, fresh = changes(before)[name]
    last_view, view = feed_view(before), feed_view(after)
    last = render_document(last_view, fmt, CONFIG, entries())
    made = spliced(view, fmt, CONFIG, entries(), last, sources(last_view), fresh)
    whole = render_document(view, fmt, CONFIG, entries())
    assert made == whole
    assert made != last


def test_only_the_fresh_items_are_rendered(monkeypatch: pytest.MonkeyPatch) -> None:
    import feeds.feed

    rendered: list[list[str]] = []
    real = feeds.feed.render_feed

    def spy(view: FeedView, fmt: str, config: Config, cache: EntryCache,
            items: list[Article] | None = None) -> bytes:
        rendered.append([a.source for a in (view.items if items is None else items)])
        return real(view, fmt, config, cache, items)

    before = articles()
    after, fresh = changes(before)["body and title"]
    last_view = feed_view(before)
    last = real(last_view, "atom", CONFIG, entries())
    monkeypatch.setattr(feeds.feed, "render_feed", spy)
    assert spliced(feed_view(after), "atom", CONFIG, entries(), last, sources(last_view), fresh) is not None
    assert rendered == [["a03.md"]]


_CUT = {"rss": b"</item>", "atom": b"</entry>", "json": b'"id"'}


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_a_last_document_that_is_not_what_it_should_be_gives_none(fmt: str) -> None:
    before = articles()
    after, fresh = changes(before)["body and title"]
    last_view, view = feed_view(before), feed_view(after)
    last = render_document(last_view, fmt, CONFIG, entries())
    shown = sources(last_view)
    other = "rss" if fmt != "rss" else "atom"
    for document, items in [
        (last, [*shown, "a00.md"]),  # one item more than it holds
        (last, shown[1:]),  # one less
        (b"<rss/>", shown),  # no item
        (b'{"items":{}}\n', shown),  # items that are not a list
        (render_document(last_view, other, CONFIG, entries()), shown),  # another format
        (last + last, shown),  # a second run of items after the tail
        (last[: last.rindex(_CUT[fmt])], shown),  # cut in its last item
    ]:
        assert spliced(view, fmt, CONFIG, entries(), document, items, fresh) is None
    assert spliced(view, fmt, CONFIG, entries(), last, shown, set()) is None  # nothing to render: render it whole
    assert spliced(view, "html", CONFIG, entries(), last, shown, fresh) is None


def test_a_json_document_not_as_dumps_writes_it_gives_none() -> None:
    """Parsed and dumped again, a document written by another hand would not be the same bytes."""
    before = articles()
    after, fresh = changes(before)["body and title"]
    last_view, view = feed_view(before), feed_view(after)
    last = render_document(last_view, "json", CONFIG, entries())
    spaced = last.replace(b'","', b'", "', 1)  # the same document, another text
    assert spliced(view, "json", CONFIG, entries(), spaced, sources(last_view), fresh) is None
    assert spliced(view, "json", CONFIG, entries(), last, sources(last_view), fresh) is not None


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_only_the_fresh_items_are_prepared(fmt: str) -> None:
    """Bodies are read and sanitised for the items rendered now only."""
    before = articles()
    after, fresh = changes(before)["body and title"]
    last_view = feed_view(before)
    last = render_document(last_view, fmt, CONFIG, entries())
    read: list[str] = []
    counting = EntryCache(CONFIG, body_of=lambda c, a: read.append(a.source) or a.body or "")
    assert spliced(feed_view(after), fmt, CONFIG, counting, last, sources(last_view), fresh) is not None
    assert read == ["a03.md"]
