"""index.html: a plain page listing every feed, with autodiscovery links."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from feeds.config import Config
from feeds.plan import FeedSpec

_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
_LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}


def render_index(specs: Sequence[FeedSpec], config: Config) -> bytes:
    """The same bytes for the same feeds: no dates of the build in it."""
    links = "\n".join(
        f'<link rel="alternate" type="{_TYPES[fmt]}" title="{escape(_label(s, fmt))}" '
        f'href="{escape(s.url(config, fmt))}">'
        for s in specs for fmt in config.formats
    )
    sections = "\n".join(
        _section(heading, [s for s in specs if s.family == family], config)
        for heading, family in SECTIONS if any(s.family == family for s in specs)
    )
    page = _PAGE.format(
        lang=escape(config.language), title=escape(config.title), links=links,
        description=escape(config.description), site=escape(config.base_url), sections=sections,
    )
    return page.encode("utf-8")


SECTIONS = (("全部文章", "all"), ("栏目", "category"), ("标签", "tag"), ("作者", "author"))


def _section(heading: str, specs: Sequence[FeedSpec], config: Config) -> str:
    rows = "\n".join(_row(s, config) for s in specs)
    return _SECTION.format(heading=escape(heading), rows=rows)


def _label(spec: FeedSpec, fmt: str) -> str:
    return f"{spec.title} ({_LABELS[fmt]})"


def _row(spec: FeedSpec, config: Config) -> str:
    name = spec.name or "全部文章"
    view = spec.view(config.items)
    newest = view.updated.astimezone(config.timezone).strftime("%Y-%m-%d %H:%M") if view.items else "—"
    formats = " · ".join(
        f'<a href="{escape(spec.path)}.{fmt}">{_LABELS[fmt]}</a>' for fmt in config.formats
    )
    return (
        f"<tr><th scope=\"row\">{escape(name)}</th><td>{len(spec.history)}</td>"
        f"<td>{newest}</td><td>{formats}</td></tr>"
    )


_SECTION = """<h2>{heading}</h2>
<table>
<thead><tr>
<th scope="col">名称</th><th scope="col">文章数</th><th scope="col">最新</th><th scope="col">订阅</th>
</tr></thead>
<tbody>
{rows}
</tbody>
</table>"""

_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · 订阅</title>
{links}
<style>
body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;width:100%}}
th,td{{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{description}</p>
<p>在阅读器中订阅以下任一地址即可。网站：<a href="{site}">{site}</a></p>
{sections}
</body>
</html>
"""
