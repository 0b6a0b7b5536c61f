"""feeds.prescan: the content folder scanned by a forked child finds what the build's own scan finds."""

from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from feeds import prescan, stamps
from feeds.build import build, cache_folder
from feeds.cache import load_cache
from feeds.config import Config
from feeds.errors import ConfigError
from feeds.loader import scan

from .conftest import SEEDS, make_config
from .test_build import published_files


@pytest.fixture
def site(tmp_path: Path) -> Config:
    content = tmp_path / "content"
    shutil.copytree(SEEDS, content)
    return make_config(content, content / "public")  # inside the content folder: the scan skips it


def hostile(config: Config) -> None:
    """Beside the seeds: subfolders, a hidden file and folder, a broken symlink, a symlinked folder."""
    for name in ("a/b/c.md", "a/d.md", ".hidden.md", ".git/x.md", "z.md"):
        path = config.content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\ntitle: {name}\ndate: 2021-07-10 21:41:00\n---\n<p>{name}</p>\n", encoding="utf-8")
    (config.content / "gone.md").symlink_to(config.content / "nowhere.md")
    (config.content / "linked").symlink_to(config.content / "a")
    config.output.mkdir()
    (config.output / "all.rss").write_text("<rss/>", encoding="utf-8")


@pytest.mark.parametrize("fork_from", [1, 10**9])  # the child forks a grandchild for half the stats; it does not
def test_a_prescan_finds_what_a_scan_finds(site: Config, monkeypatch: pytest.MonkeyPatch, fork_from: int) -> None:
    hostile(site)
    monkeypatch.setattr(stamps, "FORK_FROM", fork_from)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    pending = prescan.start(site.content, site.output)
    assert pending is not None
    found = pending.result(site.content, site.output)
    assert found is not None
    scanned = scan(site, found=found)
    assert scanned == scan(site) and len(scanned) == len(list(SEEDS.iterdir())) + 5
    assert "public/all.rss" not in scanned.sources and ".hidden.md" not in scanned.sources
    assert pending.result(site.content, site.output) is None  # asked once: the child is gone


def test_a_prescan_of_other_folders_or_too_old_is_not_used(
    site: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    pending = prescan.start(site.content, site.output)
    assert pending is not None
    assert pending.result(site.content, tmp_path / "elsewhere") is None
    monkeypatch.setattr(prescan, "FRESH_NS", -1)  # any scan is too old (a build that waited for the lock)
    pending = prescan.start(site.content, site.output)
    assert pending is not None
    assert pending.result(site.content, site.output) is None


def test_a_child_that_fails_gives_no_result_and_the_build_says_why(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    config = make_config(tmp_path / "missing", tmp_path / "public")
    pending = prescan.start(config.content, config.output)
    assert pending is not None
    assert pending.result(config.content, config.output) is None
    with pytest.raises(ConfigError, match="content folder does not exist"):
        build(config, prescan=prescan.start(config.content, config.output))


def test_no_prescan_without_a_second_core(site: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert prescan.start(site.content, site.output) is None


def test_closing_an_unread_prescan_never_waits_for_its_child(site: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build that fails before its scan closes it: the child, blocked on a full pipe that a process
    forked since holds open (a slugger), is killed, not waited for."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    for i in range(3000):  # names enough to fill a pipe's buffer
        (site.content / f"{i:05d}-{'x' * 40}.md").write_text("x", encoding="utf-8")
    pending = prescan.start(site.content, site.output)
    assert pending is not None
    holder = os.fork()
    if holder == 0:  # holds the pipe's read end, as a process forked after the prescan would
        time.sleep(60)
        os._exit(0)
    try:
        time.sleep(0.2)  # the child is blocked on its write by now
        closing = threading.Thread(target=pending.close)
        closing.start()
        closing.join(timeout=20)
        assert not closing.is_alive()
    finally:
        os.kill(holder, 9)
        os.waitpid(holder, 0)
    assert pending.result(site.content, site.output) is None


def test_a_build_from_a_prescan_is_the_build_without(site: Config, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The same files, byte for byte, and the same report; the cache's scan time is the prescan's start."""
    hostile(site)
    shutil.rmtree(site.output)
    site = replace(site, output=tmp_path / "public")  # outside: both builds read the same files
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    pending = prescan.start(site.content, site.output)
    assert pending is not None
    report = build(site, jobs=2, prescan=pending)
    other = replace(site, output=tmp_path / "other")
    plain = build(other, jobs=2)
    assert published_files(site.output, compressed=True) == published_files(other.output, compressed=True)
    assert (report.counts, report.findings) == (plain.counts, plain.findings)
    head = load_cache(cache_folder(site), site, entries=False)
    assert head is not None and head.scanned_ns == pending.since
    again = build(site, jobs=2, prescan=prescan.start(site.content, site.output))
    assert again.mode == "kept" and again.findings == report.findings


def test_a_prescan_build_replays_only_when_every_output_is_as_written(
    site: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outputs are checked while the child scans: a feed deleted or edited since is written again."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    first = build(site, jobs=2)
    written = published_files(site.output, compressed=True)
    (site.output / "all.rss").unlink()
    (site.output / "all.atom").write_bytes(b"<feed/>")
    again = build(site, jobs=2, prescan=prescan.start(site.content, site.output))
    assert again.mode != "kept" and {"all.rss", "all.atom"} <= set(again.write.written)
    assert published_files(site.output, compressed=True) == written
    kept = build(site, jobs=2, prescan=prescan.start(site.content, site.output))
    assert kept.mode == "kept" and kept.findings == first.findings == again.findings
