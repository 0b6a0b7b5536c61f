"""Text and HTML helpers for feed output: pure functions, no I/O.

* ``strip_illegal_xml`` / ``plain_text`` for plain-text fields (titles …);
* ``sanitize_html`` for item bodies (nh3, relative URLs made absolute);
* ``summarize`` for a plain-text excerpt;
* ``absolute_url`` / ``image_mime`` for ``headimg`` / ``thumbnail`` values.

Nothing here escapes for XML: that is the serialiser's job.
"""

from __future__ import annotations

import functools
import html as htmllib
import mimetypes
import posixpath
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING
from urllib.parse import quote, urljoin, urlsplit

if TYPE_CHECKING:
    import nh3

AttributeFilter = Callable[[str, str, str], str | None]

# Characters XML 1.0 forbids: C0 controls other than TAB/LF/CR (U+0000
# included), lone surrogates and U+FFFE/U+FFFF. C1 controls (U+0080–U+009F)
# are allowed by XML 1.0 (only "discouraged"), so they are kept, as are
# U+3000 ideographic spaces.
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Every byte but the C0 controls ILLEGAL_XML names: deleting these from UTF-8
# leaves exactly those controls (a control is one byte, never part of a
# longer sequence).
_XML_BYTES = bytes(b for b in range(256) if b >= 0x20 or b in (0x09, 0x0A, 0x0D))

_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")
_TEXT_SPACE = re.compile(r"[ \t\n\r\f\v\xa0]+")  # U+3000 is not collapsed
_MORE = re.compile(r"<!--\s*more\s*-->", re.IGNORECASE)

# Sentence ends: Chinese/ASCII marks anywhere (runs such as "……" or "?!"
# count as one), a full stop only before whitespace or the end of the text;
# closing quotes/brackets right after the mark belong to the sentence.
_CLOSERS = "”」』）’)"
_SENTENCE_END = re.compile(
    rf"(?:[。！？!?；…]+|\.+(?=[{_CLOSERS}]*(?:\s|$)))[{_CLOSERS}]*"
)
_ELLIPSIS = "…"

# Elements removed together with everything inside them.
_DROP_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "form"}
)
_ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "a", "img", "h1", "h2", "h3", "h4", "h5", "h6",
        "ul", "ol", "li", "dl", "dt", "dd",
        "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "col",
        "blockquote", "q", "cite", "figure", "figcaption",
        "strong", "b", "em", "i", "u", "s", "del", "ins", "sub", "sup", "small", "mark",
        "code", "pre", "kbd", "span", "div", "abbr", "time", "picture", "source",
    }
)
_ALLOWED_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "*": frozenset({"title"}),
    "a": frozenset({"href"}),
    "img": frozenset({"src", "srcset", "alt", "width", "height"}),
    "source": frozenset({"srcset", "type", "media", "sizes"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "ol": frozenset({"start"}),
    "time": frozenset({"datetime"}),
}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_HTTP = frozenset({"http", "https"})
_URL_ATTRIBUTES = frozenset({"href", "src"})

# Elements whose boundaries separate words in the plain-text summary.
_BREAK_TAGS = frozenset(
    {
        "p", "br", "hr", "div", "li", "dt", "dd", "tr", "td", "th", "caption",
        "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "figcaption",
        "table", "ul", "ol", "dl", "figure", "section", "article", "header",
        "footer", "aside", "nav", "address", "details", "summary",
    }
)


@functools.cache
def text_cleaner() -> nh3.Cleaner:
    """Keeps only the break elements, without attributes, so _TAG can find them.

    nh3 is imported on first use: a build with nothing to render never needs it.
    """
    import nh3

    return nh3.Cleaner(
        tags=_BREAK_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes={},
        strip_comments=True,
    )


_TAG = re.compile(r"<[^>]*>")
# Indentation removed at the start (and end) of every summary paragraph.
_INDENT = " \t\r\f\v\u3000\xa0"

_IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".jfif": "image/jpeg",
    ".png": "image/png",
    ".apng": "image/apng",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
    ".bmp": "image/bmp",
    ".ico": "image/x-icon",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}


def utf8_has_illegal_xml(text: str, data: bytes) -> bool:
    """``ILLEGAL_XML.search(text)``, for ``text`` decoded (strictly) from the UTF-8 ``data``.

    A third of the regex's time: the controls are looked for in the bytes,
    where each is one byte; U+FFFE and U+FFFF in the text; no surrogate is
    valid UTF-8.
    """
    return bool(data.translate(None, _XML_BYTES)) or "\ufffe" in text or "\uffff" in text


def strip_illegal_xml(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (see ILLEGAL_XML)."""
    if text.isprintable():  # no control, surrogate or non-character: most names and titles, at C speed
        return text
    return ILLEGAL_XML.sub("", text)


def plain_text(value: str) -> str:
    """A one-line plain-text value: illegal characters removed, runs of ASCII
    whitespace (newlines included) collapsed to one space, ends trimmed.

    Markup is *not* interpreted: ``<b>A&B</b>`` stays exactly that text.
    Other spaces (U+3000, U+00A0) are left alone.
    """
    return _ASCII_SPACE.sub(" ", strip_illegal_xml(value)).strip(" ")


def sanitize_html(html: str, base: str, *, stripped: bool = False) -> str:
    """Safe HTML for an item body.

    Script-like elements (``_DROP_WITH_CONTENT``) go with their content,
    other unknown elements lose their tags but keep their text, comments
    go, and only the attributes in ``_ALLOWED_ATTRIBUTES`` stay (no
    ``style``, ``class``, ``id`` or ``on*``). URLs must be http, https or
    mailto; relative and protocol-relative ``href``/``src``/``srcset`` URLs
    are made absolute against ``base`` (the item's absolute link). No
    ``rel`` is added to links (``link_rel=None``): ``target`` is never
    allowed, so there is no opener to protect. Text, including U+3000
    indentation, is kept as written. ``stripped``: ``html`` is known to hold
    no character illegal in XML (``strip_illegal_xml`` was applied), so it
    is not searched again.
    """
    clean = html if stripped else strip_illegal_xml(html)
    token = _BASE.set(base)
    try:
        cleaned = _body_cleaner().clean(clean)
    finally:
        _BASE.reset(token)
    return _stripped_after(cleaned, clean)


# The base URL of the body being sanitised: one nh3.Cleaner serves every
# item (building one costs as much as cleaning a body), and its attribute
# filter reads the item's base here. A ContextVar, so threads do not mix.
_BASE: ContextVar[str] = ContextVar("sanitize_base")


@functools.cache
def _body_cleaner() -> nh3.Cleaner:
    import nh3

    return nh3.Cleaner(
        tags=_ALLOWED_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=_url_filter,
        url_schemes=_URL_SCHEMES,
        link_rel=None,
        strip_comments=True,
    )


def _url_filter(element: str, attribute: str, value: str) -> str | None:
    if attribute in _URL_ATTRIBUTES:
        return _join(value, _BASE.get(), _URL_SCHEMES)
    if attribute == "srcset":
        return _join_srcset(value, _BASE.get())
    return value


def _stripped_after(out: str, clean: str) -> str:
    """``out``, made by parsing ``clean`` (which holds no illegal character), with any illegal one removed.

    The parser decodes character references (``&#1;``, ``&#12;``): only one
    of those can bring an illegal character back, so without any ``&#``
    there is nothing to search.
    """
    return strip_illegal_xml(out) if "&#" in clean else out


def _join(url: str, base: str, schemes: frozenset[str]) -> str | None:
    """``url`` resolved against ``base``; None if its scheme is not allowed.

    A result that is still relative (``base`` itself not absolute) is kept.
    """
    try:
        joined = urljoin(base, url.strip())
        scheme = urlsplit(joined).scheme
    except ValueError:  # e.g. "http://[::1"
        return None
    return joined if scheme in schemes or not scheme else None


def _join_srcset(value: str, base: str) -> str | None:
    """Every candidate URL of a ``srcset`` made absolute; None if one is unsafe."""
    candidates = []
    for candidate in value.split(","):
        url, _, descriptor = candidate.strip().partition(" ")
        joined = _join(url, base, _HTTP)
        if joined is None:
            return None
        candidates.append(f"{joined} {descriptor.strip()}".strip())
    return ", ".join(candidates)


def summarize(html: str, limit: int = 140, *, stripped: bool = False) -> str:
    """A plain-text summary of an HTML body (never markup).

    If the body has a ``<!-- more -->`` marker (any case or spacing), the
    summary is the whole text before it. Otherwise it is the text, whole if
    it has at most ``limit`` characters, else its longest prefix of at most
    ``limit`` characters ending a sentence (see ``_SENTENCE_END``), else its
    first ``limit`` characters followed by "…". A marker with no text before
    it is ignored. ``stripped``: as for ``sanitize_html``.
    """
    if not stripped:
        html = strip_illegal_xml(html)
    marker = _MORE.search(html)
    if marker is not None:
        text = html_to_text(html[: marker.start()], stripped=True)
        if text:
            return text
    return _cut(_leading_text(html, limit), limit)


_SPARE = 64  # characters at the end of a head's text that may differ from the whole text's
_SENTENCE_TAIL = frozenset(_CLOSERS + ".")


def _leading_text(html: str, limit: int) -> str:
    """``html_to_text(html)`` (``html`` stripped), or a prefix of it from which ``_cut`` makes the same summary.

    A summary needs the first ``limit`` characters of a body of thousands.
    HTML is parsed left to right, so the text of the body's first n
    characters agrees with the whole text except near its end (a tag, an
    entity or a line cut short): that end is dropped. Tables are the
    exception (text in a table but outside its cells moves before it), so a
    head holding a table is never used. The head's text must also go past
    ``limit`` with a character that settles whether a full stop just before
    ``limit`` ends a sentence (see ``_SENTENCE_END``).
    """
    size = limit + _SPARE + 256  # text past limit + _SPARE, with room for a leading image or two
    while size < len(html):
        head = html[:size]
        if "<table" in head.lower():
            break
        text = html_to_text(head, stripped=True)
        keep = len(text) - _SPARE
        if keep > limit and not _SENTENCE_TAIL.issuperset(text[limit:keep]):
            return text[:keep]
        size *= 2
    return html_to_text(html, stripped=True)


def html_to_text(html: str, *, stripped: bool = False) -> str:
    """The text of an HTML fragment: tags dropped (script-like elements with
    their content), entities decoded, block boundaries turned into spaces,
    U+3000/no-break indentation removed at paragraph starts, whitespace runs
    (ASCII and no-break spaces) collapsed to one space, illegal XML
    characters removed. Interior U+3000 spaces are kept. ``stripped``: as
    for ``sanitize_html``.
    """
    clean = html if stripped else strip_illegal_xml(html)
    text = _stripped_after(htmllib.unescape(_TAG.sub("\n", text_cleaner().clean(clean))), clean)
    lines = (line.strip(_INDENT) for line in text.split("\n"))
    return _TEXT_SPACE.sub(" ", " ".join(line for line in lines if line)).strip(" ")


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    end = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > limit:
            break
        end = match.end()
    if end:
        return text[:end]
    return text[:limit].rstrip() + _ELLIPSIS


def absolute_url(url: str, base: str) -> str | None:
    """``url`` as an absolute http(s) URL, resolved against ``base``.

    ``//host/x`` takes the scheme of ``base``. None when ``url`` is blank,
    malformed, or not http(s) (``javascript:``, ``data:`` …). Spaces and
    non-ASCII characters (``/图片/a.jpg``) are percent-encoded: feed
    validators and many readers want URIs, not IRIs.
    """
    value = strip_illegal_xml(url).strip()
    if not value:
        return None
    if _PLAIN_HTTP.match(value):  # already absolute: the common case, no urljoin
        return value
    joined = _join(value, base, _HTTP)
    if joined is None or not _has_host(joined):
        return None
    return uri(joined)


def uri(iri: str) -> str:
    """``iri`` with spaces, non-ASCII and other unsafe characters percent-encoded (no double encoding)."""
    return quote(iri, safe=_URI_SAFE)


_URI_SAFE = ":/?#[]@!$&'()*+,;=%~-._"
_PLAIN_HTTP = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?$")


def has_text(html: str) -> bool:
    """Whether ``html`` has any visible character outside tags (cheap check)."""
    return _VISIBLE.search(html) is not None


_VISIBLE = re.compile(r"(?:^|>)[^<]*?[^\s<\u3000]")


def _has_host(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def image_mime(url: str, default: str) -> str:
    """The ``image/*`` type of ``url`` from its path's extension, else ``default``.

    Query and fragment are ignored; ``https://picsum.photos/400/300?random=1``
    has no extension, so it gets ``default``.
    """
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return default
    ext = posixpath.splitext(path)[1].lower()
    if not ext:
        return default
    mime = _IMAGE_TYPES.get(ext) or mimetypes.guess_type("x" + ext)[0]
    return mime if mime is not None and mime.startswith("image/") else default


def cut_html(html: str, limit: int) -> str | None:
    """``html`` cut to at most ``limit`` UTF-8 bytes at a tag boundary, or None if it fits.

    The cut never falls inside a tag; the sanitiser closes elements left open.
    """
    if len(html) * 4 <= limit or len(html.encode("utf-8")) <= limit:
        return None
    head = html.encode("utf-8")[:limit].decode("utf-8", "ignore")
    if head.rfind("<") > head.rfind(">"):
        head = head[: head.rfind("<")]
    return head
