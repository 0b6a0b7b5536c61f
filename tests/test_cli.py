"""The `feeds` command as a real subprocess: the lines a user sees, exit codes."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, SEEDS

CONFIG = """[site]
title = "测试站"
base_url = "https://news.example.com/"
[build]
content = "content"
output = "public"
"""
GOOD = "---\ntitle: 好文章\ndate: 2021-07-10 21:41:00\ncategories: [金融]\nauthor: 中证网\n---\n<p>正文。</p>\n"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "feeds.cli", *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "good.md").write_text(GOOD, encoding="utf-8")
    return tmp_path


def test_build_ok_exit_0_and_summary(site: Path) -> None:
    result = run(site, "build")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "feeds: 1 files read, 1 published, 0 skipped, 0 drafts; 11 files written, 0 unchanged, 0 removed in "
    )
    assert (site / "public" / "category" / "jin-rong.rss").is_file()


def test_build_with_bad_article_exit_1_and_exact_line(site: Path) -> None:
    (site / "content" / "bad.md").write_text("---\ntitle: t\ndate: sometime\n---\n", encoding="utf-8")
    result = run(site, "build")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "content/bad.md: date: 'sometime' is not a date (try 2021-07-10 21:41:00)"
    )
    assert "1 skipped (bad-date 1)" in result.stderr
    assert (site / "public" / "all.rss").is_file()


def test_strict_exit_2_writes_nothing(site: Path) -> None:
    (site / "content" / "bad.md").write_text("no front matter", encoding="utf-8")
    result = run(site, "build", "--strict")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: content: --strict: 1 article(s) have errors; nothing written"
    assert not (site / "public" / "all.rss").exists()


def test_config_error_exit_2(site: Path) -> None:
    (site / "config.toml").write_text("[site]\ntitle = 't'\n", encoding="utf-8")
    result = run(site, "build")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: config.toml: [site] base_url: missing, expected a string"


def test_missing_content_folder_exit_2(site: Path) -> None:
    result = run(site, "build", "--content", "nowhere")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: nowhere: content folder does not exist or is not a folder"


def test_overrides_and_default_seeds(tmp_path: Path) -> None:
    result = run(ROOT, "build", "--content", str(SEEDS), "--output", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "17 published" in result.stderr and "1 draft;" in result.stderr
    assert (tmp_path / "out" / "category" / "finance.atom").is_file()
    assert (tmp_path / "out" / "index.html").is_file()


def test_locked_output_exit_3(site: Path) -> None:
    (site / "public").mkdir()
    with open(site / "public" / ".feeds.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = run(site, "build", "--lock-timeout", "0.3")
    assert result.returncode == 3
    assert result.stderr.strip() == (
        "error: public/.feeds.lock: another build holds the lock (waited 0.3 s); try again later"
    )


def test_usage_error_exit_2(site: Path) -> None:
    result = run(site, "build", "--nope")
    assert result.returncode == 2
    assert "unrecognized arguments: --nope" in result.stderr


def test_check_json_and_exit_codes(site: Path) -> None:
    clean = run(site, "check", "--json")
    assert clean.returncode == 0, clean.stdout
    assert json.loads(clean.stdout) == {"findings": [], "totals": {"error": 0, "warning": 0, "info": 0}}
    (site / "content" / "bad.md").write_text("---\ntitle: t\ndate: sometime\n---\n", encoding="utf-8")
    result = run(site, "check", "--json")
    assert result.returncode == 2
    doc = json.loads(result.stdout)
    assert doc["findings"][0] == {
        "file": "bad.md", "level": "error", "code": "bad-date",
        "message": "date: 'sometime' is not a date (try 2021-07-10 21:41:00)",
    }
    assert not (site / "public").exists()


def test_check_table(site: Path) -> None:
    (site / "content" / "old.md").write_text(
        "---\ntitle: 旧\ndate: 1990-01-01\nauthor: a\ncategories: [x]\n---\n<p>x</p>", encoding="utf-8"
    )
    result = run(site, "check")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "content/old.md",
        "  warning  old-date  date: 1989-12-31T16:00:00Z is before 1995",
        "1 file with findings: 0 errors, 1 warning, 0 info",
    ]


def test_every_command_has_help(site: Path) -> None:
    for command in ("build", "check", "serve"):
        result = run(site, command, "--help")
        assert result.returncode == 0
        assert "--config FILE" in result.stdout


def test_readme_check_example_is_real_output() -> None:
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```\n\$ feeds check --content tests/data/fixture\n(.*?)```", readme, re.S)
    assert found, "README.md has no `feeds check` example"
    assert run(ROOT, "check", "--content", "tests/data/fixture").stdout == found.group(1)


def test_output_larger_than_a_pipe_buffer_arrives_whole(site: Path) -> None:
    """The command leaves by os._exit once main returns: what it printed is flushed first, every byte."""
    for i in range(600):  # each a missing-author warning: a JSON report of well over 64 KB
        (site / "content" / f"a{i:03d}.md").write_text(
            f"---\ntitle: 文章{i}\ndate: 2021-07-10 21:41:00\ncategories: [金融]\n---\n<p>正文。</p>\n",
            encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout block-buffered, as in cron
    result = subprocess.run([sys.executable, "-m", "feeds.cli", "check", "--json"], cwd=site,
                            env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert len(result.stdout) > 65536 and result.stdout.endswith("}\n")  # the last, buffered, bytes too
    doc = json.loads(result.stdout)
    assert doc["totals"]["warning"] >= 600
    built = run(site, "build")
    assert built.returncode == 0 and built.stderr.splitlines()[-1].startswith("feeds: 601 files read")


@pytest.mark.parametrize("columns", [50, 120])
def test_help_is_sized_to_the_terminal_and_parsing_never_asks(site: Path, columns: int) -> None:
    """Help wraps at the terminal's width; a build's parsing of its arguments imports nothing for it (shutil)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": str(columns)}
    shown = subprocess.run([sys.executable, "-m", "feeds.cli", "build", "--help"], cwd=site, env=env,
                           capture_output=True, text=True, timeout=60)
    lines = shown.stdout.splitlines()
    assert shown.returncode == 0 and "--no-cache" in shown.stdout
    assert max(map(len, lines)) <= columns - 2 < max(map(len, lines)) + 24  # wrapped, and near the width
    code = (  # -S: no site hooks (some import shutil themselves); feeds.cli needs nothing from site-packages
        "import sys; before = set(sys.modules); from feeds.cli import _parser; "
        "_parser().parse_args(['build', '-q']); print('shutil' in set(sys.modules) - before)")
    parsed = subprocess.run([sys.executable, "-S", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert parsed.stdout.strip() == "False", parsed.stderr
