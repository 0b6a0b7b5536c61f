"""What a person sees: a progress bar and a summary table on a terminal, plain lines elsewhere."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

CONFIG = '[site]\ntitle = "t"\nbase_url = "https://x.cn/"\n[build]\ncontent = "content"\n'


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    content = tmp_path / "content"
    content.mkdir()
    for i in range(300):
        (content / f"{i:03d}.md").write_text(
            f"---\ntitle: 文章{i}\ndate: 2021-07-10 08:{i % 60:02d}:00\ncategories: [金融]\nauthor: a\n---\n"
            "<p>正文。</p>\n", encoding="utf-8")
    return tmp_path


def on_terminal(site: Path, *args: str) -> str:
    """Run `feeds build` with a pseudo-terminal as stderr; what it showed there."""
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "feeds.cli", "build", "--jobs", "1", *args], cwd=site,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    assert proc.wait(timeout=120) == 0
    os.close(leader)
    return shown.decode("utf-8", "replace")


def plain(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "feeds.cli", "build", *args], cwd=site, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_terminal_gets_a_progress_bar_and_a_summary_table(site: Path) -> None:
    shown = on_terminal(site)
    assert "读取文章" in shown  # the bar (transient: erased when done)
    assert "feeds build ·" in shown and "articles read" in shown and "files written" in shown
    assert "300" in shown
    assert "feeds: 300 files read" not in shown  # the table replaces the line


def test_quiet_terminal_shows_no_bar_and_no_summary(site: Path) -> None:
    assert on_terminal(site, "--quiet").strip() == ""


def test_pipes_get_one_plain_line_and_no_bar(site: Path) -> None:
    result = plain(site)
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("feeds: 300 files read, 300 published")
    assert "\x1b[" not in result.stderr


def test_verbose_lists_every_file_written(site: Path) -> None:
    result = plain(site, "--verbose")
    lines = result.stderr.splitlines()
    assert "wrote all.rss" in lines and "wrote category/jin-rong.atom" in lines and "wrote all.rss.gz" in lines
    assert plain(site, "--verbose").stderr.splitlines()[:-1] == []  # nothing changed, nothing listed
