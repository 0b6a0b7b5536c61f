"""A feed document made again from its last bytes: new items rendered, the others kept as they were.

A rebuild after one edit renders the few feeds that show the edited
article, fifty items each, for one item that changed. An item's bytes in
a document depend on its article and the config alone, not on
the feed it is in nor on its neighbours: feeds.feed writes every item at the
same depth, under a root that declares the same namespaces, and the
pretty-printer indents it by its depth alone. So the document is the new
channel (or feed) elements around the items, each one either rendered now
(the articles ``fresh`` names, and those the last document did not show) or
cut out of the last document.

The items are found by their tags at the start of a line with their
indentation: text and attribute values are escaped, so ``<item>`` can only
be the element itself. A JSON Feed document is parsed, its items kept as
values, and dumped again. When anything is not as expected (another count
of items, a document made by something else) the answer is None and the
caller renders the whole document.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from feeds.config import Config
from feeds.entries import EntryCache
from feeds.models import Article
from feeds.plan import FeedView

FORMATS = ("rss", "atom", "json")
_TAGS = {"rss": (b"\n    <item>\n", b"\n    </item>\n"), "atom": (b"\n  <entry>\n", b"\n  </entry>\n")}


def split_items(document: bytes, fmt: str) -> tuple[bytes, list[bytes], bytes] | None:
    """(what comes before the first item, each item, what comes after the last), or None.

    Joined again, the three give ``document`` back. None when it has no
    item, or when an item's start tag is found after the last item (the
    items are not one run).
    """
    start, end = _TAGS[fmt]
    at = document.find(start)
    if at < 0:
        return None
    at += 1  # an item begins after the newline that ends the line before it
    head, items = document[:at], []
    while document.startswith(start, at - 1):
        stop = document.find(end, at)
        if stop < 0:
            return None
        stop += len(end)
        items.append(document[at:stop])
        at = stop
    tail = document[at:]
    return (head, items, tail) if start not in document[at - 1:] else None


def spliced(view: FeedView, fmt: str, config: Config, entries: EntryCache, last: bytes,
            last_items: Sequence[str], fresh: Collection[str]) -> bytes | None:
    """``view``'s document in ``fmt``, from ``last`` (its bytes as the last build wrote them).

    ``last_items`` are the sources of the items ``last`` shows, in order;
    ``fresh`` the sources whose articles changed since. None when ``last``
    does not hold those items, or no item needs rendering (then the
    channel's own elements changed: the whole document is rendered).
    """
    if fmt == "json":
        return _spliced_json(view, config, entries, last, last_items, fresh)
    if fmt not in FORMATS:
        return None
    from feeds.feed import render_feed  # feedgen: only for a document that changed

    parts = split_items(last, fmt)
    if parts is None or len(parts[1]) != len(last_items):
        return None

    def render(todo: list[Article]) -> tuple[tuple[bytes, bytes], list[bytes]] | None:
        made = split_items(render_feed(view, fmt, config, entries, todo), fmt)
        return None if made is None else ((made[0], made[2]), made[1])

    merged = _merged(view.items, dict(zip(last_items, parts[1], strict=True)), fresh, render)
    if merged is None:
        return None
    (head, tail), items = merged
    return b"".join([head, *items, tail])


def _spliced_json(view: FeedView, config: Config, entries: EntryCache, last: bytes,
                  last_items: Sequence[str], fresh: Collection[str]) -> bytes | None:
    """JSON Feed: the last document's items, parsed, beside the new ones; dumped again as one document.

    ``json.dumps`` writes one text for one value, so the items parsed back
    from the last document dump to the bytes they were.
    """
    import json

    from feeds.jsonfeed import dump, render_json

    try:
        document = json.loads(last)
    except ValueError:
        return None
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list) or len(items) != len(last_items) or dump(document) != last:
        return None

    def render(todo: list[Article]) -> tuple[dict[str, Any], list[Any]]:
        made = json.loads(render_json(view, config, entries, todo))
        return made, made["items"]

    merged = _merged(view.items, dict(zip(last_items, items, strict=True)), fresh, render)
    if merged is None:
        return None
    made, kept_and_new = merged
    made["items"] = kept_and_new
    return dump(made)


_Frame = TypeVar("_Frame")
_Item = TypeVar("_Item")


def _merged(shown: Sequence[Article], kept: Mapping[str, _Item], fresh: Collection[str],
            render: Callable[[list[Article]], tuple[_Frame, list[_Item]] | None]) -> tuple[_Frame, list[_Item]] | None:
    """The document's frame and its items, in ``shown``'s order: those of ``fresh`` articles and of
    articles ``kept`` lacks rendered now (``render``, the frame with them), the others ``kept``.

    None when nothing needs rendering, or ``render`` did not give one item an article.
    """
    todo = [a for a in shown if a.source in fresh or a.source not in kept]
    made = render(todo) if todo else None
    if made is None or len(made[1]) != len(todo):
        return None
    frame, items = made
    rendered = dict(zip((a.source for a in todo), items, strict=True))
    return frame, [rendered[a.source] if a.source in rendered else kept[a.source] for a in shown]
