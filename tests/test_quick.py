"""Rebuilds from the last plan (feeds.quick): taken only when no article moves, and never a byte apart."""

from __future__ import annotations

import array
import json
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds import quick
from feeds.build import BuildReport, build, cache_folder
from feeds.cache import FILE, SNAPSHOT, CacheError, Snapshot, load_cache, load_snapshot
from feeds.config import Config
from feeds.loader import FileEntry, Stamp
from feeds.models import Article, Author, Finding

from .conftest import SEEDS, make_config
from .test_build import published_files

CATEGORIES = ("金融", "股市", "债券", "基金", "宏观")
TAGS = ("央行", "利率", "新能源", "芯片")
AUTHORS = ("中证网", "新华社", "本报记者")
SHARED_DATE = "2021-07-01 09:30:00"  # two articles have it: a title edit there may bring a duplicate-title warning


def article_text(rng: random.Random, serial: int, *, date: str | None = None) -> str:
    """Front matter of every kind the plan and the report depend on, and some they do not."""
    day = f"2021-0{rng.randint(1, 9)}-{rng.randint(10, 28)}"
    lines = [f"title: '第{serial}篇：{rng.choice(TAGS)}消息'",
             f"date: {date or f'{day} {rng.randint(10, 23)}:{serial % 60:02d}:00'}",
             f"categories: [{', '.join(rng.sample(CATEGORIES, rng.randint(0, 2)))}]",
             f"tags: [{', '.join(rng.sample(TAGS, rng.randint(0, 2)))}]"]
    if rng.random() < 0.8:
        lines.append(f"author: {rng.choice(AUTHORS)}")
    if rng.random() < 0.3:
        lines.append(f"updated: 2021-10-{rng.randint(10, 28)} 08:00:00")
    if rng.random() < 0.2:
        lines.append(f"id: 'urn:news:{rng.randint(1, 4)}'")  # some ids repeat: only the newest is in the feeds
    if rng.random() < 0.1:
        lines.append("draft: true")
    if rng.random() < 0.3:
        lines.append(f"headimg: 'https://img.example.com/{serial}.jpg'")
    body = "".join(f"<p>\u3000\u3000第{serial}篇的第{n}段。</p>\n" for n in range(rng.randint(1, 3)))
    return "---\n" + "\n".join(lines) + "\n---\n" + body


def make_site(tmp_path: Path, seed: int, **overrides: object) -> Config:
    rng = random.Random(seed)
    content = tmp_path / "content"
    shutil.copytree(SEEDS, content)
    for serial in range(24):
        date = SHARED_DATE if serial in (3, 4) else None
        (content / f"a{serial:02d}.md").write_text(article_text(rng, serial, date=date), encoding="utf-8")
    settings: dict[str, object] = {"items": 4, "families": ("category", "tag", "author")}
    return make_config(content, tmp_path / "public", **{**settings, **overrides})


def same_as_a_full_build(site: Config, report: BuildReport, tmp_path: Path, name: str) -> None:
    fresh = make_config(site.content, tmp_path / name, items=site.items, families=site.families,
                        archive_size=site.archive_size)
    full = build(fresh, use_cache=False)
    assert published_files(site.output, compressed=True) == published_files(fresh.output, compressed=True), name
    assert report.counts == full.counts, name
    assert report.findings == full.findings, name


def replace_line(path: Path, key: str, line: str | None) -> None:
    """Set (or drop, ``line`` None) the front matter line of ``key``."""
    text = path.read_text(encoding="utf-8")
    start = text.index("---\n") + 4  # the seeds have a blank line first
    end = text.index("\n---\n", start)
    kept = [x for x in text[start:end].split("\n") if not x.startswith(f"{key}:")]
    path.write_text(text[:start] + "\n".join(kept + ([line] if line else [])) + text[end:], encoding="utf-8")


def edit_body(path: Path, serial: int) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text + f"<p>补充{serial}。</p>\n", encoding="utf-8")


Edit = Callable[[random.Random, Path, int], None]
# Edits that move no article: the quick path. (A title edit only where no other article has the date.)
KEEP: dict[str, Edit] = {
    "body": lambda rng, path, n: edit_body(path, n),
    "title": lambda rng, path, n: replace_line(path, "title", f"title: '改过的标题{n}'"),
    "image": lambda rng, path, n: replace_line(path, "headimg", f"headimg: 'https://img.example.com/new{n}.png'"),
    "summary": lambda rng, path, n: replace_line(path, "description", f"description: '摘要{n}'"),
    "touch": lambda rng, path, n: os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9)),
}
# Edits that may move an article or change what is reported: the full path.
MOVE: dict[str, Edit] = {
    "date": lambda rng, path, n: replace_line(path, "date", f"date: 2021-11-{rng.randint(10, 28)} 12:00:00"),
    "category": lambda rng, path, n: replace_line(path, "categories",
                                                  f"categories: [{rng.choice(CATEGORIES)}, 新栏目{n % 3}]"),
    "tag": lambda rng, path, n: replace_line(path, "tags", f"tags: [{rng.choice(TAGS)}, 新标签]"),
    "author": lambda rng, path, n: replace_line(path, "author", f"author: 作者{n}"),
    "draft": lambda rng, path, n: replace_line(path, "draft", None if "draft: true" in path.read_text(encoding="utf-8")
                                                 else "draft: true"),
    "id": lambda rng, path, n: replace_line(path, "id", rng.choice(
        [line for k in range(1, 5) if (line := f"id: 'urn:news:{k}'") not in path.read_text(encoding="utf-8")])),
    "broken": lambda rng, path, n: replace_line(path, "date", "date: 不是日期"),
    "removed": lambda rng, path, n: path.unlink(),
}
# Depends on the article: whether it is on some feed's first page (an edit of ``updated`` could date the OPML
# file), or whether a new one is a draft, gives an id, has a date or a name no article had, or not.
EITHER: dict[str, Edit] = {
    "updated": lambda rng, path, n: replace_line(path, "updated", f"updated: 2021-12-{rng.randint(10, 28)} 08:00:00"),
    "added": lambda rng, path, n: (path.parent / f"new{n}.md").write_text(article_text(rng, 100 + n), encoding="utf-8"),
    "added at the top": lambda rng, path, n: (path.parent / f"top{n}.md").write_text(
        article_text(rng, 200 + n, date=f"2022-0{n % 9 + 1}-0{n % 9 + 1} 0{n % 9}:1{n % 10}:00"), encoding="utf-8"),
}


@pytest.mark.parametrize(("seed", "jobs"), [(1, 1), (2, 2), (3, 1)])
def test_rebuilds_equal_full_builds_through_random_edits(tmp_path: Path, seed: int, jobs: int) -> None:
    site = make_site(tmp_path, seed)
    same_as_a_full_build(site, build(site, jobs=jobs), tmp_path, "first")
    rng = random.Random(seed)
    kinds = {**{k: "quick" for k in KEEP}, **{k: "full" for k in MOVE}, **{k: "" for k in EITHER}}
    edits = {**KEEP, **MOVE, **EITHER}
    modes = []
    for step in range(28):
        kind = rng.choice(sorted(kinds))
        files = sorted(p for p in site.content.iterdir() if p.is_file())
        path = rng.choice(files)
        valid = "不是日期" not in path.read_text(encoding="utf-8")
        edits[kind](rng, path, step)
        report = build(site, jobs=jobs)
        same_as_a_full_build(site, report, tmp_path, f"step{step}-{kind}")
        modes.append(report.mode)
        if kinds[kind] == "quick" and valid and not (kind == "title" and SHARED_DATE in path.read_text("utf-8")):
            assert report.mode == "quick", (step, kind, path.name)
        if kinds[kind] == "full":
            assert report.mode == "full", (step, kind, path.name)
    assert "quick" in modes and "full" in modes


def test_an_edit_of_a_shown_article_rewrites_its_feeds_only(tmp_path: Path) -> None:
    site = make_site(tmp_path, 5)
    build(site)
    windows = snapshot_of(site).windows
    source = windows[0].items[0]  # the newest article
    edit_body(site.content / source, 1)
    report = build(site)
    assert report.mode == "quick" and report.parsed == 1
    written = {p for p in report.write.written if not p.endswith((".gz", ".br"))}
    assert written == {f"{w.path}.{fmt}" for w in windows if source in w.items for fmt in site.formats}
    assert len(written) >= 6  # all articles, and at least one category, tag or author
    assert report.summary().startswith("feeds: 42 files read")
    same_as_a_full_build(site, report, tmp_path, "full")


@pytest.mark.parametrize("damage", ["appended", "same size, older mtime", "removed"])
def test_a_feed_file_not_as_the_last_build_left_it_is_rendered_whole(tmp_path: Path, damage: str) -> None:
    """The short path makes a document from its last bytes (feeds.splice) only when its file is as written."""
    site = make_site(tmp_path, 5)
    build(site)
    source = snapshot_of(site).windows[0].items[0]  # shown in all.rss
    target = site.output / "all.rss"
    data = target.read_bytes()
    if damage == "appended":
        target.write_bytes(data + b"<!-- -->")
    elif damage == "removed":
        target.unlink()
    else:
        at = data.rindex(b"<guid")  # in the last item, which the edit does not touch: it would be reused
        target.write_bytes(data[:at] + b"<GUID" + data[at + 5:])
        os.utime(target, ns=(0, 0))
    edit_body(site.content / source, 1)
    report = build(site)
    assert report.mode == "quick"
    assert "all.rss" in report.write.written
    same_as_a_full_build(site, report, tmp_path, "full")


PAGES = ("index.html", "feeds.opml")


def test_an_edit_that_keeps_every_date_keeps_the_pages_as_they_are(tmp_path: Path) -> None:
    site = make_site(tmp_path, 5)
    build(site)
    source = snapshot_of(site).windows[0].items[0]
    (site.output / "feeds.opml.gz").write_bytes(b"")  # a copy not as written: the pages are made again
    edit_body(site.content / source, 1)
    report = build(site)
    assert report.mode == "quick" and "feeds.opml.gz" in report.write.written
    before = {p: (site.output / p).stat().st_mtime_ns for p in PAGES}
    edit_body(site.content / source, 2)
    report = build(site)
    assert report.mode == "quick"
    assert set(PAGES) <= set(report.write.unchanged)
    assert {p: (site.output / p).stat().st_mtime_ns for p in PAGES} == before
    same_as_a_full_build(site, report, tmp_path, "full")


def test_an_edit_of_a_shown_date_makes_the_pages_again(tmp_path: Path) -> None:
    """index.html shows each feed's newest time, feeds.opml the newest of all."""
    site = make_site(tmp_path, 5)
    build(site)
    source = snapshot_of(site).windows[0].items[0]  # the newest article: every page shows its time
    replace_line(site.content / source, "updated", "updated: 2029-01-01 08:00:00")
    report = build(site)
    assert report.mode == "quick"
    assert set(PAGES) <= set(report.write.written)
    same_as_a_full_build(site, report, tmp_path, "full")


def test_an_edit_of_an_article_on_no_first_page_writes_nothing(tmp_path: Path) -> None:
    site = make_site(tmp_path, 6)
    build(site)
    snapshot = snapshot_of(site)
    hidden = next(p for p in sorted(site.content.iterdir()) if p.name not in snapshot.articles
                  and "draft: true" not in p.read_text(encoding="utf-8") and "不是日期" not in p.read_text("utf-8"))
    edit_body(hidden, 1)
    report = build(site)
    assert report.mode == "quick" and report.write.written == ()
    same_as_a_full_build(site, report, tmp_path, "full")


def test_a_quick_rebuild_saves_the_report_as_it_was(tmp_path: Path) -> None:
    """The report is replayed, not made again: its JSON is written back as the cache file held it."""
    site = make_site(tmp_path, 15)
    build(site)
    head = load_cache(cache_folder(site), site, entries=False)
    assert head is not None and head.report_text is not None
    assert json.loads(head.report_text) == head.report
    edit_body(site.content / "a01.md", 1)
    assert build(site).mode == "quick"
    again = load_cache(cache_folder(site), site, entries=False)
    assert again is not None and again.report_text == head.report_text and again.token != head.token


def snapshot_of(site: Config) -> Snapshot:
    head = load_cache(cache_folder(site), site, entries=False)
    assert head is not None
    snapshot = load_snapshot(cache_folder(site), head)
    assert snapshot is not None
    return snapshot


def test_a_title_edit_where_another_article_has_the_date_takes_the_full_path(tmp_path: Path) -> None:
    site = make_site(tmp_path, 7)
    build(site)
    other = (site.content / "a03.md").read_text(encoding="utf-8").split("title: ")[1].split("\n")[0]
    replace_line(site.content / "a04.md", "title", f"title: {other}")  # the same title and date as a03.md
    report = build(site)
    assert report.mode == "full"
    assert any(f.code == "duplicate-title" and f.file == "a04.md" for f in report.findings)
    same_as_a_full_build(site, report, tmp_path, "full")


@pytest.mark.parametrize("garbage", [b"", b"not json\n", b'{"format": "feeds-snapshot", "version": 999}\n'])
def test_a_corrupt_snapshot_is_discarded_with_a_notice(tmp_path: Path, garbage: bytes) -> None:
    site = make_site(tmp_path, 8)
    build(site)
    (cache_folder(site) / SNAPSHOT).write_bytes(garbage)
    edit_body(site.content / "a01.md", 1)
    report = build(site)
    assert report.mode == "full" and report.parsed == 42
    assert len(report.notices) == 1 and "cache discarded" in report.notices[0]
    same_as_a_full_build(site, report, tmp_path, "full")
    edit_body(site.content / "a01.md", 2)
    assert build(site).mode == "quick"  # the full build saved a good one


def test_a_snapshot_whose_payload_does_not_match_its_digest_is_not_trusted(tmp_path: Path) -> None:
    site = make_site(tmp_path, 9)
    build(site)
    path = cache_folder(site) / SNAPSHOT
    data = bytearray(path.read_bytes())
    data[-30] ^= 0x01
    path.write_bytes(bytes(data))
    edit_body(site.content / "a01.md", 1)
    report = build(site)
    assert report.mode == "full" and "digest" in report.notices[0].split("cache discarded:")[1]


def test_a_snapshot_of_another_cache_file_is_not_used(tmp_path: Path) -> None:
    """A build stopped between putting the snapshot and the cache file in place leaves a snapshot of no use."""
    site = make_site(tmp_path, 10)
    build(site)
    stale = (cache_folder(site) / SNAPSHOT).read_bytes()
    edit_body(site.content / "a01.md", 1)
    assert build(site).mode == "quick"
    (cache_folder(site) / SNAPSHOT).write_bytes(stale)  # its token names the cache file before
    edit_body(site.content / "a01.md", 2)
    report = build(site)
    assert report.mode == "full" and report.notices == ()
    same_as_a_full_build(site, report, tmp_path, "full")


def test_no_snapshot_is_a_full_build_without_notice(tmp_path: Path) -> None:
    site = make_site(tmp_path, 11)
    build(site)
    (cache_folder(site) / SNAPSHOT).unlink()
    edit_body(site.content / "a01.md", 1)
    report = build(site)
    assert report.mode == "full" and report.notices == () and report.parsed == 1


def test_a_cache_file_changed_since_its_snapshot_is_not_trusted(tmp_path: Path) -> None:
    site = make_site(tmp_path, 12)
    build(site)
    path = cache_folder(site) / FILE
    path.write_bytes(path.read_bytes() + b"\0" * 20)  # the blocks the snapshot lists, and more
    edit_body(site.content / "a01.md", 1)
    report = build(site)
    assert report.mode == "full" and report.parsed == 42 and "cache discarded" in report.notices[0]
    same_as_a_full_build(site, report, tmp_path, "full")


def test_a_block_no_change_reads_is_copied_unread_and_checked_by_the_next_build_that_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The short path checks the digests of the blocks it reads; the full path, of every block."""
    from feeds import cache as cache_module

    monkeypatch.setattr(cache_module, "_BLOCK", 5)  # 42 files: nine blocks
    site = make_site(tmp_path, 12)
    build(site)
    head = load_cache(cache_folder(site), site, entries=False)
    assert head is not None
    snapshot = snapshot_of(site)
    assert len(snapshot.blocks) > 2
    source = snapshot.windows[0].items[0]
    other = next(place for place in range(len(snapshot.blocks)) if place != cache_module.home(snapshot.blocks, source))
    at = head.blocks_at + sum(size for size, _, _ in snapshot.blocks[: other + 1]) - 1  # its last payload byte
    path = cache_folder(site) / FILE
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    edit_body(site.content / source, 1)
    report = build(site)
    assert report.mode == "quick" and report.notices == ()
    same_as_a_full_build(site, report, tmp_path, "quick")
    (site.content / source).unlink()  # the full path: every block read
    report = build(site)
    assert report.mode == "full" and "digest" in report.notices[0].split("cache discarded:")[1]
    same_as_a_full_build(site, report, tmp_path, "full")
    assert build(site).mode == "kept"


@pytest.mark.parametrize("kernel", [True, False])
def test_copy_range_appends_the_bytes_or_says_the_file_is_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: bool
) -> None:
    from feeds import cache as cache_module

    monkeypatch.setattr(cache_module, "_KERNEL_COPY", kernel and cache_module._KERNEL_COPY)
    source = tmp_path / "source"
    data = os.urandom(3 << 20)
    source.write_bytes(data)
    with source.open("rb") as src, (tmp_path / "out").open("wb") as out:
        out.write(b"head")
        cache_module.copy_range(src.fileno(), out, 5, len(data) - 10)
        out.write(b"tail")
        with pytest.raises(CacheError, match="shorter"):
            cache_module.copy_range(src.fileno(), out, len(data) - 3, 4)
    assert (tmp_path / "out").read_bytes() == b"head" + data[5:-5] + b"tail" + data[-3:]  # all it had, then the error


@pytest.mark.parametrize(("what", "settings", "options"), [
    ("archives", {"archive_size": 5}, {}),  # their pages hold every article: no snapshot is kept
    ("--strict", {}, {"strict": True}),
])
def test_archives_and_strict_builds_take_the_full_path(
    tmp_path: Path, what: str, settings: dict[str, object], options: dict[str, bool]
) -> None:
    site = make_site(tmp_path, 13, **settings)
    build(site)
    assert (cache_folder(site) / SNAPSHOT).exists() is not bool(settings), what
    edit_body(site.content / "a01.md", 1)
    report = build(site, **options)  # type: ignore[arg-type]
    assert report.mode == "full" and report.parsed == 1, what
    same_as_a_full_build(site, report, tmp_path, "full")


def stamped(source: str, size: int, article: Article | None) -> FileEntry:
    return FileEntry(source, Stamp(size, 1), article, article.warnings if article else ())


def test_changed_files_finds_the_stamps_that_differ_and_refuses_other_changes() -> None:
    sources = tuple(f"{n:04d}.md" for n in range(1500))  # more than one run of numbers
    numbers = array.array("q", [n for k in range(1500) for n in (k, 7)])
    snapshot = Snapshot(sources, numbers, (), {}, None, frozenset())
    scanned = [(s, s, Stamp(k, 7)) for k, s in enumerate(sources)]
    assert quick.changed_files(snapshot, scanned, numbers) == quick.Changes([], [])
    moved = array.array("q", numbers)
    moved[2 * 3 + 1], moved[2 * 700] = 8, 9  # an mtime, a size
    assert quick.changed_files(snapshot, scanned, moved) == quick.Changes([3, 700], [])
    lost = array.array("q", numbers)
    lost[2 * 5], lost[2 * 5 + 1] = -1, -1  # no stamp now
    assert quick.changed_files(snapshot, scanned, lost) is None
    many = array.array("q", [n + 1 for n in numbers])
    assert quick.changed_files(snapshot, scanned, many) is None  # more than MOST
    renamed = [*scanned[:-1], ("zzzz.md", "zzzz.md", Stamp(1499, 7))]
    assert quick.changed_files(snapshot, renamed, numbers) is None
    assert quick.changed_files(snapshot, scanned[:-1], numbers[:-2]) is None  # a file removed
    # Two files added, one among the others: matched by path, whatever their places.
    grown = [*scanned[:10], ("0009a.md", "0009a.md", Stamp(1, 1)), *scanned[10:], ("zzzz.md", "zzzz.md", Stamp(2, 2))]
    more = array.array("q", [*numbers[:20], 1, 1, *numbers[20:], 2, 2])
    more[2 * 12] = 99  # the file now at place 12 (0011.md) changed too
    assert quick.changed_files(snapshot, grown, more) == quick.Changes([12], [10, 1501])
    unstamped = array.array("q", more)
    unstamped[2 * 10], unstamped[2 * 10 + 1] = -1, -1
    assert quick.changed_files(snapshot, grown, unstamped) is None


WHEN = datetime(2021, 7, 10, 13, 41, tzinfo=UTC)
BASE = Article("a.md", "标题", WHEN, None, None, None, categories=("金融",), author=Author("中证网"))


@pytest.mark.parametrize(("change", "shown", "keeps"), [
    ({"title": "新标题"}, False, True),
    ({"summary": "摘要", "image": "https://img.example.com/1.jpg", "permalink": "https://x.example.com/a"},
     False, True),
    ({"updated": datetime(2021, 8, 1, tzinfo=UTC)}, True, True),
    ({"updated": datetime(2021, 8, 1, tzinfo=UTC)}, False, False),  # could be the OPML file's date
    ({"published": datetime(2021, 7, 11, tzinfo=UTC)}, True, False),
    ({"categories": ("股市",)}, True, False),
    ({"tags": ("央行",)}, True, False),
    ({"author": Author("新华社")}, True, False),
    ({"author": None}, True, False),
    ({"given_id": "urn:x"}, True, False),
    ({"draft": True}, True, False),
])
def test_keeps_place(change: dict[str, object], shown: bool, keeps: bool) -> None:
    old, new = stamped("a.md", 1, BASE), stamped("a.md", 2, replace(BASE, **change))  # type: ignore[arg-type]
    assert quick.keeps_place(old, new, shown=shown, shared=frozenset()) is keeps


def test_keeps_place_refuses_new_findings_errors_and_titles_on_a_shared_date() -> None:
    old = stamped("a.md", 1, BASE)
    retitled = stamped("a.md", 2, replace(BASE, title="新标题"))
    assert not quick.keeps_place(old, retitled, shown=True, shared=frozenset({WHEN}))
    assert quick.keeps_place(old, retitled, shown=True, shared=frozenset({datetime(2020, 1, 1, tzinfo=UTC)}))
    broken = FileEntry("a.md", Stamp(2, 2), None, ())
    assert not quick.keeps_place(old, broken, shown=True, shared=frozenset())
    assert not quick.keeps_place(broken, old, shown=True, shared=frozenset())
    warned = replace(stamped("a.md", 2, BASE), findings=(Finding("a.md", "warning", "odd-hour", "date: …"),))
    assert not quick.keeps_place(old, warned, shown=True, shared=frozenset())


def rewrite_snapshot(site: Config, change: Callable[[list[object]], object]) -> None:
    """Pickle the snapshot's payload again after ``change`` (given it as a list), with a true digest."""
    import pickle

    from feeds import cache as cache_module

    path = cache_folder(site) / SNAPSHOT
    data = path.read_bytes()
    header_end = data.index(b"\n") + 1
    length, _ = cache_module._FRAME.unpack_from(data, header_end)
    start = header_end + cache_module._FRAME.size
    payload = list(pickle.loads(data[start : start + length]))
    changed = change(payload)
    new = pickle.dumps(tuple(payload) if changed is None else changed, protocol=5)
    path.write_bytes(data[:header_end] + cache_module._FRAME.pack(len(new), cache_module._digest(new)) + new)


class _Evil:
    def __reduce__(self) -> tuple[object, ...]:
        return os.system, ("touch pwned",)


def _set(at: int, value: object) -> Callable[[list[object]], None]:
    def change(payload: list[object]) -> None:
        payload[at] = value
    return change


def _first_window(change: Callable[[tuple[object, ...]], tuple[object, ...]]) -> Callable[[list[object]], None]:
    def on(payload: list[object]) -> None:
        windows = list(payload[2])  # type: ignore[call-overload]
        windows[0] = change(windows[0])
        payload[2] = tuple(windows)
    return on


def _path_twice(payload: list[object]) -> None:
    joined, numbers = str(payload[0]), bytes(payload[1])  # type: ignore[call-overload]
    payload[0], payload[1] = joined + "\0" + joined.split("\0")[0], numbers + numbers[:16]


_FORGED: dict[str, Callable[[list[object]], object]] = {
    "not a tuple": lambda payload: {"a": 1},
    "too short": lambda payload: tuple(payload[:3]),
    "paths not text": _set(0, 7),
    "stamps of another length": _set(1, b"\0" * 8),
    "a path twice": lambda payload: _path_twice(payload),
    "an item without its record": _first_window(lambda w: (*w[:5], ("nowhere.md",))),
    "a window length that is not a number": _first_window(lambda w: (*w[:4], "50", w[5])),
    "a record that is not an article": _set(3, ("not an article",)),
    "a naive date": _set(4, datetime(2021, 7, 10, 21, 41)),  # noqa: DTZ001 - naive on purpose
    "shared dates not UTC": _set(5, ("2021-07-10",)),
    "blocks not numbers": _set(6, (("x", "a.md", "b.md"),)),
    "code to run": lambda payload: _Evil(),
}


def rebuilt_after_forging(tmp_path: Path, change: Callable[[list[object]], object], *, newest: bool) -> BuildReport:
    """The rebuild after an edit (of a01.md, or of the newest article: the feed of all is rendered)
    with the snapshot's payload changed; it took the full path, ran no code, and wrote what a full build writes."""
    site = make_site(tmp_path, 16)
    build(site)
    rewrite_snapshot(site, change)
    edited = snapshot_of(site).windows[0].items[0] if newest else "a01.md"  # paths only: no record read
    edit_body(site.content / edited, 1)
    report = build(site)
    assert report.mode == "full" and report.parsed == 42
    assert len(report.notices) == 1
    assert not (tmp_path / "pwned").exists()
    same_as_a_full_build(site, report, tmp_path, "full")
    return report


def _records(change: Callable[[str, bytes], bytes]) -> Callable[[list[object]], None]:
    """Every record's bytes changed (``change(path, bytes)``), with the pairs kept."""
    def on(payload: list[object]) -> None:
        pairs = list(payload[3])  # type: ignore[call-overload]
        payload[3] = tuple((source, change(source, data)) for source, data in pairs)
    return on


def _pickled(value: object) -> bytes:
    import pickle

    return pickle.dumps(value, protocol=5)


def _swapped(payload: list[object]) -> None:
    pairs = list(payload[3])  # type: ignore[call-overload]
    payload[3] = tuple(zip([s for s, _ in pairs], [b for _, b in pairs[1:] + pairs[:1]], strict=True))


_FORGED_RECORDS: dict[str, Callable[[list[object]], object]] = {
    "records that are not articles": _records(lambda source, data: _pickled(("not an article", source))),
    "records that run code": _records(lambda source, data: _pickled(_Evil())),
    "records of other paths": _swapped,
    "records cut short": _records(lambda source, data: data[:-3]),
}


@pytest.mark.parametrize("what", sorted(_FORGED) + sorted(_FORGED_RECORDS))
def test_a_snapshot_of_the_wrong_shape_is_not_trusted(
    tmp_path: Path, what: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Digests catch torn files; a payload with a true digest is still checked, field by field, and each
    record (feeds.cache.Records) when a feed that shows it is rendered, before anything is written."""
    monkeypatch.chdir(tmp_path)
    record = what in _FORGED_RECORDS
    report = rebuilt_after_forging(tmp_path, {**_FORGED, **_FORGED_RECORDS}[what], newest=record)
    assert (f"corrupt {SNAPSHOT} (the record of" if record else "cache discarded") in report.notices[0], what


def test_a_quick_rebuild_reads_only_the_records_of_the_feeds_it_renders(tmp_path: Path) -> None:
    site = make_site(tmp_path, 16)
    build(site)
    snapshot = snapshot_of(site)
    source = snapshot.windows[0].items[0]
    unread = {s for w in snapshot.windows if source not in w.items for s in w.items} - {
        s for w in snapshot.windows if source in w.items for s in w.items}
    assert unread  # some article is in no feed the edit touches
    rewrite_snapshot(site, _records(lambda s, data: _pickled("not an article") if s in unread else data))
    edit_body(site.content / source, 1)
    report = build(site)
    assert report.mode == "quick" and report.notices == ()
    same_as_a_full_build(site, report, tmp_path, "full")


NEW = """---
title: '新到的一篇'
date: {date}
categories: [{categories}]
author: 中证网
{extra}---
<p>\u3000\u3000新到的正文。</p>
"""


def add(site: Config, name: str, *, date: str = "2022-03-01 09:00:00", categories: str = "金融",
        extra: str = "") -> Path:
    path = site.content / name
    path.write_text(NEW.format(date=date, categories=categories, extra=extra), encoding="utf-8")
    return path


def test_a_new_article_goes_in_by_the_short_path(tmp_path: Path) -> None:
    site = make_site(tmp_path, 17)
    build(site)
    before = snapshot_of(site)
    add(site, "zz-new.md")  # newer than every other: heads all articles and 金融 (a feed that exists)
    report = build(site)
    assert report.mode == "quick" and report.parsed == 1
    assert report.summary().startswith("feeds: 43 files read, ")
    written = {p for p in report.write.written if not p.endswith((".gz", ".br"))}
    assert {"all.rss", "category/finance.rss", "index.html", "feeds.opml"} <= written
    same_as_a_full_build(site, report, tmp_path, "full")
    after = snapshot_of(site)
    assert after.windows[0].items[0] == "zz-new.md" and after.windows[0].length == before.windows[0].length + 1
    assert "zz-new.md" in after.sources and len(after.sources) == len(before.sources) + 1
    edit_body(site.content / "zz-new.md", 1)  # and the next build finds it in the cache
    again = build(site)
    assert again.mode == "quick" and again.parsed == 1
    same_as_a_full_build(site, again, tmp_path, "again")


def test_a_new_article_below_every_first_page_changes_no_feed(tmp_path: Path) -> None:
    site = make_site(tmp_path, 18)
    build(site)
    add(site, "0-old.md", date="2001-01-01 09:00:00")  # in feeds whose first pages are full
    report = build(site)
    assert report.mode == "quick"
    written = {p for p in report.write.written if not p.endswith((".gz", ".br"))}
    assert written <= {"index.html"}  # its counts of articles, if anything
    same_as_a_full_build(site, report, tmp_path, "full")


@pytest.mark.parametrize(("what", "extra", "categories", "date"), [
    ("a draft", "draft: true\n", "金融", "2022-03-01 09:00:00"),
    ("an id of its own", "id: 'urn:new:1'\n", "金融", "2022-03-01 09:00:00"),
    ("a new category", "", "金融, 全新栏目", "2022-03-01 09:00:00"),
    ("the date of another article", "", "金融", SHARED_DATE),
    ("no date", "", "金融", "不是日期"),
])
def test_a_new_file_that_could_move_others_takes_the_full_path(
    tmp_path: Path, what: str, extra: str, categories: str, date: str
) -> None:
    site = make_site(tmp_path, 19)
    build(site)
    add(site, "zz-new.md", date=date, categories=categories, extra=extra)
    report = build(site)
    assert report.mode == "full", what
    same_as_a_full_build(site, report, tmp_path, "full")


def test_new_articles_take_the_full_path_where_slugs_clash(tmp_path: Path) -> None:
    site = make_site(tmp_path, 20)
    for name, category in (("c1.md", "Ａ股"), ("c2.md", "A股")):  # two names, one slug: a slug-clash warning
        add(site, name, date=f"2020-0{len(name)}-0{name[1]} 09:00:00", categories=category)
    first = build(site)
    assert any(f.code == "slug-clash" for f in first.findings)
    add(site, "zz-new.md", categories="A股")
    report = build(site)
    assert report.mode == "full"
    same_as_a_full_build(site, report, tmp_path, "full")


def test_two_new_articles_of_one_date_take_the_full_path(tmp_path: Path) -> None:
    """Each date is new, but the same for both: with the same title, each is a duplicate of the other."""
    site = make_site(tmp_path, 21)
    build(site)
    add(site, "zz-new1.md")
    add(site, "zz-new2.md")
    report = build(site)
    assert report.mode == "full"
    assert {f.file for f in report.findings if f.code == "duplicate-title"} == {"zz-new1.md", "zz-new2.md"}
    same_as_a_full_build(site, report, tmp_path, "full")
