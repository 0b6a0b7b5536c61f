"""feeds.stamps: the numbers of many files, the same whether one process or two stat() them."""

from __future__ import annotations

import array
import os
from pathlib import Path

import pytest

from feeds import stamps
from feeds.config import Config
from feeds.loader import Stamp, scan


def tree(root: Path) -> list[tuple[str, str]]:
    """Files in three folders, a missing one, a broken symlink and a symlink to a file: (folder, name)."""
    files = []
    for folder in ("a", "b/c", "d"):
        (root / folder).mkdir(parents=True)
        for i in range(7):
            (root / folder / f"{i}.md").write_text("x" * (i + len(folder)), encoding="utf-8")
            os.utime(root / folder / f"{i}.md", ns=(1, 10**9 * (i + 1) + len(folder)))
            files.append((str(root / folder), f"{i}.md"))
    (root / "d" / "link.md").symlink_to(root / "a" / "3.md")
    (root / "d" / "broken.md").symlink_to(root / "nowhere.md")
    files += [(str(root / "d"), "link.md"), (str(root / "d"), "broken.md"), (str(root / "d"), "gone.md"),
              (str(root / "no-folder"), "x.md")]
    return files


def expected(files: list[tuple[str, str]]) -> list[int]:
    out = []
    for folder, name in files:
        try:
            info = os.stat(os.path.join(folder, name))
            out += [info.st_size, info.st_mtime_ns]
        except OSError:
            out += [-1, -1]
    return out


@pytest.mark.parametrize("fork_from", [1, 10**9])  # two processes; one
def test_two_processes_give_what_one_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork_from: int) -> None:
    files = tree(tmp_path)
    monkeypatch.setattr(stamps, "FORK_FROM", fork_from)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert list(stamps.stat_all(files, split=True)) == expected(files)
    assert list(stamps.stat_all(files, split=True))[2 * 21 : 2 * 22] == list(stamps.stat_all([files[3]]))  # link


def test_a_child_that_fails_or_cannot_fork_leaves_the_numbers_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = tree(tmp_path)
    monkeypatch.setattr(stamps, "FORK_FROM", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)

    def dying(part: list[tuple[str, str]]) -> tuple[int, int] | None:  # a child that dies before answering
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os._exit(1)
        os.close(write)
        return pid, read

    monkeypatch.setattr(stamps, "_fork_run", dying)
    assert list(stamps.stat_all(files, split=True)) == expected(files)

    def no_fork() -> int:
        raise OSError("Resource temporarily unavailable")

    monkeypatch.undo()
    monkeypatch.setattr(stamps, "FORK_FROM", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "fork", no_fork)
    assert list(stamps.stat_all(files, split=True)) == expected(files)


def test_scan_stamps_every_file_in_path_order(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """scan: listing, then stat_all (forked here: FORK_FROM 1), then the stamps matched to their files."""
    monkeypatch.setattr(stamps, "FORK_FROM", 1)
    for name in ("b.md", "a/z.md", "a.md", "a-b.md", "c/d/e.md"):
        path = config.content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name, encoding="utf-8")
    (config.content / "gone.md").symlink_to(config.content / "nowhere.md")
    scanned = scan(config, split=True)
    assert scanned == scan(config)  # in one process: the same
    assert [s for s, _, _ in scanned] == ["a-b.md", "a.md", "b.md", "gone.md", "a/z.md", "c/d/e.md"]
    for source, path, stamp in scanned:
        assert path == os.path.join(str(config.content), source)
        if source == "gone.md":
            assert stamp is None
        else:
            info = os.stat(path)
            assert stamp == Stamp(info.st_size, info.st_mtime_ns)


def test_a_scan_answers_as_the_list_of_its_triples(config: Config) -> None:
    """Scan keeps numbers, not Stamps: indexing, slicing, iterating and the cache's digests see the same files."""
    from feeds.cache import folder_stamp, stamp_numbers

    for name in ("b.md", "a/z.md", "a.md"):
        path = config.content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name * 3, encoding="utf-8")
    (config.content / "gone.md").symlink_to(config.content / "nowhere.md")
    scanned = scan(config)
    triples = list(scanned)
    assert len(scanned) == len(triples) == 4
    assert [scanned[at] for at in range(4)] == triples == scanned
    assert scanned[-1] == triples[-1] and scanned[1:3] == triples[1:3] and scanned[::-1] == triples[::-1]
    assert [s for s, _, st in triples if st is None] == ["gone.md"]
    assert triples[0][2] == Stamp(3 * len(triples[0][0]), os.stat(triples[0][1]).st_mtime_ns)
    with pytest.raises(IndexError):
        scanned[4]
    assert list(stamp_numbers(scanned)) == list(stamp_numbers(triples))
    assert folder_stamp(scanned) == folder_stamp(triples)


def test_only_a_split_scan_forks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server's reload and --jobs 1 stat in their own process: never a fork."""
    files = tree(tmp_path)
    monkeypatch.setattr(stamps, "FORK_FROM", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    forks: list[int] = []
    real = os.fork

    def counted() -> int:
        forks.append(1)
        return real()

    monkeypatch.setattr(os, "fork", counted)
    assert list(stamps.stat_all(files)) == expected(files) and forks == []
    assert list(stamps.stat_all(files, split=True)) == expected(files) and forks == [1]


@pytest.mark.racy
def test_racy_files_are_those_stamped_within_a_tick_of_the_scan() -> None:
    since = 1_700_000_000_123_456_789  # 0.123 s into a second
    second = since // 10**9 * 10**9
    mtimes = {
        "long before": since - 10 * 10**9 + 7,
        "a tick before": since - 5_000_000,
        "two ticks and more before": since - stamps.FINE_NS - 1,
        "a whole second, 1.1 s before": second - 10**9,  # a 1 s or 2 s clock: a write now may get it again
        "a whole second, 3.1 s before": second - 3 * 10**9,
        "during the build": since + 300_000_000,
        "far in the future": since + 60 * 10**9 + 1,  # no write now is given this one
        "no stamp": -1,
    }
    numbers = array.array("q", [n for mtime in mtimes.values() for n in (5, mtime)])
    assert [list(mtimes)[at] for at in stamps.racy(numbers, since)] == [
        "a tick before", "a whole second, 1.1 s before", "during the build"]
    old = array.array("q", [5, since - 10 * 10**9, 7, second - 3 * 10**9])
    assert stamps.racy(old, since) == [] and stamps.racy(array.array("q"), since) == []
