"""Article files -> Article records.

``parse_article`` is pure (text in, record out); ``decode_article`` turns raw
bytes into text and ``split_front_matter`` finds the fences
(``feeds.frontmatter``, which rendering uses without YAML); the loader that
walks a folder lives in ``feeds.loader``.
"""

from __future__ import annotations

import re
import reprlib
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import yaml

from feeds.config import Config
from feeds.dates import parse_date
from feeds.errors import ArticleError, DateError
from feeds.frontmatter import decode_article, kept_body, parse_body, split_front_matter
from feeds.links import TAG_DATE, link_of
from feeds.models import Article, Author, Finding, author_named
from feeds.simpleyaml import load_simple
from feeds.text import ILLEGAL_XML, absolute_url, cut_html, has_text, plain_text, strip_illegal_xml

__all__ = ["decode_article", "load_front_matter", "parse_article", "parse_body", "split_front_matter"]

try:  # libyaml is several times faster; fall back to pure Python
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S")
_DATE_HINT = "try 2021-07-10 21:41:00"
_SCAN_ABOVE = 4096  # characters of front matter from which nesting is checked
_MAX_DEPTH = 64
_UTC_LABEL = re.compile(r"\d\d:\d\d(:\d\d)?\s*(GMT|UTC?|Z|[+-]00:?00)$", re.IGNORECASE)
_ABSOLUTE = re.compile(r"^https?://", re.IGNORECASE)


def load_front_matter(yaml_text: str, source: str, first_line: int, limit: int) -> Mapping[str, Any]:
    """Safe-load the YAML in bounded time and memory; errors name the file's line."""
    if len(yaml_text) * 4 > limit and len(yaml_text.encode("utf-8")) > limit:
        raise ArticleError(source, f"front matter is larger than {limit} bytes", "front-matter-too-large")
    try:
        simple = load_simple(yaml_text)  # the common shape, without building YAML nodes
        if simple is not None:
            return simple
        _check_structure(yaml_text, source, first_line)
        data = yaml.load(yaml_text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ArticleError(source, _yaml_reason(exc, first_line), "bad-yaml") from exc
    except RecursionError:
        raise ArticleError(source, "bad YAML: nested too deeply", "bad-yaml") from None
    except UnicodeError:  # lone surrogates cannot reach libyaml
        raise ArticleError(source, "bad YAML: not valid Unicode (lone surrogates)", "bad-yaml") from None
    except ValueError as exc:  # YAML's timestamp constructor on a date no calendar has: 2021-02-30, 25:00
        raise ArticleError(
            source, f"bad YAML: an impossible date or time ({exc}); {_DATE_HINT}", "bad-date"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ArticleError(source, "front matter is not a mapping of keys to values", "bad-yaml")
    return data


def _check_structure(yaml_text: str, source: str, first_line: int) -> None:
    """Refuse aliases and deep nesting before anything is built from the YAML.

    Aliases (``*name``) can expand exponentially ("billion laughs"), and
    libyaml's composer recurses once per nesting level, so some 25,000 levels
    crash the interpreter. Events are streamed without recursion; small
    front matter without ``*`` cannot do either, so it skips the scan.
    """
    if "*" not in yaml_text and len(yaml_text) <= _SCAN_ABOVE:
        return
    depth = 0
    for event in yaml.parse(yaml_text, Loader=_Loader):
        line = first_line + (event.start_mark.line if event.start_mark else 0)
        if isinstance(event, yaml.AliasEvent):
            raise ArticleError(
                source, f"bad YAML at line {line}: aliases (*{event.anchor}) are not allowed", "bad-yaml"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > _MAX_DEPTH:
                raise ArticleError(
                    source, f"bad YAML at line {line}: nested deeper than {_MAX_DEPTH} levels", "bad-yaml"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _yaml_reason(exc: yaml.YAMLError, first_line: int) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return f"bad YAML: {problem}"
    return f"bad YAML at line {first_line + mark.line}: {problem}"


def parse_article(text: str, source: str, config: Config, *, keep_body: bool = True,
                  illegal_xml: bool | None = None) -> Article:
    """Parse one article file's text; ``source`` is its path in the content folder.

    The article keeps its body unless ``keep_body`` is false: a build that
    keeps many articles in memory reads bodies again (``parse_body``) only
    for the items it renders, and skips preparing the others'.
    ``illegal_xml`` says whether ``text`` has characters illegal in XML, when
    the caller knows it cheaper (``utf8_has_illegal_xml`` of the file's
    bytes); None: the text is searched.
    """
    yaml_text, body, first_line = split_front_matter(text, source)
    meta = load_front_matter(yaml_text, source, first_line, config.max_front_matter)
    published = _date(meta, "date", source, config)
    if published is None:
        raise ArticleError(source, f"date: missing ({_DATE_HINT})", "missing-date")
    categories = _names(meta.get("categories"), "categories", source, nested=True)
    permalink = _permalink(meta, source, config)

    def link() -> str:  # only when needed: most articles keep no link (see feeds.links)
        return link_of(config, permalink, source, published, categories)

    image, thumb = _images(meta, link, source)
    illegal = ILLEGAL_XML.search(text) is not None if illegal_xml is None else illegal_xml  # once, for both uses
    return Article(
        source=source,
        title=_title(meta, source),
        published=published,
        permalink=permalink,
        given_id=_given_id(meta, source, config),
        body=kept_body(body, link, config, illegal) if keep_body else None,
        updated=_date(meta, "updated", source, config),
        categories=categories,
        tags=_names(meta.get("tags"), "tags", source, nested=False),
        author=_author(meta.get("author"), source),
        image=image or thumb,
        thumbnail=thumb or image,
        summary=_summary(meta, source),
        draft=_draft(meta, source),
        warnings=tuple(_warnings(text, body, meta, source, published, config, illegal)),
    )


def _warnings(
    text: str, body: str, meta: Mapping[str, Any], source: str, published: datetime, config: Config,
    illegal_xml: bool,
) -> Iterator[Finding]:
    if illegal_xml:
        yield Finding(source, "warning", "illegal-xml", "characters illegal in XML were removed")
    if not any(isinstance(meta.get(k), str) and meta[k].strip() for k in ("description", "excerpt")) \
            and not has_text(body):
        yield Finding(source, "warning", "missing-summary", "no description and no body text to summarise")
    raw = meta.get("date")
    if isinstance(raw, str) and _UTC_LABEL.search(raw.strip()):
        local = published.astimezone(config.timezone)
        if local.hour < 7 <= published.hour:
            yield Finding(
                source, "warning", "utc-looks-local",
                f"date: {raw.strip()!r} is {_hh_mm(local)} in {config.timezone.key}, an odd hour "
                f"for news; if {_hh_mm(published)} is site time, write +0800 or drop the zone "
                "(the date is used as written)",
            )
    if cut_html(text, config.max_body) is not None:
        yield Finding(
            source, "warning", "body-too-large",
            f"body is larger than {config.max_body} bytes; the feeds carry it cut, with a link to the article",
        )
    for key in ("headimg", "thumbnail"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip() and not _ABSOLUTE.match(value.strip()):
            yield Finding(
                source, "warning", "relative-image",
                f"{key}: {value.strip()!r} is not an absolute http(s) URL"
                + (" (resolved against the article's link)" if absolute_url(value.strip(), "https://x/")
                   else " (dropped)"),
            )


def _hh_mm(moment: datetime) -> str:
    """``f"{moment:%H:%M}"`` without strftime, a quarter of the time (30% of a big site's files warn)."""
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _title(meta: Mapping[str, Any], source: str) -> str:
    value = meta.get("title")
    if value is None:
        raise ArticleError(source, "title: missing", "missing-title")
    if not isinstance(value, str):
        raise ArticleError(source, f"title: expected text, got {_show(value)}", "bad-field")
    title = plain_text(value)
    if not title:
        raise ArticleError(source, "title: empty", "missing-title")
    return title


def _date(meta: Mapping[str, Any], key: str, source: str, config: Config) -> datetime | None:
    value = meta.get(key)
    if value is None or value == "":
        return None
    try:
        return parse_date(value, config.timezone)
    except DateError as exc:
        raise ArticleError(source, f"{key}: {exc}", "bad-date") from exc


def _names(value: Any, key: str, source: str, *, nested: bool) -> tuple[str, ...]:
    """Category or tag names: a string, a list, or (categories) nested lists."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out: dict[str, None] = {}
    for item in items:
        group = item if nested and isinstance(item, list) else [item]
        for name in group:
            if isinstance(name, bool) or not isinstance(name, (str, int, float)):
                raise ArticleError(
                    source, f"{key}: expected names or lists of names, got {_show(name)}", "bad-field"
                )
            text = sys.intern(plain_text(str(name)))  # a few names, shared by 100k articles
            if text:
                out.setdefault(text, None)
    return tuple(out)


def _author(value: Any, source: str) -> Author | None:
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "、".join(n for n in (plain_text(v) for v in value) if n)  # several authors: one byline
    if isinstance(value, str):
        name = plain_text(value)
        return author_named(name) if name else None
    if isinstance(value, dict):
        raw_name, raw_email = value.get("name"), value.get("email")
        if isinstance(raw_name, str) and (raw_email is None or isinstance(raw_email, str)):
            email = plain_text(raw_email or "") or None
            return Author(plain_text(raw_name), email) if plain_text(raw_name) else None
    raise ArticleError(
        source, f"author: expected a name, a list of names or a mapping with name and email, got {_show(value)}",
        "bad-field"
    )


def _given_id(meta: Mapping[str, Any], source: str, config: Config) -> str | None:
    """The id the front matter gives, as published (a URI, else a tag: URI of it); None if none."""
    for key in ("id", "guid"):
        value = meta.get(key)
        if value is None or isinstance(value, bool):
            continue
        if not isinstance(value, (str, int)):
            raise ArticleError(source, f"{key}: expected text, got {_show(value)}", "bad-field")
        text = plain_text(str(value))
        if text and _SCHEME.match(text) and " " not in text:
            return text
        if text:
            return f"tag:{config.domain},{TAG_DATE}:id/{quote(text, safe='')}"
    return None


def _permalink(meta: Mapping[str, Any], source: str, config: Config) -> str | None:
    """The front matter's permalink as an absolute URL; None when it gives none."""
    given = meta.get("permalink")
    if given is not None and not isinstance(given, str):
        raise ArticleError(source, f"permalink: expected text, got {_show(given)}", "bad-field")
    if not given or not given.strip():
        return None
    link = absolute_url(strip_illegal_xml(given.strip()).lstrip("/"), config.base_url)
    if link is None:
        raise ArticleError(source, f"permalink: not an http(s) URL or path: {given!r}", "bad-field")
    return link


def _images(meta: Mapping[str, Any], link: Callable[[], str], source: str) -> tuple[str | None, str | None]:
    found: list[str | None] = []
    for key in ("headimg", "thumbnail"):
        value = meta.get(key)
        if value is not None and not isinstance(value, str):
            raise ArticleError(source, f"{key}: expected a URL, got {_show(value)}", "bad-field")
        if not value:
            found.append(None)
            continue
        value = strip_illegal_xml(value)
        # An absolute URL needs no base: the article's link is made only for relative ones.
        found.append(absolute_url(value, "" if _ABSOLUTE.match(value.strip()) else link()))
    if found[0] is not None and found[0] == found[1]:
        return found[0], found[0]  # one string object, not two equal ones
    return found[0], found[1]


def _summary(meta: Mapping[str, Any], source: str) -> str | None:
    for key in ("description", "excerpt"):
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ArticleError(source, f"{key}: expected text, got {_show(value)}", "bad-field")
        if plain_text(value):
            return plain_text(value)
    return None


def _draft(meta: Mapping[str, Any], source: str) -> bool:
    published, draft = meta.get("published", True), meta.get("draft", False)
    for key, value in (("published", published), ("draft", draft)):
        if not isinstance(value, bool):
            raise ArticleError(source, f"{key}: expected true or false, got {_show(value)}", "bad-field")
    return draft or not published


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 4, 4, 50, 50


def _show(value: Any) -> str:
    """A short repr, bounded even for huge or deeply nested values."""
    return _REPR.repr(value)
