"""LiveSite: the swap of Snapshots, failures kept out, the watcher thread."""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from feeds.config import Config
from feeds.reload import LiveSite, content_signature, load_snapshot
from feeds.snapshot import Snapshot
from feeds.stamps import FINE_NS

from .conftest import WriteArticle


@pytest.fixture
def quiet(config: Config, write_article: WriteArticle) -> Config:
    write_article("a.md", title="一")
    return replace(config, reload_seconds=0)


class CountingLoader:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(self, config: Config) -> Snapshot:
        self.calls += 1
        if self.fail and self.calls > 1:
            raise RuntimeError("disk on fire")
        return load_snapshot(config)


def test_no_change_no_rebuild(quiet: Config) -> None:
    loader = CountingLoader()
    site = LiveSite(quiet, loader)
    first = site.current
    assert site.refresh() is False
    assert (loader.calls, site.current) == (1, first)


def test_a_change_swaps_in_a_new_snapshot(quiet: Config, write_article: WriteArticle) -> None:
    site = LiveSite(quiet)
    first = site.current
    write_article("b.md", title="二")
    assert site.refresh() is True
    assert site.current is not first
    assert site.current.articles == 2
    assert first.articles == 1  # a request still holding the old one sees it unchanged


def test_any_failure_keeps_the_last_good_snapshot_and_is_not_retried(
    quiet: Config, write_article: WriteArticle, caplog: pytest.LogCaptureFixture
) -> None:
    loader = CountingLoader(fail=True)
    site = LiveSite(quiet, loader)
    first = site.current
    write_article("b.md", title="二")
    assert site.refresh() is False
    assert site.current is first
    assert site.last_error == "disk on fire"
    assert "rebuild failed; still serving the last good feeds" in caplog.text
    assert site.refresh() is False
    assert loader.calls == 2  # the same folder is not rebuilt again
    loader.fail = False
    write_article("c.md", title="三")
    assert site.refresh() is True
    assert site.last_error is None
    assert site.current.articles == 3


def test_start_up_failure_is_raised(quiet: Config) -> None:
    def broken(config: Config) -> Snapshot:
        raise RuntimeError("bad")

    with pytest.raises(RuntimeError, match="bad"):
        LiveSite(quiet, broken)


def test_signature_sees_added_changed_and_removed_files(quiet: Config, write_article: WriteArticle) -> None:
    before = content_signature(quiet)
    assert [entry[0] for entry in before] == ["a.md"]
    path = write_article("b.md")
    added = content_signature(quiet)
    assert added != before
    path.write_text(path.read_text(encoding="utf-8") + "x", encoding="utf-8")
    assert content_signature(quiet) != added
    path.unlink()
    assert content_signature(quiet) == before
    (quiet.content / ".hidden").write_text("x", encoding="utf-8")
    assert [e[0] for e in content_signature(quiet)] == ["a.md"]


def test_signature_of_a_missing_folder_is_empty(quiet: Config, tmp_path: Path) -> None:
    assert content_signature(replace(quiet, content=tmp_path / "missing")) == ()


def feeds_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "feeds-reload"]


def test_no_thread_when_reloading_is_off(quiet: Config) -> None:
    before = len(feeds_threads())
    site = LiveSite(quiet)
    site.watch()
    assert len(feeds_threads()) == before


def test_one_thread_per_process_and_close_stops_it(quiet: Config, write_article: WriteArticle) -> None:
    before = set(feeds_threads())
    site = LiveSite(replace(quiet, reload_seconds=0.02))
    for _ in range(3):
        site.watch()
    started = set(feeds_threads()) - before
    assert len(started) == 1
    write_article("b.md", title="二")
    deadline = time.monotonic() + 10
    while site.current.articles != 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    site.close()
    for thread in started:
        thread.join(timeout=5)
        assert not thread.is_alive()
    assert os.getpid() == site._watching_pid


def test_rebuilds_parse_only_the_files_that_changed(config: Config, write_article: WriteArticle) -> None:
    from feeds.reload import IncrementalLoader

    write_article("a.md", title="一")
    write_article("b.md", title="二")
    loader = IncrementalLoader()
    first = loader(config)
    kept = dict(loader._entries)
    write_article("b.md", title="二（更新）")
    os.utime(config.content / "b.md", ns=(1, 1))  # a new stamp, whatever the clock did
    second = loader(config)
    assert loader._entries["a.md"] is kept["a.md"]  # reused, not parsed again
    assert loader._entries["b.md"] is not kept["b.md"]
    assert "二（更新）".encode() in second.get("all.rss").variants["identity"].body
    assert first.get("all.rss") != second.get("all.rss")


def test_a_slow_look_at_the_folder_spaces_the_looks_out(quiet: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """A look that takes 50 ms makes the next one wait 20 × 50 ms, not reload_seconds (10 ms)."""
    from feeds import reload

    site = LiveSite(replace(quiet, reload_seconds=0.01))
    assert site.interval() == 0.01
    looks: list[float] = []
    real = reload.content_signature

    def slow(config: Config) -> reload.Signature:
        looks.append(time.monotonic())
        time.sleep(0.05)
        return real(config)

    monkeypatch.setattr(reload, "content_signature", slow)
    site.refresh()
    assert 20 * 0.05 <= site.interval() < 20 * 0.5
    site.watch()
    time.sleep(2.5)  # the next look ~1 s after the last (2 s if the machine is slow), not every 10 ms
    site.close()
    assert 2 <= len(looks) <= 3, looks  # the refresh above and one or two more, not ~25
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(looks))


@pytest.mark.racy
def test_a_second_write_in_the_tick_of_a_look_is_served(config: Config, write_article: WriteArticle) -> None:
    """Two writes of the same size in one tick of the file system's clock, a look and a load between
    them: the signature and the stamp stay the same, and the server serves the second all the same."""
    write_article("a.md", title="一")
    path = config.content / "b.md"
    write_article("b.md", title="甲")
    tick = time.time_ns() - 1_000_000
    os.utime(path, ns=(tick, tick))
    site = LiveSite(replace(config, reload_seconds=0))
    assert "甲".encode() in site.current.get("all.rss").variants["identity"].body
    path.write_text(path.read_text(encoding="utf-8").replace("甲", "乙"), encoding="utf-8")  # the same size
    os.utime(path, ns=(tick, tick))
    assert content_signature(site.config) == content_signature(site.config)  # nothing in it tells
    assert site.refresh()
    assert "乙".encode() in site.current.get("all.rss").variants["identity"].body
    time.sleep(2 * FINE_NS / 1e9)
    site.refresh()  # once more unless the last look came after the window
    assert not site.refresh()  # settled: no load until a change
