"""Synthetic corpora (generated once, cached), working copies, and one-article edits."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from common import COMMAND_TIMEOUT, CORPORA, REPO, WORK, BenchError, remove_tree, say

CATEGORIES = 40
SEED = 1
MARKER = ".bench-corpus.json"  # a dot file: `feeds` ignores it, the Hugo converter reads only *.txt
_DATE_LINE = re.compile(r"^date:\s*(.+?)\s*$", re.MULTILINE)
_CATEGORIES = re.compile(r"^categories:[ \t]*\n((?:[ \t]+- .*\n)+)", re.MULTILINE)
_TITLE_LINE = re.compile(r"^(title:\s*'.*)'\s*$", re.MULTILINE)


def generator_path(override: Path | None) -> Path:
    """make_corpus.py: ``--make-corpus`` or shared/tools/ beside the repository."""
    path = override if override is not None else REPO.parent / "shared" / "tools" / "make_corpus.py"
    if not path.is_file():
        raise BenchError(f"{path}: corpus generator not found (pass --make-corpus PATH)")
    return path


def corpus_args(generator: Path, articles: int) -> dict[str, Any]:
    digest = hashlib.sha256(generator.read_bytes()).hexdigest()
    return {"articles": articles, "categories": CATEGORIES, "seed": SEED, "generator_sha256": digest}


def ensure_corpus(generator: Path, articles: int) -> Path:
    """bench/corpora/<N>/, generated unless its marker records the same arguments."""
    dest = CORPORA / str(articles)
    args = corpus_args(generator, articles)
    if read_marker(dest) == args:
        return dest
    say(f"generating corpus of {articles} articles into {dest.relative_to(REPO)} ...")
    tmp = CORPORA / f".{articles}.tmp"
    remove_tree(tmp)
    cmd = [sys.executable, str(generator), str(tmp), "--articles", str(articles),
           "--categories", str(CATEGORIES), "--seed", str(SEED)]
    subprocess.run(cmd, check=True, timeout=COMMAND_TIMEOUT)
    (tmp / MARKER).write_text(json.dumps(args, indent=1) + "\n", encoding="utf-8")
    remove_tree(dest)
    tmp.rename(dest)
    return dest


def read_marker(corpus: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((corpus / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def working_copy(corpus: Path, articles: int) -> Path:
    """A fresh bench/work/content-<N>/ of hard links: edits replace files, never the corpus's bytes."""
    dest = WORK / f"content-{articles}"
    remove_tree(dest)
    shutil.copytree(corpus, dest, copy_function=_link_or_copy)
    return dest


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def newest_first(content: Path) -> list[Path]:
    """The articles of ``content`` by date, newest first (they head every feed they are in)."""
    dated = [(_article_date(path), path.name) for path in content.glob("*.txt")]
    return [content / name for _, name in sorted(dated, reverse=True)]


def _article_date(path: Path) -> float:
    with path.open(encoding="utf-8") as f:
        head = f.read(4096)
    match = _DATE_LINE.search(head)
    if match is None:
        raise BenchError(f"{path}: no date line")
    return parsedate_to_datetime(match.group(1)).timestamp()


def category_count(content: Path) -> int:
    """Distinct category names in the front matter of the articles (one ` - name` line each)."""
    names: set[str] = set()
    for path in content.glob("*.txt"):
        with path.open(encoding="utf-8") as f:
            head = f.read(4096)
        block = _CATEGORIES.search(head)
        if block is not None:
            names.update(line.strip()[2:].strip() for line in block.group(1).splitlines() if line.strip())
    return len(names)


def edit_article(path: Path, serial: int) -> str:
    """Change the title (even ``serial``) or the body (odd) of ``path``; returns which."""
    text = path.read_text(encoding="utf-8")
    edited, what = text, "body"
    if serial % 2 == 0:
        edited = _TITLE_LINE.sub(lambda m: f"{m.group(1)} 修订{serial}'", text, count=1)
        what = "title"
    if edited == text:
        end = text.rfind("</div>")
        end = len(text) if end < 0 else end
        edited, what = f"{text[:end]}<p>\u3000\u3000修订{serial}：本段为基准测试所加。</p>\n{text[end:]}", "body"
    _replace(path, edited)
    return what


def add_article(newest: Path, serial: int) -> Path:
    """A new article beside ``newest``, a copy dated ``serial`` + 1 hours later: it heads every feed it is in."""
    text = newest.read_text(encoding="utf-8")
    match = _DATE_LINE.search(text)
    if match is None:
        raise BenchError(f"{newest}: no date line")
    when = parsedate_to_datetime(match.group(1)) + timedelta(hours=serial + 1)
    text = text[: match.start(1)] + format_datetime(when, usegmt=True) + text[match.end(1) :]
    text = _TITLE_LINE.sub(lambda m: f"{m.group(1)} 新稿{serial}'", text, count=1)
    path = newest.with_name(f"new-{serial:04d}.txt")
    _replace(path, text)
    return path


def _replace(path: Path, text: str) -> None:
    """Write a new file and rename it over ``path`` (so a hard-linked corpus file is untouched)."""
    tmp = path.with_name(f".{path.name}.edit")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
