"""A build killed at any moment leaves every published feed whole; builds never interleave."""

from __future__ import annotations

import errno
import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree

from feeds import fanout
from feeds.build import build
from feeds.compress import COMPRESSORS
from feeds.errors import OutputError
from feeds.output import MANIFEST, TMP_PREFIX
from feeds.plan import FORMATS

from .conftest import ROOT, make_config

CATEGORIES = ["金融", "银行", "债券", "股市", "基金", "能源", "宏观", "科技"]


def make_corpus(folder: Path, count: int, edition: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    paragraph = "<p>\u3000\u3000" + "金融市场运行总体平稳，投资者信心持续恢复。" * 20 + "</p>\n"
    for i in range(count):
        cats = ", ".join(CATEGORIES[(i + k) % len(CATEGORIES)] for k in range(2))
        (folder / f"{i:05d}.md").write_text(
            f"---\ntitle: 第{edition}版 文章{i}\ndate: 2021-07-10 08:{i % 60:02d}:00\n"
            f"categories: [{cats}]\nauthor: 中证网\n---\n{paragraph * 3}",
            encoding="utf-8",
        )


def published(output: Path) -> list[Path]:
    return [p for p in output.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(output).parts)]


def run_build(content: Path, output: Path) -> subprocess.Popen[bytes]:
    config = output.parent / "config.toml"
    config.write_text(
        f'[site]\ntitle = "t"\nbase_url = "https://news.example.com/"\n'
        f'[build]\ncontent = "{content.name}"\noutput = "{output.name}"\n'
        "[feeds]\ntags = false\nauthors = false\n",
        encoding="utf-8",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "feeds.cli", "build", "--config", str(config)],
        cwd=output.parent, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def test_sigkill_at_many_points_never_leaves_a_broken_feed(tmp_path: Path) -> None:
    content, output = tmp_path / "content", tmp_path / "public"
    make_corpus(content, 1500, edition=1)
    first = run_build(content, output)
    assert first.wait(timeout=300) == 0
    started = time.perf_counter()
    make_corpus(content, 1500, edition=2)
    duration = 0.0
    for attempt in range(8):
        proc = run_build(content, output)
        if attempt == 0:  # measure one whole build to spread the kills over it
            assert proc.wait(timeout=300) == 0
            duration = time.perf_counter() - started
            make_corpus(content, 1500, edition=3 + attempt)
            continue
        time.sleep(duration * attempt / 8)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        files = published(output)
        # (all + categories + index + opml), each with its compressed copies
        assert len(files) == ((1 + len(CATEGORIES)) * len(FORMATS) + 2) * (1 + len(COMPRESSORS))
        for path in files:
            if path.suffix in (".rss", ".atom"):
                etree.fromstring(path.read_bytes())  # whole and well-formed
            if path.suffix == ".gz":
                assert gzip.decompress(path.read_bytes())
    final = run_build(content, output)
    assert final.wait(timeout=300) == 0
    assert not [p for p in output.rglob(f"{TMP_PREFIX}*")]
    text = (output / "all.rss").read_text(encoding="utf-8")
    assert "第3版" in text and "第2版" not in text


def test_second_build_waits_for_the_lock_then_runs(tmp_path: Path) -> None:
    content, output = tmp_path / "content", tmp_path / "public"
    make_corpus(content, 1500, edition=1)
    one, two = run_build(content, output), run_build(content, output)
    assert one.wait(timeout=300) == 0
    assert two.wait(timeout=300) == 0
    assert (output / "all.rss").is_file()


@pytest.mark.parametrize("jobs", [1, 2])  # 2: feeds render in workers, the cache is staged beside them
def test_disk_full_names_the_file_and_keeps_published_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    content = tmp_path / "content"
    make_corpus(content, 5, edition=1)
    config = make_config(content, tmp_path / "public")
    build(config)
    before = {p: p.read_bytes() for p in published(config.output)}
    make_corpus(content, 5, edition=2)
    real_replace = os.replace

    def full(src: str, dst: str) -> None:
        if str(dst).endswith("all.rss"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full)
    monkeypatch.setattr(fanout, "_POOL_FROM", 1)
    with pytest.raises(OutputError) as info:
        build(config, jobs=jobs)
    assert str(info.value) == f"{config.output / 'all.rss'}: cannot write: No space left on device"
    assert (config.output / "all.rss").read_bytes() == before[config.output / "all.rss"]
    assert not [p for p in config.output.rglob(f"{TMP_PREFIX}*")]
    assert (config.output / MANIFEST).is_file()


def test_a_worker_stopped_in_the_middle_of_a_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One worker's write fails while the other is between writing its temp file and renaming it."""
    content = tmp_path / "content"
    make_corpus(content, 5, edition=1)
    config = make_config(content, tmp_path / "public")
    real_replace = os.replace

    def full_or_slow(src: str, dst: str) -> None:
        if str(dst).endswith("all.rss"):
            raise OSError(errno.ENOSPC, "No space left on device")
        if "category" in str(dst):
            time.sleep(30)  # the pool is stopped long before
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_or_slow)
    monkeypatch.setattr(fanout, "_POOL_FROM", 1)
    started = time.monotonic()
    with pytest.raises(OutputError):
        build(config, jobs=2)
    assert time.monotonic() - started < 20
    assert not [p for p in config.output.rglob(f"{TMP_PREFIX}*")]
