"""HTTP responses for a Resource: encoding, validators, 304s; and plain-text errors."""

from __future__ import annotations

from collections.abc import Mapping
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


def send_resource(
    resource: Resource, request_headers: Headers, ttl_minutes: int, extra: Mapping[str, str] | None = None
) -> FeedResponse:
    """200 with the best encoding the client accepts, or 304 if its copy is current.

    ``extra`` headers (a WebSub ``Link``) go on both.
    """
    codings = [c for c in resource.variants if c != "identity"]
    variant = resource.variants[pick_encoding(request_headers.get("Accept-Encoding"), codings)]
    headers = {
        "ETag": variant.etag,
        "Last-Modified": http_date(resource.last_modified),
        "Cache-Control": f"public, max-age={ttl_minutes * 60}",
        "Vary": "Accept-Encoding",
        **(extra or {}),
    }
    if is_fresh(request_headers.get("If-None-Match"), request_headers.get("If-Modified-Since"),
                variant.etag, resource.last_modified):
        return FeedResponse(status=304, headers=headers)
    if variant.encoding != "identity":
        headers["Content-Encoding"] = variant.encoding
    return FeedResponse(variant.body, headers=headers, content_type=resource.media_type)


def plain(text: str, status: int, headers: Mapping[str, str] | None = None) -> FeedResponse:
    """A short text/plain answer (errors, /healthz); one line per line of ``text``."""
    return FeedResponse(
        text[:300] + "\n", status, headers={"X-Content-Type-Options": "nosniff", **(headers or {})},
        content_type="text/plain; charset=utf-8",
    )
