"""Incremental builds: the cache saves work and never changes a byte of output."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from feeds import cache as cache_module
from feeds import fanout, loader
from feeds.build import StrictError, build, cache_folder
from feeds.cache import FILE, load_cache, save_cache
from feeds.compress import COMPRESSORS
from feeds.config import Config
from feeds.errors import ArticleError, OutputError
from feeds.loader import load_articles
from feeds.plan import FORMATS, feed_names, plan_feeds
from feeds.site import feed_views
from feeds.slugs import slugify

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


def test_cached_builds_equal_full_builds_through_edits(site: Config, tmp_path: Path) -> None:
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
        report = build(site)
        assert report.load is not None and report.load.parsed <= 1, i
        assert published_files(site.output, compressed=True) == full_build_of(site, tmp_path, f"full{i}"), i


def test_nothing_changed_reads_nothing_and_imports_no_renderer(site: Config) -> None:
    build(site)
    code = (
        "import sys; from feeds.build import build; from tests.conftest import make_config; "
        "from pathlib import Path; "
        f"r = build(make_config(Path({str(site.content)!r}), Path({str(site.output)!r}))); "
        "print(r.load is None, len(r.write.written), 'feedgen' in sys.modules, "
        "'pypinyin' in sys.modules, 'lxml' in sys.modules, 'nh3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "0", "False", "False", "False", "False"]


def test_one_edit_parses_one_file_and_rewrites_only_its_feeds(site: Config) -> None:
    first = build(site)
    edit(site.content / "003_ef7f17c36a214753.txt", "title:", "title: 【更新】")  # 股市 only
    report = build(site)
    assert report.load is not None and report.load.parsed == 1
    written = {p for p in report.write.written if not p.endswith((".gz", ".br"))}
    assert written == {f"{path}.{fmt}" for path in ("all", "category/gu-shi") for fmt in FORMATS}
    assert "feeds: 18 files read, 17 published" in report.summary()
    assert report.findings == first.findings


def test_nothing_changed_reports_the_same_lines(site: Config) -> None:
    (site.content / "bad.md").write_text("---\ntitle: t\ndate: nope\n---\n", encoding="utf-8")
    first = build(site)
    again = build(site)
    assert again.load is None
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
    assert report.load is not None and report.load.parsed == 18
    assert published_files(site.output, compressed=True) == full_build_of(site, tmp_path, "full")


def test_corrupt_entry_lines_are_not_trusted(site: Config) -> None:
    build(site)
    path = cache_folder(site) / FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace('"2021-', '"not a date ', 1)
    path.write_text("".join(lines), encoding="utf-8")
    os.utime(site.content / "000_651e3118f59f4f36.txt")  # force the slow path
    report = build(site)
    assert report.notices and "cache discarded" in report.notices[0]


def test_another_config_ignores_the_cache(site: Config) -> None:
    build(site)
    other = make_config(site.content, site.output, title="另一个站")
    report = build(other)
    assert report.notices == ()
    assert report.load is not None and report.load.parsed == 18
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
    entry_lines = [(cache_folder(c) / FILE).read_text(encoding="utf-8").splitlines()[2:]
                   for c in (many_config, make_config(site.content, tmp_path / "one"))]
    assert entry_lines[0] == entry_lines[1] and len(entry_lines[0]) == 18


def test_lines_kept_from_the_last_cache_are_what_encoding_gives(
    site: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild writes unchanged entries back as read: byte for byte what encoding them gives."""
    build(site)
    edit(site.content / "005_f1601efdcfadf5c8.txt", "title:", "title: 【更新】")
    encoded: list[str] = []
    real = cache_module._entry_item
    monkeypatch.setattr(cache_module, "_entry_item", lambda e: encoded.append(e.source) or real(e))
    build(site)
    assert encoded == ["005_f1601efdcfadf5c8.txt"]  # the other 17 lines were copied
    monkeypatch.undo()
    cache = load_cache(cache_folder(site), site)
    assert cache is not None and cache.origin is not None and len(cache.entries) >= 18
    save_cache(tmp_path / "fresh", site, cache)  # every entry encoded again
    entry_lines = [(folder / FILE).read_bytes().split(b"\n")[2:] for folder in (tmp_path / "fresh", cache_folder(site))]
    assert entry_lines[0] == entry_lines[1]  # (a cache loaded with its entries leaves the report out)


def test_copied_runs_of_lines_survive_edits_removals_and_additions(
    site: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unchanged lines are copied in runs; runs split by changes (and by size) give the bytes encoding gives."""
    monkeypatch.setattr(cache_module._OldLines, "_MOST", 3)  # several runs even between two changes
    build(site)
    names = sorted(p.name for p in site.content.iterdir())
    edit(site.content / names[4], "title:", "title: 【更新】")
    (site.content / names[9]).unlink()
    (site.content / names[0]).unlink()
    for name, title in (("0000-first.md", "新"), ("zzz-last.md", "末")):
        text = f"---\ntitle: {title}\ndate: 2021-09-01\n---\n<p>{title}。</p>\n"
        (site.content / name).write_text(text, encoding="utf-8")
    encoded: list[str] = []
    real = cache_module._entry_item
    monkeypatch.setattr(cache_module, "_entry_item", lambda e: encoded.append(e.source) or real(e))
    build(site)
    assert sorted(encoded) == sorted(["0000-first.md", names[4], "zzz-last.md"])  # 14 lines copied
    monkeypatch.undo()
    fresh = make_config(site.content, tmp_path / "fresh")
    build(fresh, use_cache=False)
    lines = [(cache_folder(c) / FILE).read_bytes().split(b"\n")[2:] for c in (site, fresh)]
    assert lines[0] == lines[1] and len(lines[0]) == 18 + 1  # 18 files and the final newline


def test_relative_and_absolute_folders_share_the_cache(site: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--output public` from the site's folder and the same folder spelled absolute: nothing to redo."""
    monkeypatch.chdir(site.output.parent)
    relative = make_config(Path(site.content.name), Path(site.output.name))
    assert build(relative).load is not None
    again = build(make_config(site.content.resolve(), site.output.resolve()))
    assert again.load is None and again.write.written == ()  # the no-change path: nothing read


def test_a_path_twice_discards_the_cache(site: Config) -> None:
    build(site)
    path = cache_folder(site) / FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([*lines[:3], lines[2], *lines[3:]]), encoding="utf-8")
    os.utime(site.content / "000_651e3118f59f4f36.txt")  # past the no-change path
    report = build(site)
    assert report.notices and "twice" in report.notices[0]
    assert report.load is not None and report.load.parsed == 18


@pytest.mark.parametrize(("index", "value"), [
    (0, 7),  # the path
    (1, "5550"),  # the size
    (3, [1, "2021-07-10T13:41:00+00:00", None, None, None, [], [], None, None, None, None, False]),  # title
    (3, ["t", "2021-07-10T21:41:00+08:00", None, None, None, [], [], None, None, None, None, False]),  # not UTC
    (3, ["t", "2021-07-10T13:41:00+00:00", None, None, None, "股市", [], None, None, None, None, False]),
    (3, ["t", "2021-07-10T13:41:00+00:00", None, None, None, [], [], [1, None], None, None, None, False]),
    (3, ["t", "2021-07-10T13:41:00+00:00", 5, None, None, [], [], None, None, None, None, False]),  # link
    (3, ["t", "2021-07-10T13:41:00+00:00", None, None, None, [], [], None, None, None, None, "yes"]),
    (4, [["a.md", "loud", "x", "y"]]),  # a finding's level
])
def test_entries_of_the_wrong_shape_discard_the_cache(site: Config, index: int, value: object) -> None:
    build(site)
    path = cache_folder(site) / FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    entry = json.loads(lines[2])
    entry[index] = value
    lines[2] = json.dumps(entry, ensure_ascii=False) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    os.utime(site.content / "000_651e3118f59f4f36.txt")  # past the no-change path
    report = build(site)
    assert report.notices and "cache discarded" in report.notices[0]
    assert report.load is not None and report.load.parsed == 18


def test_parsing_workers_slug_the_names_the_cache_lacks(site: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers slug new feed names while parsing; names the cache knows are not slugged again."""
    monkeypatch.setattr(loader, "_POOL_FROM", 1)
    monkeypatch.setattr(loader, "_CHUNK", 4)
    called: list[int] = []

    def let_the_worker_take_every_chunk() -> None:  # runs in the parent once the worker is started
        claims = loader._WORKER["claims"]
        deadline = time.monotonic() + 60
        while not all(claims[:]) and time.monotonic() < deadline:
            time.sleep(0.01)
        called.append(len(claims))

    known = {"银行": "not-what-slugify-gives"}
    load = load_articles(site, jobs=2, known_slugs=known, meanwhile=let_the_worker_take_every_chunk)
    names = feed_names(load.published, site)
    assert called == [5] and load.parsed == 18
    assert "银行" in names and set(load.slugs) == names - set(known)
    assert load.slugs == {name: slugify(name) for name in names - set(known)}
    assert load.slugs["资讯"] == "zi-xun"
    assert load_articles(site, jobs=2).slugs == {}  # no known slugs given: none made


def test_errors_survive_the_trip_from_a_worker_process() -> None:
    errors = (OutputError("public/all.rss", "cannot write: disk full"), ArticleError("a.md", "no date", "bad-date"))
    for error in errors:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error)
        assert (back.path, back.reason) == (error.path, error.reason)
    assert pickle.loads(pickle.dumps(ArticleError("a.md", "no date", "bad-date"))).code == "bad-date"
