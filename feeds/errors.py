"""One exception tree; every message names the file it is about."""

from __future__ import annotations


class FeedsError(Exception):
    """Base of every error this package raises on purpose."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, ...]]:
        """Pickled by its fields: worker processes hand errors back to the parent."""
        return type(self), (self.path, self.reason)


class ConfigError(FeedsError):
    """The config file (or a command-line override) is invalid."""


class ArticleError(FeedsError):
    """One article cannot be used; the build skips it and goes on.

    ``code`` is a short stable kebab-case word (``bad-date``, ``bad-yaml`` …)
    that ``feeds check --json`` reports.
    """

    def __init__(self, path: str, reason: str, code: str = "bad-article") -> None:
        super().__init__(path, reason)
        self.code = code

    def __reduce__(self) -> tuple[type, tuple[str, ...]]:
        return type(self), (self.path, self.reason, self.code)


class OutputError(FeedsError):
    """Writing the output folder failed (disk full, permissions, …)."""


class LockError(FeedsError):
    """Another build holds the lock on the output folder."""


class DateError(ValueError):
    """A value is not a date; the parser turns it into an ArticleError."""
