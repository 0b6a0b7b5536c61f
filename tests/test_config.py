"""config.toml validation: one clear line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.config import load_config
from feeds.errors import ConfigError

from .conftest import ROOT

GOOD = """
[site]
title = "站"
base_url = "https://news.example.com"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_config_loads_with_paths_from_its_folder() -> None:
    config = load_config(ROOT / "config.toml")
    assert config.content == ROOT / "seeds"
    assert config.output == ROOT / "public"
    assert config.base_url.endswith("/")
    assert config.category_slugs["金融"] == "finance"
    assert config.items == 50
    assert str(config.timezone) == "Asia/Shanghai"


def test_defaults_and_trailing_slash(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.base_url == "https://news.example.com/"
    assert config.language == "zh-CN"
    assert config.permalink == "{year}/{month}/{day}/{slug}/"
    assert config.content == tmp_path / "seeds"
    assert config.ttl_minutes == 30


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[site]\ntitle = 't'\n", "[site] base_url: missing, expected a string"),
        (GOOD.replace('"https://news.example.com"', '"news.example.com"'),
         "[site] base_url: expected an absolute http(s) URL, got 'news.example.com'"),
        (GOOD + 'timezone = "Mars/Olympus"\n',
         "[site] timezone: expected an IANA zone such as 'Asia/Shanghai', got 'Mars/Olympus'"),
        (GOOD + "[build]\nitems = 0\n", "[build] items: expected a positive integer, got 0"),
        (GOOD + "[build]\nitems = '5'\n", "[build] items: expected an integer, got '5'"),
        (GOOD + "[build]\npermalink = '{year}/{nope}/'\n",
         "[build] permalink: unknown placeholder {nope} (known: {category}, {day}, {hour}, {i_day}, "
         "{i_month}, {minute}, {month}, {name}, {second}, {slug}, {title}, {year})"),
        (GOOD + "[build]\ncontnet = 'x'\n",
         "[build] contnet: unknown key (known: content, output, items, permalink, image_type, summary_length, "
         "max_front_matter, max_body, cache)"),
        (GOOD + "[category_slugs]\n'金融' = 'Fin/ance'\n",
         "[category_slugs] 金融: expected a slug of lowercase ASCII letters, digits and single hyphens, "
         "got 'Fin/ance'"),
        ("[site\n", "not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 6)"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: {message}"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")


# --- [feeds] formats ---------------------------------------------------------


def test_formats_default_to_all_three(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, GOOD)).formats == ("rss", "atom", "json")
    assert load_config(write(tmp_path, GOOD + "[feeds]\ntags = false\n")).formats == ("rss", "atom", "json")


@pytest.mark.parametrize(
    ("written", "formats"),
    [
        ('["rss", "atom"]', ("rss", "atom")),
        ('["json"]', ("json",)),
        ('["json", "atom", "rss"]', ("rss", "atom", "json")),  # any order: kept in the canonical one
        ('["atom", "rss"]', ("rss", "atom")),
        ('["json", "rss", "json"]', ("rss", "json")),  # a repeat changes nothing
    ],
)
def test_formats_subset_in_canonical_order(tmp_path: Path, written: str, formats: tuple[str, ...]) -> None:
    config = load_config(write(tmp_path, GOOD + f"[feeds]\nformats = {written}\n"))
    assert config.formats == formats


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ('"rss"', "[feeds] formats: expected an array, got 'rss'"),
        ("true", "[feeds] formats: expected an array, got True"),
        ('["rss", 1]', "[feeds] formats: expected an array of strings, got 1 in it"),
        ('[["rss"]]', "[feeds] formats: expected an array of strings, got ['rss'] in it"),
        ('["rss", "xml"]', "[feeds] formats: unknown format 'xml' (known: rss, atom, json)"),
        ('["RSS"]', "[feeds] formats: unknown format 'RSS' (known: rss, atom, json)"),
        ('[".json"]', "[feeds] formats: unknown format '.json' (known: rss, atom, json)"),
        ("[]", "[feeds] formats: expected at least one of rss, atom, json, got []"),
    ],
)
def test_bad_formats_is_one_line_naming_the_key(tmp_path: Path, written: str, message: str) -> None:
    path = write(tmp_path, GOOD + f"[feeds]\nformats = {written}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: {message}"


def test_formats_is_a_known_key_of_feeds(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "[feeds]\nformat = ['rss']\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: [feeds] format: unknown key (known: categories, tags, authors, formats)"
