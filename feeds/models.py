"""Records passed between the layers: frozen, no I/O, datetimes aware UTC."""

from __future__ import annotations

import dataclasses
import functools
import operator
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

_Record = TypeVar("_Record", bound=type)


def pickles_by_fields(cls: _Record) -> _Record:
    """Pickle a frozen slots dataclass as its class and field values.

    The dataclass default (``__getstate__``/``__setstate__`` in Python, a
    setattr per field) made shipping parsed articles back from worker
    processes cost more than parsing them; this is four times cheaper.
    """
    get: Callable[[Any], Any] = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))
    single = len(dataclasses.fields(cls)) == 1

    def __reduce__(self: Any) -> tuple[type, tuple[Any, ...]]:
        return cls, (get(self),) if single else get(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment]
    return cls


@pickles_by_fields
@dataclass(frozen=True, slots=True)
class Author:
    name: str
    email: str | None = None


@functools.lru_cache(maxsize=4096)
def author_named(name: str) -> Author:
    """One shared record per byline: a site has a few authors and 100k articles."""
    return Author(sys.intern(name))


@pickles_by_fields
@dataclass(frozen=True, slots=True)
class Finding:
    """Something a build or ``feeds check`` reports about one file."""

    file: str  # path relative to the content folder, '/'-separated
    level: str  # "error" | "warning" | "info"
    code: str  # short kebab-case word, stable across releases
    message: str

    def line(self) -> str:
        return f"{self.file}: {self.message}"


@pickles_by_fields
@dataclass(frozen=True, slots=True)
class Article:
    source: str  # path relative to the content folder, '/'-separated
    title: str
    published: datetime  # aware, UTC
    permalink: str | None  # absolute URL from the front matter; None: the site's pattern (links.article_link)
    given_id: str | None  # the front matter's id/guid as published; None: a tag: URI (links.article_id)
    body: str | None  # HTML as written (cut when over max_body); None = not kept in memory
    updated: datetime | None = None  # aware, UTC
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    author: Author | None = None
    image: str | None = None  # headimg, else thumbnail (absolute URL)
    thumbnail: str | None = None  # thumbnail, else headimg (absolute URL)
    summary: str | None = None  # description/excerpt from the front matter
    draft: bool = False
    warnings: tuple[Finding, ...] = field(default=(), compare=False)

    @property
    def modified(self) -> datetime:
        """The item's newest time: ``updated`` if later, else ``published``."""
        if self.updated is not None and self.updated > self.published:
            return self.updated
        return self.published
