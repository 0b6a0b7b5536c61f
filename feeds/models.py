"""Records passed between the layers: frozen, no I/O, datetimes aware UTC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a build or ``feeds check`` reports about one file."""

    file: str  # path relative to the content folder, '/'-separated
    level: str  # "error" | "warning" | "info"
    code: str  # short kebab-case word, stable across releases
    message: str

    def line(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass(frozen=True, slots=True)
class Article:
    source: str  # path relative to the content folder, '/'-separated
    title: str
    published: datetime  # aware, UTC
    link: str  # absolute URL
    id: str  # never changes: the author's id/guid, else a tag: URI
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
