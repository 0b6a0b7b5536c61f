"""The parts of an article file, without YAML: its text, the front matter's fences, the body as kept.

What rendering needs to read a body again (``feeds.loader.read_body``):
a worker that only renders never imports YAML (``feeds.parser``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from feeds.config import Config
from feeds.errors import ArticleError
from feeds.models import Finding
from feeds.text import cut_html, strip_illegal_xml

_FENCE = re.compile(r"^---[ \t]*$", re.MULTILINE)


def decode_article(data: bytes, source: str) -> tuple[str, tuple[Finding, ...]]:
    """UTF-8 (with or without BOM), else GB18030 with a warning."""
    try:
        text = data.decode("utf-8")  # not "utf-8-sig": its codec is Python code, twice as slow
    except UnicodeDecodeError:
        pass
    else:
        return (text[1:] if text.startswith("\ufeff") else text), ()
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise ArticleError(source, "not UTF-8 or GB18030 text", "bad-encoding") from None
    note = Finding(source, "warning", "gb18030", "not UTF-8; decoded as GB18030")
    return text, (note,)


def split_front_matter(text: str, source: str) -> tuple[str, str, int]:
    """Return (yaml text, body, line number of the YAML's first line)."""
    text = text.lstrip("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    start = _LEADING.match(text).end()  # type: ignore[union-attr]  # matches any text; no copy of it
    first = _OPENING.match(text, start)
    if first is None:
        raise ArticleError(source, "no front matter (expected a '---' line first)", "no-front-matter")
    closing = _closing_fence(text, first.end())
    if closing is None:
        raise ArticleError(source, "front matter has no closing '---' line", "no-front-matter")
    yaml_text = text[first.end() + 1 : closing.start()]
    body = text[closing.end() + 1 :]
    return yaml_text, body, text.count("\n", 0, start) + 2


_LEADING = re.compile(r"[ \t\n]*")
_OPENING = re.compile(r"---[ \t]*$", re.MULTILINE)  # _FENCE where the leading blanks end (spaces too)


def _closing_fence(text: str, after: int) -> re.Match[str] | None:
    """``_FENCE.search(text, after)``: str.find for each line that starts with '---', the regex only for those."""
    at = text.find("\n---", after)
    while at >= 0:
        found = _FENCE.match(text, at + 1)
        if found is not None:
            return found
        at = text.find("\n---", at + 1)
    return None


def parse_body(text: str, source: str, config: Config, link: Callable[[], str],
               illegal_xml: bool | None = None) -> str:
    """Only the body of an article file, as ``parse_article`` keeps it (``illegal_xml`` as there)."""
    return kept_body(split_front_matter(text, source)[1], link, config, illegal_xml)


def kept_body(body: str, link: Callable[[], str], config: Config, illegal_xml: bool | None) -> str:
    """The body, cut at a tag boundary with a note when over ``max_body``; ``link()`` only then.

    Illegal XML characters are removed, unless ``illegal_xml`` is False
    (the whole file has none).
    """
    cut = cut_html(body, config.max_body)
    if cut is None:
        return body if illegal_xml is False else strip_illegal_xml(body)
    note = f'<p>（正文过长，已截断。<a href="{html.escape(link())}">阅读全文</a>）</p>'
    return strip_illegal_xml(cut) + note
