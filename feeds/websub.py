"""WebSub (PubSubHubbub) publishing: tell a hub which feeds a build changed.

WebSub (W3C Recommendation, section 6) leaves the publish ping to the hub and
the publisher. The de-facto form, from PubSubHubbub 0.4 and taken by the
public hubs (Google's, Superfeedr's, WordPress's plugin), is a POST of
``application/x-www-form-urlencoded`` ``hub.mode=publish&hub.url=<topic>``;
any 2xx (usually 204) means the hub took it and will fetch the topic itself.

One POST per topic URL works with every hub. Failures never raise: each is a
:class:`PingResult` with ``ok`` False and a one-line message, since a ping
that fails must not fail a build whose files are already written. Only the
standard library is used (urllib), so no new dependency.
"""

from __future__ import annotations

import http.client
import math
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit

from feeds import __version__
from feeds.config import Config

MAX_DELAY = 30.0  # seconds: the longest wait between tries, Retry-After included
USER_AGENT = f"feeds/{__version__}"
_SNIPPET = 160  # characters of a hub's text/plain refusal shown in a message

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class PingResult:
    url: str  # the topic (feed) URL
    ok: bool
    status: int | None  # the hub's last HTTP status; None when it never answered
    message: str  # one line, naming the topic


def changed_feed_urls(written: Iterable[str], config: Config) -> list[str]:
    """Absolute URLs of the feed documents among ``written`` (output paths), sorted.

    Compressed copies, index.html and feeds.opml are left out: a hub's topic
    is a feed's own URL, as its ``rel="self"`` link gives it. Only formats of
    ``[feeds] formats``: no hub is told of a feed that is not published.
    """
    suffixes = tuple(f".{fmt}" for fmt in config.formats)  # feed documents; not their .gz/.br copies
    return sorted({f"{config.feed_root}{path}" for path in written if path.endswith(suffixes)})


def hub_problem(hub: str) -> str | None:
    """Why ``hub`` cannot be pinged, or None when it is an absolute http(s) URL."""
    if any(c.isspace() or not c.isprintable() for c in hub):
        return f"hub {hub!r} is not a URL (it holds spaces or control characters)"
    if not hub.isascii():
        return f"hub {hub!r} holds non-ASCII characters (percent-encode them, IDNA for the host)"
    try:
        parts = urlsplit(hub)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return f"hub {hub!r} is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"hub {hub!r} is not an absolute http(s) URL"
    if parts.username is not None or parts.password is not None:
        return "hub URL holds a user name or password, which is not supported (and would be logged)"
    return None


def publish(
    hub: str,
    urls: Sequence[str],
    *,
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 1.0,
    opener: urllib.request.OpenerDirector | None = None,
    sleep: Sleep = time.sleep,
) -> list[PingResult]:
    """Ping ``hub`` once per topic in ``urls``; one result per distinct URL, in order.

    ``retries`` is how many tries each URL gets in all (at least 1). A
    connection error, a timeout (``timeout`` seconds per request), a 429 or a
    5xx is tried again after ``backoff * 2**attempt`` seconds, or the hub's
    numeric ``Retry-After``, never more than 30 s. Any other answer is final:
    2xx is success, a redirect or another 4xx a failure. When the hub is down
    for one URL (every try failed that way), the URLs after it are not sent,
    so a dead hub costs one URL's tries, not every feed's.
    """
    if retries < 1:
        raise ValueError(f"retries: expected 1 or more tries, got {retries!r}")
    if not timeout > 0 or not backoff >= 0:
        raise ValueError(f"expected timeout > 0 and backoff >= 0, got {timeout!r} and {backoff!r}")
    topics = list(dict.fromkeys(urls))
    problem = hub_problem(hub)
    if problem is not None:
        return [PingResult(url, False, None, f"{url}: not sent: {problem}") for url in topics]
    if opener is None:
        opener = urllib.request.build_opener(_NoRedirect())
    results: list[PingResult] = []
    down: str | None = None  # the topic for which the hub failed with a transient error
    for url in topics:
        if down is not None:
            results.append(PingResult(url, False, None, f"{url}: not sent: the hub failed for {down}"))
            continue
        result, transient = _ping(opener, hub, url, timeout, retries, backoff, sleep)
        results.append(result)
        if transient:
            down = url
    return results


def ping_lines(results: Sequence[PingResult], hub: str = "the hub") -> list[str]:
    """Lines for stderr: how many feeds the hub took, then one warning per failure.

    No results (no feed changed) gives no lines.
    """
    if not results:
        return []
    sent = sum(1 for r in results if r.ok)
    failed = len(results) - sent
    shown = hub if hub_problem(hub) is None else "the hub"
    if sent:
        lines = [f"websub: notified {shown} of {_plural(sent, 'changed feed', 'changed feeds')}"
                 + (f" ({failed} failed)" if failed else "")]
    else:
        lines = [f"websub: warning: could not notify {shown} of {_plural(failed, 'changed feed', 'changed feeds')}"]
    lines += [f"websub: warning: {r.message}" for r in results if not r.ok]
    return lines


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib turns a redirected POST into a GET without a body: report the 3xx instead."""

    def redirect_request(self, req: Any, fp: Any, code: Any, msg: Any, headers: Any, newurl: Any) -> None:
        return None


def _ping(
    opener: urllib.request.OpenerDirector, hub: str, url: str,
    timeout: float, retries: int, backoff: float, sleep: Sleep,
) -> tuple[PingResult, bool]:
    """One topic, with retries; the result and whether it failed for a transient reason."""
    body = urlencode({"hub.mode": "publish", "hub.url": url}).encode("ascii")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT}
    tries = _plural(retries, "try", "tries")
    status: int | None = None
    message = ""
    for attempt in range(retries):
        request = urllib.request.Request(hub, data=body, headers=headers, method="POST")
        retry_after: float | None = None
        try:
            with opener.open(request, timeout=timeout) as response:
                status = int(response.status)
            if 200 <= status < 300:
                return PingResult(url, True, status, f"{url}: hub answered {status}"), False
            return PingResult(url, False, status, f"{url}: hub answered {status}"), False  # an opener without errors
        except HTTPError as exc:
            try:
                status = exc.code
                if status != 429 and status < 500:
                    return PingResult(url, False, status, _refusal(url, exc)), False
                retry_after = _retry_after(exc.headers or Message())
                message = f"{url}: hub answered {status} after {tries}"
            finally:
                exc.close()
        except (URLError, OSError, http.client.HTTPException, ValueError) as exc:
            reason = exc.reason if isinstance(exc, URLError) else exc
            status = None
            if isinstance(reason, TimeoutError):
                message = f"{url}: no answer from the hub within {timeout:g} s after {tries}"
            else:
                message = f"{url}: cannot reach the hub ({_reason(reason)}) after {tries}"
        if attempt + 1 < retries:
            sleep(min(MAX_DELAY, retry_after if retry_after is not None else backoff * 2**attempt))
    return PingResult(url, False, status, message), True


def _refusal(url: str, exc: HTTPError) -> str:
    """A final non-2xx answer (other 4xx, a redirect), as one line."""
    status = f"{exc.code} {exc.reason}".strip() if isinstance(exc.reason, str) else str(exc.code)
    headers = exc.headers or Message()
    if 300 <= exc.code < 400:
        where = headers.get("Location", "")
        return f"{url}: hub answered {status}, a redirect{f' to {_clean(where)}' if where else ''}; " \
               "set the hub to the URL it names"
    text = ""
    if headers.get_content_type() == "text/plain":
        try:
            text = _clean(exc.read(4 * _SNIPPET).decode("utf-8", "replace"))
        except (OSError, http.client.HTTPException):
            text = ""
    return f"{url}: hub refused it: {status}" + (f": {text}" if text else "")


def _retry_after(headers: Message) -> float | None:
    """A numeric Retry-After in seconds; None when absent or an HTTP date."""
    value = (headers.get("Retry-After") or "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return _clean(reason.strerror)
    return _clean(str(reason) or type(reason).__name__)


def _clean(text: str) -> str:
    """Hub-supplied text made safe for one terminal line: printable, short."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= _SNIPPET else line[: _SNIPPET - 1] + "…"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"
