"""create_app(config) -> Flask: routes only.

Every answer comes from the current Snapshot, in memory: the same bytes
`feeds build` writes, at the same paths. No request touches the filesystem.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

from feeds.config import Config, load_config
from feeds.errors import ConfigError
from feeds.negotiate import BadQuery, query_int
from feeds.reload import LiveSite
from feeds.respond import FeedResponse, answer, plain, send_resource
from feeds.site import INDEX, OPML
from feeds.snapshot import Resource, Snapshot

_PRINTABLE = "/?&=%:@!$'()*+,;-._~"  # kept as they are in an echoed path; the rest is %-encoded


class SlugConverter(BaseConverter):
    regex = r"[a-z0-9]+(?:-[a-z0-9]+)*"


class FormatConverter(BaseConverter):
    regex = r"rss|atom|json"


class FamilyConverter(BaseConverter):
    regex = r"category|tag|author"


def create_app(config: Config | None = None) -> Flask:
    """The app; without ``config``, from $FEEDS_CONFIG or ./config.toml."""
    live = LiveSite(config if config is not None else _config_from_env())
    app = Flask(__name__, static_folder=None)
    app.response_class = FeedResponse
    app.url_map.converters.update(slug=SlugConverter, fmt=FormatConverter, family=FamilyConverter)
    app.extensions["feeds"] = live
    app.before_request(live.watch)  # starts the watcher again in a forked worker
    live.watch()

    @app.get("/")
    @app.get("/index.html")
    def index() -> Response:
        return _send(live, INDEX)

    @app.get("/feeds.opml")
    def opml() -> Response:
        return _send(live, OPML)

    @app.get("/all.<fmt:fmt>")
    def all_feed(fmt: str) -> Response:
        return _send(live, f"all.{fmt}", paged=True)

    @app.get("/<family:family>/<slug:slug>.<fmt:fmt>")
    def family_feed(family: str, slug: str, fmt: str) -> Response:
        return _send(live, f"{family}/{slug}.{fmt}", paged=True)

    @app.get("/all/archive/<int:number>.<fmt:fmt>")
    def all_archive(number: int, fmt: str) -> Response:
        return _send(live, f"all/archive/{number}.{fmt}")

    @app.get("/<family:family>/<slug:slug>/archive/<int:number>.<fmt:fmt>")
    def family_archive(family: str, slug: str, number: int, fmt: str) -> Response:
        return _send(live, f"{family}/{slug}/archive/{number}.{fmt}")

    @app.get("/healthz")
    def healthz() -> Response:
        snapshot = live.current
        lines = ["ok", f"{snapshot.articles} articles, {len(snapshot.site.specs)} feeds"]
        if live.last_error:
            lines.append(f"stale: the last rebuild failed: {live.last_error}")
        return plain("\n".join(lines), 200, {"Cache-Control": "no-store"})

    app.register_error_handler(HTTPException, _http_error)
    app.wsgi_app = FastPath(app.wsgi_app, live)  # type: ignore[method-assign]
    return app


def _config_from_env() -> Config:
    path = Path(os.environ.get("FEEDS_CONFIG") or "config.toml")
    if not path.is_file():
        raise ConfigError(str(path), "no such config file (set FEEDS_CONFIG=/path/to/config.toml)")
    return load_config(path)


def _send(live: LiveSite, path: str, *, paged: bool = False) -> Response:
    snapshot = live.current  # one build for the whole answer
    try:
        resource = _find(snapshot, path) if paged else snapshot.get(path)
    except BadQuery as exc:
        return plain(str(exc), 400)
    if resource is None:
        return _not_found()
    return send_resource(resource, request.headers, snapshot.config.ttl_minutes,
                         _link(snapshot.config, path) if paged else None)


def _link(config: Config, path: str) -> dict[str, str]:
    """WebSub discovery (section 4) in the headers too, for a feed."""
    if not config.websub_hub:
        return {}
    return {"Link": f'<{config.websub_hub}>; rel="hub", <{config.feed_root}{path}>; rel="self"'}


_FEED = re.compile(r"^(all|(category|tag|author)/[a-z0-9]+(-[a-z0-9]+)*)\.(rss|atom|json)$")


class FastPath:
    """Plain GETs and HEADs of a built file, answered before Flask routes anything.

    Feed readers poll the same few URLs all day; for those (no query string)
    the answer is a dictionary lookup, the conditional-GET check and the
    precomputed bytes, with exactly the headers the Flask route sends.
    Everything else (pages, errors, /healthz) goes to the app.
    """

    def __init__(self, app: WSGIApplication, live: LiveSite) -> None:
        self.app = app
        self.live = live

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
        if method not in ("GET", "HEAD") or environ.get("QUERY_STRING"):
            return self.app(environ, start_response)
        key = INDEX if path == "/" else path[1:]
        snapshot = self.live.current
        resource = snapshot.get(key)
        if resource is None or not path.startswith("/"):
            return self.app(environ, start_response)
        self.live.watch()
        extra = _link(snapshot.config, key) if _FEED.match(key) else None
        sent = answer(resource, lambda name: environ.get(_environ_key(name)), snapshot.config.ttl_minutes, extra)
        headers = list(sent.headers.items())
        if sent.status == 304:
            start_response("304 NOT MODIFIED", headers)
            return []
        headers += [("Content-Type", sent.media_type), ("Content-Length", str(len(sent.body)))]
        start_response("200 OK", headers)
        return [] if method == "HEAD" else [sent.body]


@functools.lru_cache(maxsize=64)
def _environ_key(header: str) -> str:
    """The WSGI environ key of a request header: ``If-None-Match`` -> ``HTTP_IF_NONE_MATCH``."""
    return "HTTP_" + header.upper().replace("-", "_")


def _find(snapshot: Snapshot, path: str) -> Resource | None:
    limit = query_int(request.args.get("limit"), "limit")
    page = query_int(request.args.get("page"), "page", minimum=1)
    return snapshot.page(path, limit, page or 1)


def _not_found() -> Response:
    query = request.query_string.decode("latin-1")
    shown = quote(request.path + (f"?{query}" if query else ""), safe=_PRINTABLE)
    return plain(f"not found: {shown}", 404)


def _http_error(exc: HTTPException) -> Response:
    if exc.code == 404:
        return _not_found()
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}  # Allow on a 405
    return plain(f"{exc.code} {exc.name}", exc.code or 500, headers)
