"""FeedSpec -> RSS 2.0 / Atom 1.0 bytes. The only module that imports feedgen."""

from __future__ import annotations

import html
from collections.abc import Sequence

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds import __version__
from feeds.config import Config
from feeds.entries import Entry, EntryCache, site_author
from feeds.links import TAG_DATE
from feeds.models import Article
from feeds.plan import FeedView

GENERATOR = ("feeds", __version__)


class AtomLinks(BaseEntryExtension):  # type: ignore[misc]
    """Atom entry links with their rel/type/length.

    feedgen 1.0's ``atom_entry`` drops every attribute but href of an entry's
    links (a shadowed variable), which turns an image enclosure into a second
    alternate link; this writes them itself.
    """

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        for attrs in self.links:
            etree.SubElement(entry, "link", attrs)
        return entry


ATOM_NS = "http://www.w3.org/2005/Atom"


class ChannelLinks(BaseExtension):  # type: ignore[misc]
    """``<atom:link>`` elements in an RSS channel beyond ``rel="self"``.

    feedgen puts only the self link into RSS; RFC 5005 paging links (and a
    WebSub hub) belong there too.
    """

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_ns(self) -> dict[str, str]:
        return {"atom": ATOM_NS}

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        channel = feed[0]
        for attrs in self.links:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", attrs)
        return feed


FH_NS = "http://purl.org/syndication/history/1.0"


class ArchiveMark(BaseExtension):  # type: ignore[misc]
    """``<fh:archive/>``: this document is an RFC 5005 archive, not the current feed."""

    def extend_ns(self) -> dict[str, str]:
        return {"fh": FH_NS}

    def _mark(self, parent: etree._Element) -> None:
        etree.SubElement(parent, f"{{{FH_NS}}}archive")

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        self._mark(feed)
        return feed

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        self._mark(feed[0])
        return feed


def render_feed(view: FeedView, fmt: str, config: Config, entries: EntryCache,
                items: Sequence[Article] | None = None) -> bytes:
    """One feed document in one format ("rss" or "atom").

    ``items``: only these of the view's items (in its order), under the
    view's own channel or feed elements (``feeds.splice``).
    """
    fg = _generator(view, fmt, config)
    for article in view.items if items is None else items:
        _add_entry(fg, entries(article), fmt, config)
    if fmt == "rss":
        return bytes(fg.rss_str(pretty=True))
    return bytes(fg.atom_str(pretty=True))


def _generator(view: FeedView, fmt: str, config: Config) -> FeedGenerator:
    spec = view.spec
    fg = FeedGenerator()
    fg.load_extension("media")
    if fmt == "rss":
        fg.load_extension("dc")
        fg.register_extension("channellinks", ChannelLinks, BaseEntryExtension, atom=False, rss=True)
    else:
        fg.register_extension("atomlinks", BaseExtension, AtomLinks, atom=True, rss=False)
    if view.archived:
        fg.register_extension("archivemark", ArchiveMark, BaseEntryExtension)
    fg.id(f"tag:{config.domain},{TAG_DATE}:feed/{spec.path}")
    fg.title(spec.title)
    fg.author({"name": site_author(config).name})
    fg.link(href=view.url(config, fmt), rel="self", type=_MIME[fmt])
    for rel, href in view.paging_links(config, fmt).items():
        if fmt == "rss":
            fg.channellinks.links.append({"href": href, "rel": rel, "type": _MIME[fmt]})
        else:
            fg.link(href=href, rel=rel, type=_MIME[fmt])
    hub = view.hub(config)
    if hub and fmt == "rss":
        fg.channellinks.links.append({"href": hub, "rel": "hub"})
    elif hub:
        fg.link(href=hub, rel="hub")
    fg.link(href=config.base_url, rel="alternate", type="text/html")  # last: RSS <link>
    fg.description(config.description or config.title)
    fg.language(config.language)
    fg.generator(*GENERATOR)
    fg.updated(view.updated)
    fg.lastBuildDate(view.updated)
    fg.ttl(config.ttl_minutes)
    return fg


_MIME = {"rss": "application/rss+xml", "atom": "application/atom+xml"}


def _add_entry(fg: FeedGenerator, entry: Entry, fmt: str, config: Config) -> None:
    article = entry.article
    fe: FeedEntry = fg.add_entry(order="append")
    fe.id(entry.id)
    fe.guid(entry.id, permalink=False)
    fe.title(article.title)
    fe.published(article.published)
    fe.updated(article.modified)
    terms = dict.fromkeys(article.categories + article.tags)
    if terms:  # one call: feedgen checks and maps the whole list again on each
        fe.category([{"term": term} for term in terms])
    if fmt == "rss":
        _rss_fields(fe, entry, config)
    else:
        _atom_fields(fe, entry)
    _images(fe, entry, fmt)


def _rss_fields(fe: FeedEntry, entry: Entry, config: Config) -> None:
    fe.link(href=entry.link)
    # dc:creator only: RSS <author> needs an e-mail, and both at once is
    # "DuplicateItemSemantics" to the W3C validator.
    fe.dc.dc_creator((entry.article.author or site_author(config)).name)
    # RSS readers treat <description> as HTML: escape the plain text once more.
    fe.description(html.escape(entry.summary, quote=False) or entry.article.title)
    fe.content(entry.content, type="html")


def _atom_fields(fe: FeedEntry, entry: Entry) -> None:
    fe.atomlinks.links.append({"rel": "alternate", "type": "text/html", "href": entry.link})
    author = entry.article.author
    if author is not None:
        fe.author({"name": author.name, **({"email": author.email} if author.email else {})})
    if entry.summary:
        fe.summary(entry.summary)
    fe.content(entry.content, type="html")


def _images(fe: FeedEntry, entry: Entry, fmt: str) -> None:
    article = entry.article
    if article.thumbnail:
        fe.media.thumbnail(url=article.thumbnail, group=None)
    if not article.image or entry.image_type is None:
        return
    mime = entry.image_type
    fe.media.content(url=article.image, medium="image", type=mime, group=None)
    if fmt == "rss":  # the length is unknown: images are never fetched
        fe.enclosure(article.image, 0, mime)
    else:
        fe.atomlinks.links.append({"rel": "enclosure", "type": mime, "href": article.image})
