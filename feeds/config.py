"""config.toml -> Config: validated once, the only reader of the file."""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.errors import ConfigError

PERMALINK_FIELDS = frozenset(
    {"year", "month", "day", "i_month", "i_day", "hour", "minute", "second",
     "slug", "name", "title", "category"}
)
FORMATS = ("rss", "atom", "json")  # every format a feed can be published in, in canonical order
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_MIME = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")

# table -> key -> (type, default); a default of ... means required.
# list: a TOML array, whose items a dedicated function checks.
_SCHEMA: dict[str, dict[str, tuple[type, Any]]] = {
    "site": {
        "title": (str, ...),
        "base_url": (str, ...),
        "feed_url": (str, ""),
        "description": (str, ""),
        "language": (str, "zh-CN"),
        "timezone": (str, "Asia/Shanghai"),
        "author": (str, ""),
    },
    "build": {
        "content": (str, "seeds"),
        "output": (str, "public"),
        "items": (int, 50),
        "permalink": (str, "{year}/{month}/{day}/{slug}/"),
        "image_type": (str, "image/jpeg"),
        "summary_length": (int, 140),
        "max_front_matter": (int, 64 * 1024),
        "max_body": (int, 2 * 1024 * 1024),
        "cache": (str, ""),
    },
    "serve": {
        "ttl_minutes": (int, 30),
        "reload_seconds": (float, 2.0),
    },
    "websub": {
        "hub": (str, ""),
        "timeout": (float, 10.0),
        "retries": (int, 3),
    },
    "archive": {
        "page_size": (int, 0),
    },
    "feeds": {
        "categories": (bool, True),
        "tags": (bool, True),
        "authors": (bool, True),
        "formats": (list, list(FORMATS)),
    },
}
_MAPS = ("category_slugs", "tag_slugs", "author_slugs")


@dataclass(frozen=True)
class Config:
    """Everything a build needs; tests build one in code."""

    title: str
    base_url: str  # absolute, ends with '/'
    timezone: ZoneInfo
    description: str = ""
    language: str = "zh-CN"
    author: str = ""
    content: Path = Path("seeds")
    output: Path = Path("public")
    items: int = 50
    permalink: str = "{year}/{month}/{day}/{slug}/"
    image_type: str = "image/jpeg"
    summary_length: int = 140
    max_front_matter: int = 64 * 1024  # bytes; larger front matter is an error
    max_body: int = 2 * 1024 * 1024  # bytes; a larger body is cut in the feeds
    cache: Path | None = None  # the build cache folder; None = <output>/.feeds-cache
    ttl_minutes: int = 30
    reload_seconds: float = 2.0  # how often `feeds serve` checks the content folder; 0 = never
    feed_url: str = ""  # where the feeds are served, ends with '/'; "" = base_url
    category_slugs: Mapping[str, str] = field(default_factory=dict)
    tag_slugs: Mapping[str, str] = field(default_factory=dict)
    author_slugs: Mapping[str, str] = field(default_factory=dict)
    families: tuple[str, ...] = ("category", "tag", "author")  # feed families built
    formats: tuple[str, ...] = FORMATS  # formats published, in FORMATS order
    archive_size: int = 0  # entries per RFC 5005 archive document; 0 = no archives
    websub_hub: str = ""  # WebSub hub URL; "" = no hub
    websub_timeout: float = 10.0
    websub_retries: int = 3

    def slug_overrides(self, family: str) -> Mapping[str, str]:
        return {"category": self.category_slugs, "tag": self.tag_slugs, "author": self.author_slugs}[family]

    @property
    def feed_root(self) -> str:
        """Absolute URL of the output folder's root, ending with '/'."""
        return self.feed_url or self.base_url

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    def with_paths(self, content: Path | None = None, output: Path | None = None) -> Config:
        """The same config with the content and/or output folder replaced."""
        return replace(
            self,
            content=self.content if content is None else content,
            output=self.output if output is None else output,
        )


def load_config(path: Path) -> Config:
    """Read and validate ``path``; relative folders are taken from its folder."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "no such config file (pass --config FILE)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from exc
    return parse_config(raw, str(path), base_dir=path.parent)


def parse_config(raw: Mapping[str, Any], name: str, base_dir: Path = Path(".")) -> Config:
    """Validate a parsed TOML document; ``name`` is used in error messages."""
    for table in raw:
        if table not in _SCHEMA and table not in _MAPS:
            raise ConfigError(name, f"[{table}]: unknown table (known: {_known_tables()})")
    values: dict[str, Any] = {}
    for table, keys in _SCHEMA.items():
        values.update(_read_table(raw.get(table, {}), table, keys, name))
    maps = {m: _read_map(raw.get(m, {}), m, name) for m in _MAPS}
    return Config(
        title=_nonempty(values["title"], "[site] title", name),
        base_url=_base_url(values["base_url"], "base_url", name),
        feed_url=_base_url(values["feed_url"], "feed_url", name) if values["feed_url"] else "",
        timezone=_timezone(values["timezone"], name),
        description=values["description"],
        language=_language(values["language"], name),
        author=values["author"],
        content=base_dir / values["content"],
        output=base_dir / values["output"],
        items=_positive(values["items"], "[build] items", name),
        permalink=_permalink(values["permalink"], name),
        image_type=_mime(values["image_type"], name),
        summary_length=_positive(values["summary_length"], "[build] summary_length", name),
        max_front_matter=_positive(values["max_front_matter"], "[build] max_front_matter", name),
        max_body=_positive(values["max_body"], "[build] max_body", name),
        cache=base_dir / values["cache"] if values["cache"] else None,
        ttl_minutes=_positive(values["ttl_minutes"], "[serve] ttl_minutes", name),
        reload_seconds=_not_negative(values["reload_seconds"], "[serve] reload_seconds", name),
        category_slugs=maps["category_slugs"],
        tag_slugs=maps["tag_slugs"],
        author_slugs=maps["author_slugs"],
        families=tuple(f for f, key in FAMILY_KEYS.items() if values[key]),
        formats=_formats(values["formats"], name),
        archive_size=_not_negative_int(values["page_size"], "[archive] page_size", name),
        websub_hub=_hub(values["hub"], name),
        websub_timeout=_timeout(values["timeout"], name),
        websub_retries=_positive(values["retries"], "[websub] retries", name),
    )


def _formats(value: list[Any], name: str) -> tuple[str, ...]:
    """``[feeds] formats``: a non-empty array of known formats, any order; kept in FORMATS order."""
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(name, f"[feeds] formats: expected an array of strings, got {item!r} in it")
        if item not in FORMATS:
            raise ConfigError(name, f"[feeds] formats: unknown format {item!r} (known: {', '.join(FORMATS)})")
    if not value:
        raise ConfigError(name, f"[feeds] formats: expected at least one of {', '.join(FORMATS)}, got []")
    return tuple(fmt for fmt in FORMATS if fmt in value)


def _not_negative_int(value: int, key: str, name: str) -> int:
    if value < 0:
        raise ConfigError(name, f"{key}: expected 0 (off) or a positive integer, got {value!r}")
    return value


def _hub(value: str, name: str) -> str:
    parts = urlsplit(value)
    if value and (parts.scheme not in ("http", "https") or not parts.hostname or not value.isascii()
                  or parts.username or parts.password or any(c.isspace() for c in value)):
        raise ConfigError(name, f"[websub] hub: expected an absolute http(s) URL, got {value!r}")
    return value


def _timeout(value: float, name: str) -> float:
    if not 0 < value < float("inf"):
        raise ConfigError(name, f"[websub] timeout: expected a positive number of seconds, got {value!r}")
    return float(value)


FAMILY_KEYS = {"category": "categories", "tag": "tags", "author": "authors"}  # family -> [feeds] key


def _known_tables() -> str:
    return ", ".join([*_SCHEMA, *_MAPS])


def _read_table(
    table: Any, tname: str, keys: Mapping[str, tuple[type, Any]], name: str
) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(name, f"[{tname}]: expected a table")
    for key in table:
        if key not in keys:
            raise ConfigError(
                name, f"[{tname}] {key}: unknown key (known: {', '.join(keys)})"
            )
    out: dict[str, Any] = {}
    for key, (typ, default) in keys.items():
        if key not in table:
            if default is ...:
                raise ConfigError(name, f"[{tname}] {key}: missing, expected {_tname(typ)}")
            out[key] = default
            continue
        value = table[key]
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)  # TOML writes whole seconds as integers
        if not isinstance(value, typ) or (isinstance(value, bool) and typ is not bool):
            raise ConfigError(
                name, f"[{tname}] {key}: expected {_tname(typ)}, got {value!r}"
            )
        out[key] = value
    return out


def _tname(typ: type) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "an array"}
    return names.get(typ, typ.__name__)


def _read_map(table: Any, tname: str, name: str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(name, f"[{tname}]: expected a table of name = \"slug\"")
    out: dict[str, str] = {}
    for key, value in table.items():
        if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value):
            raise ConfigError(
                name,
                f"[{tname}] {key}: expected a slug of lowercase ASCII letters, "
                f"digits and single hyphens, got {value!r}",
            )
        out[key.strip()] = value
    return out


def _nonempty(value: str, key: str, name: str) -> str:
    if not value.strip():
        raise ConfigError(name, f"{key}: expected a non-empty string")
    return value.strip()


def _base_url(value: str, key: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            name, f"[site] {key}: expected an absolute http(s) URL, got {value!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigError(name, f"[site] {key}: expected no query or fragment, got {value!r}")
    return value if value.endswith("/") else value + "/"


def _timezone(value: str, name: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            name, f"[site] timezone: expected an IANA zone such as 'Asia/Shanghai', got {value!r}"
        ) from None


def _language(value: str, name: str) -> str:
    if not _LANGUAGE.match(value):
        raise ConfigError(name, f"[site] language: expected a language tag such as 'zh-CN', got {value!r}")
    return value


def _positive(value: int, key: str, name: str) -> int:
    if value < 1:
        raise ConfigError(name, f"{key}: expected a positive integer, got {value!r}")
    return value


def _not_negative(value: float, key: str, name: str) -> float:
    if not value >= 0 or value == float("inf"):
        raise ConfigError(name, f"{key}: expected a number of seconds, 0 or more, got {value!r}")
    return value


def _mime(value: str, name: str) -> str:
    if not _MIME.match(value):
        raise ConfigError(name, f"[build] image_type: expected a MIME type such as 'image/jpeg', got {value!r}")
    return value


def _permalink(value: str, name: str) -> str:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
    except ValueError as exc:
        raise ConfigError(name, f"[build] permalink: {exc} in {value!r}") from None
    unknown = [f for f in fields if f not in PERMALINK_FIELDS]
    if unknown:
        raise ConfigError(
            name,
            f"[build] permalink: unknown placeholder {{{unknown[0]}}} "
            f"(known: {', '.join('{' + f + '}' for f in sorted(PERMALINK_FIELDS))})",
        )
    if value.startswith("/") or "://" in value:
        raise ConfigError(name, f"[build] permalink: expected a path relative to base_url, got {value!r}")
    return value
