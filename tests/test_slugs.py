"""Tests for feeds.slugs: slugify and collision-free, order-free assign_slugs."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.slugs import SLUG, assign_slugs, slugify

# Any code point, lone surrogates and controls included.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=12)
# Names that often collide: short mixes of Han, Latin, symbols and emoji.
CLASHY = st.text(st.sampled_from("金融中证网Cc+ -Hh😀/."), max_size=6)
NAMES = st.lists(st.one_of(ANY_TEXT, CLASHY), max_size=25)
SLUGS = st.lists(st.text("abcx019", min_size=1, max_size=4), min_size=1, max_size=3).map(
    "-".join
)


def sha1(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8")).hexdigest()


# slugify


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("金融", "jin-rong"),
        ("中证网", "zhong-zheng-wang"),
        ("双碳", "shuang-tan"),
        ("数字经济", "shu-zi-jing-ji"),
        ("资讯", "zi-xun"),
        ("绿色", "lv-se"),
        ("A股", "a-gu"),
        ("2021年报", "2021-nian-bao"),
        ("Café", "cafe"),
        ("Crème Brûlée", "creme-brulee"),
        ("Straße", "strasse"),
        ("C++", "c"),
        ("Hello World", "hello-world"),
        ("  Hello,   World!  ", "hello-world"),
        ("Don't Stop", "dont-stop"),
        ("ＡＢＣ１２３", "abc123"),
        ("a/../b", "a-b"),
        ("..", ""),
        ("+++", ""),
        ("😀🎉", ""),
        ("", ""),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


@given(ANY_TEXT)
def test_slugify_is_slug_or_empty(name: str) -> None:
    slug = slugify(name)
    assert slug == "" or SLUG.match(slug)


# assign_slugs: examples


def test_assign_plain_names() -> None:
    assert assign_slugs(["金融", "资讯", "A股"], {}) == {
        "A股": "a-gu",
        "资讯": "zi-xun",
        "金融": "jin-rong",
    }


def test_assign_overrides_win() -> None:
    slugs = assign_slugs(["金融", "中证网", "资讯"], {"金融": "finance", "中证网": "cs-com-cn"})
    assert slugs == {"金融": "finance", "中证网": "cs-com-cn", "资讯": "zi-xun"}


def test_assign_only_returns_requested_names() -> None:
    assert assign_slugs(["资讯"], {"金融": "finance"}) == {"资讯": "zi-xun"}


def test_assign_duplicates_collapse() -> None:
    assert assign_slugs(["金融", "金融"], {}) == {"金融": "jin-rong"}


def test_assign_lookalikes_both_get_hashes() -> None:
    slugs = assign_slugs(["C", "C++"], {})
    assert slugs == {"C": "c-" + sha1("C")[:6], "C++": "c-" + sha1("C++")[:6]}


def test_assign_exact_name_keeps_bare_slug() -> None:
    slugs = assign_slugs(["Hello World", "hello-world"], {})
    assert slugs == {"hello-world": "hello-world",
                     "Hello World": "hello-world-" + sha1("Hello World")[:6]}


def test_assign_override_beats_natural_slug() -> None:
    slugs = assign_slugs(["金融", "finance"], {"金融": "finance"})
    assert slugs == {"金融": "finance", "finance": "finance-" + sha1("finance")[:6]}


def test_assign_override_reserves_slug_even_when_absent() -> None:
    slugs = assign_slugs(["finance"], {"金融": "finance"})
    assert slugs == {"finance": "finance-" + sha1("finance")[:6]}


def test_assign_shared_override_first_name_keeps_it() -> None:
    slugs = assign_slugs(["金融", "财经"], {"金融": "money", "财经": "money"})
    assert sorted(["金融", "财经"])[0] == "财经"
    assert slugs == {"财经": "money", "金融": "money-" + sha1("金融")[:6]}


def test_assign_emoji_only_names_get_hash_fallbacks() -> None:
    slugs = assign_slugs(["😀", "🎉", "+++"], {})
    assert slugs == {name: "x-" + sha1(name)[:8] for name in ["😀", "🎉", "+++"]}


def test_assign_fallback_clashing_with_real_name() -> None:
    fallback = "x-" + sha1("😀")[:8]
    slugs = assign_slugs(["😀", fallback], {})
    assert slugs == {fallback: fallback, "😀": fallback + "-" + sha1("😀")[:6]}


def test_assign_hashed_slug_clashing_with_bare_slug_is_lengthened() -> None:
    taken = "c-" + sha1("C")[:6]
    slugs = assign_slugs(["C", "C++", taken], {})
    assert slugs[taken] == taken
    assert slugs["C"] == "c-" + sha1("C")[:8]
    assert slugs["C++"] == "c-" + sha1("C++")[:6]


def test_assign_hashed_slugs_do_not_depend_on_other_names() -> None:
    before = assign_slugs(["C", "C++"], {})
    after = assign_slugs(["C", "C++", "c plus", "金融"], {})
    assert after["C"] == before["C"]
    assert after["C++"] == before["C++"]


def test_assign_result_keys_sorted() -> None:
    assert list(assign_slugs(["b", "a", "c"], {})) == ["a", "b", "c"]


# assign_slugs: properties


@given(NAMES)
def test_assign_unique_and_valid(names: list[str]) -> None:
    slugs = assign_slugs(names, {})
    assert set(slugs) == set(names)
    assert len(set(slugs.values())) == len(slugs)
    assert all(SLUG.match(slug) for slug in slugs.values())
    assert all("/" not in slug and ".." not in slug for slug in slugs.values())


@given(NAMES.flatmap(lambda names: st.permutations(names).map(lambda p: (names, p))))
def test_assign_order_independent(pair: tuple[list[str], list[str]]) -> None:
    names, shuffled = pair
    assert assign_slugs(names, {}) == assign_slugs(shuffled, {})


@given(NAMES, st.dictionaries(st.one_of(CLASHY, ANY_TEXT), SLUGS, max_size=5))
def test_assign_overrides_respected(names: list[str], overrides: dict[str, str]) -> None:
    slugs = assign_slugs(names + list(overrides), overrides)
    assert len(set(slugs.values())) == len(slugs)
    assert all(SLUG.match(slug) for slug in slugs.values())
    distinct = {slug for slug in overrides.values() if list(overrides.values()).count(slug) == 1}
    for name, slug in overrides.items():
        if slug in distinct:
            assert slugs[name] == slug


@given(NAMES, st.dictionaries(CLASHY, SLUGS, max_size=5), st.randoms())
def test_assign_order_independent_with_overrides(
    names: list[str], overrides: dict[str, str], rnd: random.Random
) -> None:
    shuffled = list(names)
    rnd.shuffle(shuffled)
    assert assign_slugs(names, overrides) == assign_slugs(shuffled, overrides)
