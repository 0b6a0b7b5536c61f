"""HTTP responses for a Resource: encoding, validators, 304s; and plain-text errors."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response
from werkzeug.datastructures import Headers
from werkzeug.http import http_date

from feeds.negotiate import is_fresh, pick_encoding
from feeds.snapshot import Resource


class FeedResponse(Response):
    """Keeps Last-Modified on a 304, which werkzeug strips as an entity header."""

    def get_wsgi_headers(self, environ: Any) -> Any:
        headers = super().get_wsgi_headers(environ)
        if self.status_code == 304 and "Last-Modified" in self.headers:
            headers["Last-Modified"] = self.headers["Last-Modified"]
        return headers


@dataclass(frozen=True)
class Answer:
    """What to send for a Resource: the same for Flask and for the WSGI fast path."""

    status: int  # 200 or 304
    headers: dict[str, str]  # without Content-Type / Content-Length
    body: bytes  # empty for a 304
    media_type: str


def answer(
    resource: Resource, header: Callable[[str], str | None], ttl_minutes: int,
    extra: Mapping[str, str] | None = None,
) -> Answer:
    """200 with the best encoding the client accepts, or 304 if its copy is current.

    ``header(name)`` reads a request header; ``extra`` headers (a WebSub
    ``Link``) go on both answers.
    """
    codings = [c for c in resource.variants if c != "identity"]
    variant = resource.variants[pick_encoding(header("Accept-Encoding"), codings)]
    headers = {
        "ETag": variant.etag,
        "Last-Modified": _http_date(resource.last_modified),
        "Cache-Control": f"public, max-age={ttl_minutes * 60}",
        "Vary": "Accept-Encoding",
        **(extra or {}),
    }
    if is_fresh(header("If-None-Match"), header("If-Modified-Since"), variant.etag, resource.last_modified):
        return Answer(304, headers, b"", resource.media_type)
    if variant.encoding != "identity":
        headers["Content-Encoding"] = variant.encoding
    return Answer(200, headers, variant.body, resource.media_type)


@functools.lru_cache(maxsize=4096)
def _http_date(moment: datetime) -> str:
    """werkzeug's http_date, once per feed and build: formatting it was a third of a 304's time."""
    return http_date(moment)


def send_resource(
    resource: Resource, request_headers: Headers, ttl_minutes: int, extra: Mapping[str, str] | None = None
) -> FeedResponse:
    """``answer`` as a Flask response."""
    sent = answer(resource, request_headers.get, ttl_minutes, extra)
    if sent.status == 304:
        return FeedResponse(status=304, headers=sent.headers)
    return FeedResponse(sent.body, headers=sent.headers, content_type=sent.media_type)


def plain(text: str, status: int, headers: Mapping[str, str] | None = None) -> FeedResponse:
    """A short text/plain answer (errors, /healthz); one line per line of ``text``."""
    return FeedResponse(
        text[:300] + "\n", status, headers={"X-Content-Type-Options": "nosniff", **(headers or {})},
        content_type="text/plain; charset=utf-8",
    )
