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


def write_config(content: Path, output: Path) -> Path:
    config = output.parent / "config.toml"
    config.write_text(
        f'[site]\ntitle = "t"\nbase_url = "https://news.example.com/"\n'
        f'[build]\ncontent = "{content.name}"\noutput = "{output.name}"\n'
        "[feeds]\ntags = false\nauthors = false\n",
        encoding="utf-8",
    )
    return config


def run_build(content: Path, output: Path) -> subprocess.Popen[bytes]:
    config = write_config(content, output)
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
        # (all + categories + index + opml), each with its compressed copies
        assert len(published(output)) == ((1 + len(CATEGORIES)) * len(FORMATS) + 2) * (1 + len(COMPRESSORS))
        assert_whole(output)
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


def test_a_failed_write_drops_the_feeds_not_started_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One worker's write fails while the other writes slowly: the writes under way finish, the rest is dropped."""
    content = tmp_path / "content"
    make_corpus(content, 8, edition=1)  # all eight categories
    config = make_config(content, tmp_path / "public")
    attempts = tmp_path / "attempts.txt"
    real_replace = os.replace

    def full_or_slow(src: str, dst: str) -> None:
        if str(dst).endswith("all.rss"):
            raise OSError(errno.ENOSPC, "No space left on device")
        if "category" in str(dst):
            with attempts.open("a", encoding="utf-8") as log:  # appended from every worker
                log.write(f"{Path(dst).name.split('.')[0]}\n")
            time.sleep(0.2)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_or_slow)
    monkeypatch.setattr(fanout, "_POOL_FROM", 1)
    with pytest.raises(OutputError):
        build(config, jobs=2)
    started = set(attempts.read_text(encoding="utf-8").split()) if attempts.exists() else set()
    assert len(started) < len(CATEGORIES)  # feeds not yet started when the write failed were dropped
    assert not [p for p in config.output.rglob(f"{TMP_PREFIX}*")]
    assert (config.output / MANIFEST).is_file()


# `feeds build` in which every worker process kills itself (SIGKILL) at the step named on the command line.
_WORKERS_DIE = """
import os, signal, sys
from feeds import fanout, slugs, workers
from feeds.cli import main
parent, step = os.getpid(), sys.argv.pop(1)

def dying(real):
    def die_in_a_worker(*args, **kwargs):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return die_in_a_worker

if step == "parse":
    workers.parse_entry = dying(workers.parse_entry)
elif step == "slug":  # a cold build's slugger process
    slugs.slugify = dying(slugs.slugify)
else:
    fanout.render_task = dying(fanout.render_task)
sys.exit(main(sys.argv[1:]))
"""


def assert_whole(output: Path) -> None:
    for path in published(output):
        if path.suffix in (".rss", ".atom"):
            etree.fromstring(path.read_bytes())  # whole and well-formed
        if path.suffix == ".gz":
            assert gzip.decompress(path.read_bytes())


@pytest.mark.parametrize(("step", "rebuild"), [  # a cold build; a rebuild, its workers forked early
    ("parse", False), ("parse", True), ("render", False), ("render", True), ("slug", False)])
def test_a_worker_that_dies_stops_the_build_with_an_error(tmp_path: Path, step: str, rebuild: bool) -> None:
    """No wait for ever for a lost task, no lock left held: one line, exit 2, and the next build runs."""
    content, output = tmp_path / "content", tmp_path / "public"
    make_corpus(content, 600, edition=1)
    config = write_config(content, output)
    if rebuild:
        assert run_build(content, output).wait(timeout=300) == 0
        make_corpus(content, 600, edition=2)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _WORKERS_DIE, step, "build", "--config", str(config), "--jobs", "2"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        f"error: {output}: a worker process died (killed? out of memory?); the build stopped, "
        "every published file is whole; run it again")
    assert time.monotonic() - started < 60
    assert_whole(output)
    again = run_build(content, output)
    assert again.wait(timeout=300) == 0  # no orphan holds the lock (that would be exit 3 after 30 s)
    assert not [p for p in output.rglob(f"{TMP_PREFIX}*")]
    assert_whole(output)
