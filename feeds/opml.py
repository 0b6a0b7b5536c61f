"""feeds.opml: an OPML 2.0 subscription list of every feed (no I/O).

Only one URL of each feed is listed, the RSS one (else Atom, else JSON Feed,
as ``[feeds] formats`` publishes them): a reader that imports two formats of
one feed would show every item twice.
"""

from __future__ import annotations

import operator
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from itertools import chain

from feeds.config import Config
from feeds.plan import FeedSpec

ALL_FOLDER = "全部"
CATEGORY_FOLDER = "栏目"
FOLDERS = ((ALL_FOLDER, "all"), (CATEGORY_FOLDER, "category"), ("标签", "tag"), ("作者", "author"))


def render_opml(specs: Sequence[FeedSpec], config: Config) -> bytes:
    """The same bytes for the same feeds: the only date is the newest item's."""
    return opml_document(specs, config, newest_item(specs))


def opml_document(specs: Sequence[FeedSpec], config: Config, newest: datetime | None) -> bytes:
    """``render_opml``, given the newest item's time (``newest_item``): for histories kept in part."""
    root = ET.Element("opml", version="2.0")
    _head(ET.SubElement(root, "head"), newest, config)
    body = ET.SubElement(root, "body")
    for label, family in FOLDERS:
        members = [s for s in specs if s.family == family]
        if members:
            folder = ET.SubElement(body, "outline", text=label, title=label)
            for spec in members:
                ET.SubElement(folder, "outline", _feed_attributes(spec, config))
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{text}\n'.encode()


def _head(head: ET.Element, newest: datetime | None, config: Config) -> None:
    ET.SubElement(head, "title").text = f"{config.title} · 订阅"
    if newest is not None:
        ET.SubElement(head, "dateModified").text = format_datetime(newest.astimezone(UTC), usegmt=True)
    if config.author:
        ET.SubElement(head, "ownerName").text = config.author
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"


def _feed_attributes(spec: FeedSpec, config: Config) -> dict[str, str]:
    fmt = config.formats[0]  # in canonical order: RSS when published
    # OPML 2.0: type is "rss" for any feed; version has known values for RSS only.
    version = {"version": "RSS2"} if fmt == "rss" else {}
    return {
        "type": "rss",
        **version,
        "text": spec.title,
        "title": spec.title,
        "xmlUrl": spec.url(config, fmt),
        "htmlUrl": config.base_url,
        "language": config.language,
    }


def newest_item(specs: Sequence[FeedSpec]) -> datetime | None:
    """The newest time of any item of any feed; None when there is none."""
    return max(map(_MODIFIED, chain.from_iterable(s.history for s in specs)), default=None)


_MODIFIED = operator.attrgetter("modified")
