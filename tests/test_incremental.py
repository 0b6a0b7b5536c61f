"""Incremental builds: the cache saves work and never changes a byte of output."""

from __future__ import annotations

import gzip
import os
import pickle
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from feeds import cache as cache_module
from feeds import fanout, loader
from feeds import workers as workers_module
from feeds.build import StrictError, build, cache_folder
from feeds.cache import FILE, load_cache, save_cache
from feeds.cli import main
from feeds.compress import COMPRESSORS
from feeds.config import Config
from feeds.errors import ArticleError, OutputError
from feeds.loader import FileEntry, load_articles
from feeds.models import Finding
from feeds.plan import FORMATS, feed_names, plan_feeds
from feeds.site import feed_views
from feeds.slugs import slugify
from feeds.stamps import FINE_NS
from feeds.workers import Workers

from .conftest import ROOT, SEEDS, make_config
from .test_build import published_files


@pytest.fixture
def site(tmp_path: Path) -> Config:
    content = tmp_path / "content"
    shutil.copytree(SEEDS, content)
    return make_config(content, tmp_path / "public")


def full_build_of(config: Config, tmp_path: Path, name: str) -> dict[str, bytes]:
    """What a build without any cache writes for the same content."""
    fresh = make_config(config.content, tmp_path / name)
    build(fresh, use_cache=False)
    return published_files(fresh.output, compressed=True)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("jobs", [1, 2])  # 2: a rebuild's workers, forked before the cache is read
def test_cached_builds_equal_full_builds_through_edits(site: Config, tmp_path: Path, jobs: int) -> None:
    build(site)
    steps = [
        lambda: edit(site.content / "005_f1601efdcfadf5c8.txt", "title:", "title: 【更新】"),
        lambda: (site.content / "new.md").write_text(
            "---\ntitle: 新文章\ndate: 2021-09-01 08:00:00\ncategories: [债券, 新栏目]\n---\n<p>新。</p>\n",
            encoding="utf-8"),
        lambda: (site.content / "009_d31ec8b984c6cfa5.txt").unlink(),
        lambda: (site.content / "new.md").rename(site.content / "renamed.md"),
        lambda: (site.content / "bad.md").write_text("---\ntitle: t\ndate: nope\n---\n", encoding="utf-8"),
    ]
    for i, step in enumerate(steps):
        step()
        report = build(site, jobs=jobs)
        assert report.parsed <= 1, i
        assert published_files(site.output, compressed=True) == full_build_of(site, tmp_path, f"full{i}"), i


def build_command(site: Config, tmp_path: Path) -> list[str]:
    """`feeds build --jobs 2` with a config file of ``site``'s folders."""
    config = tmp_path / "site.toml"
    config.write_text(
        f'[site]\ntitle = "测试站"\nbase_url = "https://news.example.com/"\n'
        f"[build]\ncontent = {str(site.content)!r}\noutput = {str(site.output)!r}\n",
        encoding="utf-8",
    )
    return ["build", "--config", str(config), "--jobs", "2"]


def imports_of(command: list[str], modules: Iterable[str]) -> subprocess.CompletedProcess[str]:
    """``main(command)`` in a fresh interpreter, printing its exit code and which of ``modules`` it imported.

    What the interpreter itself imported at start (site, .pth files) does not count.
    """
    watched = sorted(modules)
    code = (
        "import sys; before = set(sys.modules); from feeds.cli import main; "
        f"code = main({command!r}); "
        f"print(code, sorted(m for m in set(sys.modules) - before if m in {watched!r} "
        f"or m.split('.')[0] in {watched!r}))"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)


def test_nothing_changed_reads_nothing_and_imports_no_renderer(site: Config, tmp_path: Path) -> None:
    """`feeds build` run again on an unchanged folder, in a fresh interpreter: what it imports."""
    command = build_command(site, tmp_path)
    assert main(command) == 0
    out = imports_of(command, _NOT_FOR_NOTHING)
    assert out.stdout.split(maxsplit=1) == ["0", "[]\n"]
    assert "0 files written" in out.stderr


def test_a_quick_rebuild_forks_no_worker(site: Config, tmp_path: Path) -> None:
    """One edit, rebuilt by `feeds build --jobs 2` in a fresh interpreter: a few items to render, here.

    It renders the edited article's items only (``feeds.splice``): a pool would cost more than it saves.
    """
    command = build_command(site, tmp_path)
    assert main(command) == 0
    edit(site.content / "003_ef7f17c36a214753.txt", "title:", "title: 【更新】")
    out = imports_of(command, {"multiprocessing", "concurrent", "feeds.workers"})
    assert out.stdout.split(maxsplit=1) == ["0", "[]\n"]
    written, unchanged = map(int, re.search(r"(\d+) files written, (\d+) unchanged", out.stderr).groups())  # type: ignore[union-attr]
    assert written > 0 and unchanged > 0  # its feeds rewritten, the others kept
    assert "【更新】" in (site.output / "all.rss").read_text(encoding="utf-8")


def test_a_full_path_rebuild_renders_in_its_workers(site: Config, tmp_path: Path) -> None:
    """A change that moves an article (a new category), `--jobs 2`: feedgen, lxml and nh3 are the workers'."""
    command = build_command(site, tmp_path)
    assert main(command) == 0
    edit(site.content / "003_ef7f17c36a214753.txt", "categories: 股市", "categories: [股市, 新栏目]")
    out = imports_of(command, {"feedgen", "lxml", "nh3"})
    assert out.stdout.split(maxsplit=1) == ["0", "[]\n"]
    assert (site.output / "category").is_dir()
    assert "新栏目" in (site.output / "feeds.opml").read_text(encoding="utf-8")


# What a build with nothing to do never imports: the renderers, the parser, pypinyin, and what only
# planning, compressing, writing or reading cache entries needs (each a few ms of every cron run).
_NOT_FOR_NOTHING = frozenset({
    "feedgen", "lxml", "nh3", "pypinyin", "yaml", "dateutil", "brotli", "isal", "gzip", "pickle", "tempfile",
    "multiprocessing", "feeds.plan", "feeds.slugs", "feeds.parser", "feeds.fanout", "feeds.workers",
})


def test_one_edit_parses_one_file_and_rewrites_only_its_feeds(site: Config) -> None:
    first = build(site)
    edit(site.content / "003_ef7f17c36a214753.txt", "title:", "title: 【更新】")  # 股市 only
    report = build(site)
    assert report.parsed == 1
    written = {p for p in report.write.written if not p.endswith((".gz", ".br"))}
    assert written == {f"{path}.{fmt}" for path in ("all", "category/gu-shi") for fmt in FORMATS}
    assert "feeds: 18 files read, 17 published" in report.summary()
    assert report.findings == first.findings


def test_nothing_changed_reports_the_same_lines(site: Config) -> None:
    (site.content / "bad.md").write_text("---\ntitle: t\ndate: nope\n---\n", encoding="utf-8")
    first = build(site)
    again = build(site)
    assert again.mode == "kept"
    assert again.findings == first.findings
    assert again.counts == first.counts
    files = len(first.write.written) // (1 + len(COMPRESSORS))
    assert again.summary().split(" in ")[0] == first.summary().split(" in ")[0].replace(
        f"{files} files written, 0 unchanged", f"0 files written, {files} unchanged")
    with pytest.raises(StrictError):
        build(site, strict=True)


def test_outputs_changed_behind_our_back_are_rewritten(site: Config) -> None:
    build(site)
    original = (site.output / "all.rss").read_bytes()
    (site.output / "all.rss").write_bytes(b"tampered")
    (site.output / "category/finance.atom.gz").unlink()
    report = build(site)
    assert "all.rss" in report.write.written and "category/finance.atom.gz" in report.write.written
    assert (site.output / "all.rss").read_bytes() == original


@pytest.mark.parametrize("garbage", [
    b"", b"not json\n", b'{"format": "other"}\n', b"\xff\xfe\x00",
    b'{"format": "feeds-cache", "version": 999}\n',
])
def test_corrupt_or_foreign_cache_is_discarded_with_a_notice(
    site: Config, tmp_path: Path, garbage: bytes
) -> None:
    build(site)
    (cache_folder(site) / FILE).write_bytes(garbage)
    edit(site.content / "001_d7af9c1c11e1b37a.txt", "title:", "title: 改 ")
    report = build(site)
    assert len(report.notices) == 1
    assert report.notices[0].startswith(f"{cache_folder(site)}: warning: cache discarded: ")
    assert report.parsed == 18
    assert published_files(site.output, compressed=True) == full_build_of(site, tmp_path, "full")


def read_blocks(path: Path) -> tuple[bytes, list[tuple[FileEntry, ...]]]:
    """The two JSON lines of a cache file, and its blocks' entries."""
    data = path.read_bytes()
    first = data.index(b"\n") + 1
    rest = data.index(b"\n", first) + 1
    blocks, at = [], rest
    while at < len(data):
        length, _ = cache_module._FRAME.unpack_from(data, at)
        at += cache_module._FRAME.size
        blocks.append(pickle.loads(data[at : at + length]))
        at += length
    return data[:rest], blocks


def write_blocks(path: Path, head: bytes, blocks: list[Any]) -> None:
    """A cache file of ``head`` and ``blocks``, each framed with its true length and digest."""
    frames = [head]
    for block in blocks:
        payload = pickle.dumps(block, protocol=5)
        frames += [cache_module._FRAME.pack(len(payload), cache_module._digest(payload)), payload]
    path.write_bytes(b"".join(frames))


def test_a_corrupt_block_is_not_trusted(site: Config) -> None:
    build(site)
    path = cache_folder(site) / FILE
    data = bytearray(path.read_bytes())
    data[-40] ^= 0x01  # one bit, inside the last block's pickle
    path.write_bytes(bytes(data))
    os.utime(site.content / "000_651e3118f59f4f36.txt")  # force the slow path
    report = build(site)
    assert report.notices and "cache discarded" in report.notices[0] and "digest" in report.notices[0]
    assert report.parsed == 18


def test_a_cut_cache_is_not_trusted(site: Config) -> None:
    build(site)
    path = cache_folder(site) / FILE
    path.write_bytes(path.read_bytes()[:-10])  # a torn write
    os.utime(site.content / "000_651e3118f59f4f36.txt")
    report = build(site)
    assert report.notices and "cache discarded" in report.notices[0]
    assert report.parsed == 18


def test_another_config_ignores_the_cache(site: Config) -> None:
    build(site)
    other = make_config(site.content, site.output, title="另一个站")
    report = build(other)
    assert report.notices == ()
    assert report.parsed == 18
    assert "另一个站" in (site.output / "all.rss").read_text(encoding="utf-8")


def test_compressed_copies_are_byte_stable_and_match(site: Config, tmp_path: Path) -> None:
    build(site)
    files = published_files(site.output, compressed=True)
    for path, data in files.items():
        if path.endswith(".gz"):
            assert data[4:8] == b"\0\0\0\0"  # no timestamp in the gzip header
            assert gzip.decompress(data) == files[path.removesuffix(".gz")]
    assert files == full_build_of(site, tmp_path, "again")


def test_cache_location_from_config(site: Config, tmp_path: Path) -> None:
    config = make_config(site.content, site.output, cache=tmp_path / "elsewhere")
    build(config)
    assert (tmp_path / "elsewhere" / FILE).is_file()
    assert not (site.output / ".feeds-cache").exists()



def test_worker_processes_write_the_same_bytes_as_one_process(
    site: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing and rendering in forked workers changes no byte of any file, copies included."""
    one = build(make_config(site.content, tmp_path / "one"), jobs=1)
    many_config = make_config(site.content, tmp_path / "many")
    monkeypatch.setattr(loader, "_POOL_FROM", 1)  # the seed folder is small: start the pools anyway
    monkeypatch.setattr(fanout, "_POOL_FROM", 1)
    many = build(many_config, jobs=3)
    views = feed_views(plan_feeds(load_articles(site).published, site), site)
    assert len(fanout.tasks(views, sorted(views))) >= 4  # feeds for three workers to share
    assert published_files(many_config.output, compressed=True) == published_files(tmp_path / "one", compressed=True)
    assert many.write.written == one.write.written and many.counts == one.counts
    assert many.findings == one.findings  # made beside the workers, the same as made after them
    caches = [load_cache(cache_folder(c), c) for c in (many_config, make_config(site.content, tmp_path / "one"))]
    assert caches[0] is not None and caches[1] is not None
    assert caches[0].entries == caches[1].entries and len(caches[0].entries) == 18
    assert caches[0].slugs == caches[1].slugs and "zi-xun" in caches[0].slugs.values()  # the slugger's
    assert [e.findings for e in caches[0].entries.values()] == [e.findings for e in caches[1].entries.values()]


def pickled_sources(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the entries the next cache save pickles afresh (the others are copied)."""
    pickled: list[str] = []
    real = cache_module.pack_block

    def spy(entries: list[FileEntry]) -> bytes:
        pickled.extend(e.source for e in entries)
        return real(entries)

    monkeypatch.setattr(cache_module, "pack_block", spy)
    return pickled


def test_a_cold_build_saves_the_chunks_its_worker_packed_as_they_came(
    site: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries a parsing worker sent are written to the cache as its bytes, not pickled again; the same cache."""
    monkeypatch.setattr(loader, "_POOL_FROM", 1)
    monkeypatch.setattr(loader, "_CHUNK", 4)
    real = workers_module.parse_beside

    def worker_takes_all(chunks: Any, config: Config, jobs: int, known: Any, meanwhile: Any = None) -> Any:
        def wait() -> None:  # this process waits: the worker parses every chunk
            if meanwhile is not None:
                meanwhile()
            claims = workers_module._STATE["claims"]
            deadline = time.monotonic() + 60
            while not all(claims[:]) and time.monotonic() < deadline:
                time.sleep(0.01)
        return real(chunks, config, jobs, known, wait)

    monkeypatch.setattr(workers_module, "parse_beside", worker_takes_all)
    pickled = pickled_sources(monkeypatch)
    build(site, jobs=2)
    assert pickled == []  # every entry came packed
    one = make_config(site.content, tmp_path / "one")
    build(one, jobs=1)
    saved, fresh = load_cache(cache_folder(site), site), load_cache(cache_folder(one), one)
    assert saved is not None and fresh is not None
    assert saved.entries == fresh.entries and len(saved.entries) == 18
    assert [e.findings for e in saved.entries.values()] == [e.findings for e in fresh.entries.values()]
    assert len(saved.blocks) == 5  # the worker's chunks of four, one block each


def frames(path: Path) -> list[bytes]:
    """The raw bytes of every block of a cache file (length, digest and pickle)."""
    data = path.read_bytes()
    at = data.index(b"\n", data.index(b"\n") + 1) + 1
    out = []
    while at < len(data):
        length, _ = cache_module._FRAME.unpack_from(data, at)
        out.append(data[at : at + cache_module._FRAME.size + length])
        at += cache_module._FRAME.size + length
    return out


def test_blocks_kept_from_the_last_cache_are_copied_as_read(
    site: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild copies the blocks whose entries did not change, byte for byte, and pickles only the others."""
    monkeypatch.setattr(cache_module, "_BLOCK", 4)  # 18 files: blocks of 4, 4, 4, 4 and 2
    build(site)
    before = frames(cache_folder(site) / FILE)
    names = sorted(p.name for p in site.content.iterdir())
    edit(site.content / names[5], "title:", "title: 【更新】")
    pickled = pickled_sources(monkeypatch)
    build(site)
    assert pickled == names[4:8]  # the block holding the edited file; the other four were copied
    after = frames(cache_folder(site) / FILE)
    assert len(before) == len(after) == 5
    assert [a == b for a, b in zip(before, after, strict=True)] == [True, False, True, True, True]
    cache = load_cache(cache_folder(site), site)
    assert cache is not None and cache.origin is not None and len(cache.entries) == 18
    save_cache(tmp_path / "fresh", site, cache)  # every block pickled again from what was read
    assert frames(tmp_path / "fresh" / FILE) == after


def test_copied_blocks_survive_edits_removals_and_additions(
    site: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks broken by changes are pickled afresh; the cache then holds what a full build's cache holds."""
    monkeypatch.setattr(cache_module, "_BLOCK", 3)
    build(site)
    names = sorted(p.name for p in site.content.iterdir())
    edit(site.content / names[4], "title:", "title: 【更新】")
    (site.content / names[9]).unlink()
    (site.content / names[0]).unlink()
    for name, title in (("0000-first.md", "新"), ("zzz-last.md", "末")):
        text = f"---\ntitle: {title}\ndate: 2021-09-01\n---\n<p>{title}。</p>\n"
        (site.content / name).write_text(text, encoding="utf-8")
    pickled = pickled_sources(monkeypatch)
    report = build(site)
    assert report.parsed == 3
    assert "0000-first.md" in pickled and "zzz-last.md" in pickled and names[4] in pickled
    assert len(pickled) < 18  # some blocks were copied
    monkeypatch.undo()
    fresh = make_config(site.content, tmp_path / "fresh")
    build(fresh, use_cache=False)
    caches = [load_cache(cache_folder(c), c) for c in (site, fresh)]
    assert caches[0] is not None and caches[1] is not None
    assert caches[0].entries == caches[1].entries and len(caches[0].entries) == 18
    _, blocks = read_blocks(cache_folder(site) / FILE)
    assert [e.source for b in blocks for e in b] == sorted(caches[1].entries)


def test_relative_and_absolute_folders_share_the_cache(site: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--output public` from the site's folder and the same folder spelled absolute: nothing to redo."""
    monkeypatch.chdir(site.output.parent)
    relative = make_config(Path(site.content.name), Path(site.output.name))
    assert build(relative).load is not None
    again = build(make_config(site.content.resolve(), site.output.resolve()))
    assert again.mode == "kept" and again.write.written == ()  # the no-change path: nothing read


def test_a_path_twice_discards_the_cache(site: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "_BLOCK", 6)
    build(site)
    path = cache_folder(site) / FILE
    head, blocks = read_blocks(path)
    write_blocks(path, head, [blocks[0], *blocks])  # the first block twice, digests and all correct
    os.utime(site.content / "000_651e3118f59f4f36.txt")  # past the no-change path
    report = build(site)
    assert report.notices and "its blocks are not the ones snapshot.bin lists" in report.notices[0]
    assert report.parsed == 18
    write_blocks(path, read_blocks(path)[0], [blocks[0], *blocks])  # again, read by the full path (a file removed):
    (site.content / "017_787918f6fcdfbdd6.txt").unlink()
    report = build(site)
    assert report.notices and "twice" in report.notices[0].split("cache discarded:")[1]
    assert report.parsed == 17


class _Evil:
    """Pickles as a call of os.system: a cache must never run it."""

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, ("touch pwned",)


def _article(e: FileEntry, **changes: Any) -> FileEntry:
    assert e.article is not None
    return replace(e, article=replace(e.article, **changes))


_NAIVE = datetime(2021, 7, 10, 21, 41)  # noqa: DTZ001 - a naive time is the point
_WRONG: dict[str, Callable[[FileEntry], Any]] = {
    "path": lambda e: replace(e, source=7),
    "path out of order": lambda e: replace(e, source="zzz.md", article=None, findings=()),
    "stamp": lambda e: replace(e, stamp=(5550, 1)),
    "findings": lambda e: replace(e, findings=[]),
    "finding level": lambda e: replace(e, findings=(Finding(e.source, "loud", "x", "y"),)),
    "not an entry": lambda e: {"source": e.source},
    "title": lambda e: _article(e, title=1),
    "naive time": lambda e: _article(e, published=_NAIVE),
    "not UTC": lambda e: _article(e, published=datetime(2021, 7, 10, 21, 41, tzinfo=timezone(timedelta(hours=8)))),
    "categories": lambda e: _article(e, categories="股市"),
    "a category": lambda e: _article(e, categories=(1,)),
    "author": lambda e: _article(e, author=("x", None)),
    "link": lambda e: _article(e, permalink=5),
    "draft": lambda e: _article(e, draft="yes"),
    "a body": lambda e: _article(e, body="<p>kept</p>"),
    "another path": lambda e: _article(e, source="other.md"),
    "code to run": lambda e: _Evil(),
}


@pytest.mark.parametrize("what", sorted(_WRONG))
def test_entries_of_the_wrong_shape_discard_the_cache(
    site: Config, what: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(site)
    path = cache_folder(site) / FILE
    head, blocks = read_blocks(path)
    first, *rest = blocks[0]
    write_blocks(path, head, [(_WRONG[what](first), *rest), *blocks[1:]])
    os.utime(site.content / "000_651e3118f59f4f36.txt")  # past the no-change path
    monkeypatch.chdir(site.output)
    report = build(site)
    assert report.notices and "cache discarded" in report.notices[0]
    assert report.parsed == 18
    assert not (site.output / "pwned").exists()


def test_a_cache_of_the_last_format_is_discarded_and_removed(site: Config) -> None:
    """Format 2 was JSON lines in cache.jsonl: not read, and gone once the new cache is saved."""
    build(site)
    old = cache_folder(site) / "cache.jsonl"
    old.write_text('{"format": "feeds-cache", "version": 2}\n', encoding="utf-8")
    os.utime(site.content / "000_651e3118f59f4f36.txt")
    build(site)
    assert not old.exists() and (cache_folder(site) / FILE).is_file()


def test_parsing_workers_slug_the_names_the_cache_lacks(site: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers slug new feed names while parsing; names the cache knows are not slugged again."""
    monkeypatch.setattr(loader, "_POOL_FROM", 1)
    monkeypatch.setattr(loader, "_CHUNK", 4)
    known = {"银行": "not-what-slugify-gives"}
    called: list[int] = []

    def let_the_worker_take_every_chunk() -> None:  # runs in the parent once the worker is started
        claims = workers_module._STATE["claims"]
        deadline = time.monotonic() + 60
        while not all(claims[:]) and time.monotonic() < deadline:
            time.sleep(0.01)
        called.append(len(claims))

    load = load_articles(site, jobs=2, known_slugs=known, meanwhile=let_the_worker_take_every_chunk)
    names = feed_names(load.published, site)
    assert called == [5] and load.parsed == 18
    assert "银行" in names and set(load.slugs) == names - set(known)
    assert load.slugs == {name: slugify(name) for name in names - set(known)}
    assert load.slugs["资讯"] == "zi-xun"
    with Workers(site, 2) as workers:  # a rebuild's workers, forked before anything was read
        early = load_articles(site, jobs=2, known_slugs=known, workers=workers)
    assert early.parsed == 18 and early.slugs and set(early.slugs) <= names - set(known)
    assert early.slugs == {name: slugify(name) for name in early.slugs}
    assert load_articles(site, jobs=2).slugs == {}  # no known slugs given: none made


def test_one_worker_slugs_each_new_name_once(site: Config) -> None:
    """pypinyin loads in one worker only: the others leave their new names to the build."""
    todo = [(name, str(site.content / name), None) for name in sorted(os.listdir(site.content))]
    with Workers(site, 2) as workers:
        results = list(workers.parse([[item] for item in todo], {}))
    slugged = Counter(name for _, made, _ in results for name in made)
    names = feed_names((e.article for part, _, _ in results for e in part if e.article is not None), site)
    assert slugged and set(slugged) <= names and set(slugged.values()) == {1}


def test_errors_survive_the_trip_from_a_worker_process() -> None:
    errors = (OutputError("public/all.rss", "cannot write: disk full"), ArticleError("a.md", "no date", "bad-date"))
    for error in errors:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error)
        assert (back.path, back.reason) == (error.path, error.reason)
    assert pickle.loads(pickle.dumps(ArticleError("a.md", "no date", "bad-date"))).code == "bad-date"


def test_nothing_changed_replays_findings_with_future_dates_against_the_clock(site: Config) -> None:
    """The one finding that depends on the clock is made again from the cached dates, in its place."""
    (site.content / "010a-later.md").write_text(  # sorts between two seed files
        "---\ntitle: 明天\ndate: 2030-01-02 08:00:00\n---\n<p>明天。</p>\n", encoding="utf-8")
    before, after = datetime(2029, 6, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)
    first = build(site, now=before)
    assert [f.code for f in first.findings if f.file == "010a-later.md"] == ["future-date", "missing-author",
                                                                       "missing-categories"]
    again = build(site, now=before)
    assert again.mode == "kept" and again.findings == first.findings  # the same lines, in the same order
    later = build(site, now=after)
    assert later.mode == "kept"
    assert [f for f in later.findings if f.code != "future-date"] == list(later.findings)
    assert list(later.findings) == [f for f in first.findings if f.code != "future-date"]


def test_the_folder_stamp_tells_apart_any_change_of_path_size_or_mtime() -> None:
    """No-change detection: one digest of every path, size and mtime; each differs when any of them does."""
    from feeds.cache import folder_stamp
    from feeds.loader import Stamp

    base = [("a.md", "/c/a.md", Stamp(10, 1_000)), ("b/c.md", "/c/b/c.md", Stamp(20, 2_000))]
    variants = [
        base,
        [base[0], ("b/c.md", "/c/b/c.md", Stamp(21, 2_000))],  # a size
        [base[0], ("b/c.md", "/c/b/c.md", Stamp(20, 2_001))],  # an mtime
        [base[0], ("b/d.md", "/c/b/d.md", Stamp(20, 2_000))],  # a rename
        [base[0]],  # a removal
        [*base, ("e.md", "/c/e.md", Stamp(0, 0))],  # an addition
        [base[0], ("b/c.md", "/c/b/c.md", None)],  # a file that could not be stat()ed
        [("a.mdb/c.md", "", Stamp(10, 1_000)), ("", "", Stamp(20, 2_000))],  # the same characters, cut elsewhere
        [("a.md", "/c/a.md", Stamp(20, 2_000)), ("b/c.md", "/c/b/c.md", Stamp(10, 1_000))],  # numbers swapped
    ]
    stamps = [folder_stamp(v) for v in variants]
    assert len(set(stamps)) == len(stamps)
    assert folder_stamp(list(base)) == stamps[0]  # the same listing, the same stamp


@pytest.mark.racy
@pytest.mark.parametrize("archives", [0, 5], ids=["quick-path", "full-path"])  # archives: no snapshot to rebuild from
@pytest.mark.parametrize("clock", ["nanoseconds", "whole-seconds"])  # ext4, tmpfs / FAT, HFS+, some network mounts
def test_a_second_write_in_the_tick_the_last_build_read_is_not_missed(
    site: Config, tmp_path: Path, archives: int, clock: str,
) -> None:
    """Two writes of the same size in one tick of the file system's clock, a build between them:
    both leave the same (size, mtime). The next build reads the file again all the same."""
    config = replace(site, archive_size=archives)
    path = site.content / "005_f1601efdcfadf5c8.txt"
    text = path.read_text(encoding="utf-8")

    def write(title: str, tick: int) -> None:  # as the file system stamps two writes in one tick: the same mtime
        path.write_text(text.replace("title:", f"title: {title}", 1), encoding="utf-8")
        os.utime(path, ns=(tick, tick))

    build(config)  # the cache, from files all older than the window
    now = time.time_ns()
    tick = now // 10**9 * 10**9 if clock == "whole-seconds" else now - 1_000_000
    write("【甲】", tick)
    build(config)
    assert "【甲】" in (site.output / "all.rss").read_text(encoding="utf-8")
    write("【乙】", tick)  # the same bytes long, the same mtime
    again = build(config)
    assert again.mode == ("quick" if not archives else "full") and again.parsed == 1
    assert "【乙】" in (site.output / "all.rss").read_text(encoding="utf-8")
    fresh = replace(config, output=tmp_path / "full")
    build(fresh, use_cache=False)
    got, want = published_files(site.output, compressed=True), published_files(fresh.output, compressed=True)
    assert sorted(got) == sorted(want) and [p for p in got if got[p] != want[p]] == []
    if clock == "nanoseconds":  # once read after the window, its stamp is trusted again
        time.sleep(2 * FINE_NS / 1e9)
        build(config)  # read again unless the last one read it after the window
        assert build(config).mode == "kept"


def test_other_code_under_the_same_version_builds_in_full(site: Config, tmp_path: Path) -> None:
    """A copy of the package, edited in place between two builds (an install from a checkout keeps
    the version number): the second build does not trust what the first one cached."""
    code = tmp_path / "code"
    shutil.copytree(ROOT / "feeds", code / "feeds", ignore=shutil.ignore_patterns("__pycache__"))
    config = tmp_path / "site.toml"
    config.write_text(f'[site]\ntitle = "测试站"\nbase_url = "https://news.example.com/"\n'
                      f"[build]\ncontent = {str(site.content)!r}\noutput = {str(site.output)!r}\n", encoding="utf-8")
    run = ("from pathlib import Path; from feeds.build import build; from feeds.config import load_config; "
           f"print(build(load_config(Path({str(config)!r}))).mode)")

    def mode() -> str:
        env = {**os.environ, "PYTHONPATH": str(code)}
        done = subprocess.run([sys.executable, "-c", run], cwd=tmp_path, env=env, capture_output=True, text=True,
                              check=True)
        return done.stdout.strip()

    assert [mode(), mode()] == ["full", "kept"]
    module = code / "feeds" / "feed.py"
    module.write_text(module.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert [mode(), mode()] == ["full", "kept"]


_BAD_REPORTS = {
    "a finding of no level": lambda r: r["findings"].append(["a.md", "bogus", "code", "message"]),
    "a finding cut short": lambda r: r["findings"].append(["a.md", "warning"]),
    "a count as text": lambda r: r.update(files="18"),
    "a future date that is none": lambda r: r["future"].append(["a.md", "tomorrow"]),
    "no findings": lambda r: r.pop("findings"),
}


@pytest.mark.parametrize("what", sorted(_BAD_REPORTS))
def test_a_report_of_the_wrong_shape_discards_the_cache(site: Config, tmp_path: Path, what: str) -> None:
    """The report a build with nothing to do replays is checked as it is read: a bad one is a corrupt cache."""
    import json

    build(site)
    path = cache_folder(site) / FILE
    data = path.read_bytes()
    first = data.index(b"\n") + 1
    rest = data.index(b"\n", first) + 1
    extra = json.loads(data[first:rest])
    _BAD_REPORTS[what](extra["report"])
    path.write_bytes(data[:first] + json.dumps(extra).encode() + b"\n" + data[rest:])
    report = build(site)  # the folder as it was: the no-change path, but for the report
    assert report.notices and "cache discarded: corrupt" in report.notices[0], report.notices
    assert report.mode == "full" and report.parsed == 18
    assert published_files(site.output, compressed=True) == full_build_of(site, tmp_path, "full")
    assert build(site).mode == "kept"  # and the cache saved again is whole
