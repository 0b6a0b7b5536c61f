"""parse_article / decode_article / the folder loader."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from feeds.config import Config
from feeds.errors import ArticleError
from feeds.links import article_id, article_link
from feeds.loader import iter_sources, load_articles
from feeds.models import Author
from feeds.parser import decode_article, parse_article, split_front_matter

from .conftest import SEEDS, WriteArticle

UTC = UTC
SEED = (SEEDS / "000_651e3118f59f4f36.txt").read_text(encoding="utf-8")


def article(front: str, body: str = "<p>正文。</p>", source: str = "a.md") -> str:
    return f"---\n{front}\n---\n{body}"


def parse(config: Config, front: str, body: str = "<p>正文。</p>", source: str = "a.md"):  # type: ignore[no-untyped-def]
    return parse_article(article(front, body), source, config)


def error(config: Config, text: str, source: str = "a.md") -> ArticleError:
    with pytest.raises(ArticleError) as info:
        parse_article(text, source, config)
    return info.value


def test_seed_article(config: Config) -> None:
    a = parse_article(SEED, "000_651e3118f59f4f36.txt", config)
    assert a.title == "助力_双碳_目标 实现绿色低碳发展 瓯江峰会在温州召开"
    assert a.published == datetime(2021, 7, 10, 21, 41, tzinfo=UTC)
    assert a.categories == ("金融", "中证网", "资讯")
    assert a.author == Author("中证网")
    assert a.image == a.thumbnail == "https://picsum.photos/400/300?random=284"
    assert article_link(a, config) == "https://news.example.com/2021/07/11/000_651e3118f59f4f36/"
    assert article_id(a, config) == "tag:news.example.com,2021:000_651e3118f59f4f36.txt"
    assert a.permalink is None and a.given_id is None  # derived when rendered, not kept
    assert "\u3000\u3000中证网讯" in a.body
    assert not a.draft


def test_crlf_bom_and_leading_blank_lines_parse_like_lf(config: Config) -> None:
    crlf = "\ufeff\r\n\r\n" + SEED.replace("\n", "\r\n")
    assert parse_article(crlf, "x.txt", config) == parse_article(SEED, "x.txt", config)


def test_title_is_plain_text_trimmed(config: Config) -> None:
    a = parse(config, "title: '  <b>A&B</b>\n  标题 '\ndate: 2021-07-10")
    assert a.title == "<b>A&B</b> 标题"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("股市", ("股市",)),
        ("[金融, 资讯]", ("金融", "资讯")),
        ("[[金融, 银行], 资讯]", ("金融", "银行", "资讯")),
        ("[' 金融 ', 金融, 资讯, '']", ("金融", "资讯")),
        ("", ()),
        ("[2021, 基金]", ("2021", "基金")),
    ],
)
def test_categories_shapes(config: Config, value: str, expected: tuple[str, ...]) -> None:
    assert parse(config, f"title: t\ndate: 2021-07-10\ncategories: {value}").categories == expected


def test_author_mapping_and_drafts(config: Config) -> None:
    a = parse(config, "title: t\ndate: 2021-07-10\nauthor: {name: 证券时报, email: a@b.cn}\npublished: false")
    assert a.author == Author("证券时报", "a@b.cn")
    assert a.draft
    assert parse(config, "title: t\ndate: 2021-07-10\ndraft: true").draft


def test_given_id_kept_and_plain_ids_become_uris(config: Config) -> None:
    assert parse(config, "title: t\ndate: 2021-07-10\nid: urn:uuid:1234").given_id == "urn:uuid:1234"
    assert parse(config, "title: t\ndate: 2021-07-10\nguid: 12 34").given_id == (
        "tag:news.example.com,2021:id/12%2034"
    )


def test_id_from_path_distinguishes_same_title_and_date(config: Config) -> None:
    front = "title: 同名\ndate: 2021-07-10"
    a = parse_article(article(front), "a/文章.md", config)
    b = parse_article(article(front), "b/文章.md", config)
    assert article_id(a, config) == "tag:news.example.com,2021:a/%E6%96%87%E7%AB%A0.md"
    assert article_id(a, config) != article_id(b, config)
    assert article_link(a, config) == "https://news.example.com/2021/07/10/a/%E6%96%87%E7%AB%A0/"


def test_permalink_front_matter_and_pattern(config: Config) -> None:
    given = parse(config, "title: t\ndate: 2021-07-10\npermalink: /p/1/")
    assert given.permalink == article_link(given, config) == "https://news.example.com/p/1/"
    absolute = parse(config, "title: t\ndate: 2021-07-10\npermalink: 'https://x.cn/a'")
    assert article_link(absolute, config) == "https://x.cn/a"


def test_relative_images_made_absolute_against_link(config: Config) -> None:
    a = parse(config, "title: t\ndate: 2021-07-10\nthumbnail: img/a.png")
    assert a.thumbnail == a.image == "https://news.example.com/2021/07/10/a/img/a.png"


def test_illegal_xml_characters_removed_with_a_warning(config: Config) -> None:
    a = parse(config, "title: \"A\\x01B\"\ndate: 2021-07-10", body="<p>x\x0by</p>")
    assert a.title == "AB"
    assert a.body == "<p>xy</p>"
    assert [w.code for w in a.warnings] == ["illegal-xml"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("no front matter here", "a.md: no front matter (expected a '---' line first)"),
        ("---\ntitle: t\n", "a.md: front matter has no closing '---' line"),
        ("\n---\ntitle: t\ndate: [1\n---\n", "a.md: bad YAML at line 5: did not find expected ',' or ']'"),
        ("---\n- a\n---\n", "a.md: front matter is not a mapping of keys to values"),
        ("---\ndate: 2021-07-10\n---\n", "a.md: title: missing"),
        ("---\ntitle: 12\ndate: 2021-07-10\n---\n", "a.md: title: expected text, got 12"),
        ("---\ntitle: t\n---\n", "a.md: date: missing (try 2021-07-10 21:41:00)"),
        ("---\ntitle: t\ndate: sometime\n---\n",
         "a.md: date: 'sometime' is not a date (try 2021-07-10 21:41:00)"),
        ("---\ntitle: t\ndate: 2021-07-10\ncategories: {a: 1}\n---\n",
         "a.md: categories: expected names or lists of names, got {'a': 1}"),
        ("---\ntitle: t\ndate: 2021-07-10\nauthor: [1]\n---\n",
         "a.md: author: expected a name, a list of names or a mapping with name and email, got [1]"),
        ("---\ntitle: t\ndate: 2021-07-10\npublished: maybe\n---\n",
         "a.md: published: expected true or false, got 'maybe'"),
    ],
)
def test_bad_articles_name_the_file_and_reason(config: Config, text: str, line: str) -> None:
    assert str(error(config, text)) == line


def test_decode_gb18030_with_warning_and_reject_garbage() -> None:
    text, notes = decode_article("---\ntitle: 金融\n---\n".encode("gb18030"), "g.md")
    assert "金融" in text
    assert [(n.code, n.message) for n in notes] == [("gb18030", "not UTF-8; decoded as GB18030")]
    with pytest.raises(ArticleError, match=r"^b.bin: not UTF-8 or GB18030 text$"):
        decode_article(b"\x80\x80\xff\xff", "b.bin")


def test_loader_walks_sorted_skips_hidden_and_reports_bad(config: Config, content: Path) -> None:
    (content / "b").mkdir()
    (content / ".git").mkdir()
    (content / ".git" / "x.md").write_text("junk")
    (content / ".DS_Store").write_bytes(b"\0\1")
    (content / "b" / "2.md").write_text(article("title: two\ndate: 2021-07-11"), encoding="utf-8")
    (content / "a.md").write_text(article("title: one\ndate: 2021-07-10"), encoding="utf-8")
    (content / "README.txt").write_text("just notes", encoding="utf-8")
    assert [s for s, _ in iter_sources(content)] == ["README.txt", "a.md", "b/2.md"]
    load = load_articles(config)
    assert [a.title for a in load.articles] == ["one", "two"]
    assert [(f.file, f.code) for f in load.errors] == [("README.txt", "no-front-matter")]


@given(st.text(max_size=300))
def test_parse_article_returns_or_raises_our_error(text: str) -> None:
    from .conftest import make_config

    cfg = make_config(Path("c"), Path("o"))
    for candidate in (text, "---\n" + text + "\n---\n", "---\ntitle: t\ndate: 2021-07-10\n" + text + "\n---\n"):
        with contextlib.suppress(ArticleError):
            parse_article(candidate, "f.md", cfg)


def test_several_authors_make_one_byline(config: Config) -> None:
    assert parse(config, "title: t\ndate: 2021-07-10\nauthor: [张三, ' 李四 ']").author == Author("张三、李四")


def test_loaded_entries_survive_pickling_whole(config: Config) -> None:
    """Worker processes send entries back pickled: every field, warnings and stamps included."""
    import pickle

    (config.content / "a.md").write_text(
        article("title: t\ndate: Wed, 04 Sep 2019 22:54:00 GMT\nauthor: {name: 甲, email: a@b.cn}\ntags: [x]"),
        encoding="utf-8")
    (config.content / "bad.md").write_text("no front matter", encoding="utf-8")
    entries = load_articles(config).entries
    assert any(e.article is not None and e.article.warnings for e in entries)  # warnings are not compared by ==
    back = pickle.loads(pickle.dumps(entries))
    assert back == entries
    assert [e.article.warnings for e in back if e.article] == [e.article.warnings for e in entries if e.article]
    assert [e.findings for e in back] == [e.findings for e in entries]


@pytest.mark.parametrize(("front", "detail"), [
    ("date: 2021-02-30", "day is out of range for month"),  # the fast path's line shape
    ("date: 2021-07-10\nupdated: 2021-07-10 25:00:00", "hour must be in 0..23"),
    ("date: 2021-07-10\ndates: [2021-13-01]", "month must be in 1..12"),  # a flow list: libyaml's path
])
def test_an_impossible_unquoted_date_is_an_error_of_that_file(
    config: Config, write_article: WriteArticle, front: str, detail: str
) -> None:
    """YAML itself turns 2021-02-30 into a date and fails: the file is skipped, the build goes on."""
    from feeds.build import build

    write_article("good.md", title="好")
    (config.content / "bad.md").write_text(f"---\ntitle: t\n{front}\n---\n<p>x</p>\n", encoding="utf-8")
    report = build(config)
    assert [(f.file, f.code, f.message) for f in report.findings if f.level == "error"] == [
        ("bad.md", "bad-date", f"bad YAML: an impossible date or time ({detail}); try 2021-07-10 21:41:00"),
    ]
    assert report.counts.published == 1 and report.write.written


_FENCE_LINE = re.compile(r"^---[ \t]*$", re.MULTILINE)


def _split_by_regex(text: str) -> tuple[str, str, int] | None:
    """split_front_matter as it was written first: a copy of the text, a regex search for the fence."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    stripped = text.lstrip(" \t\n")
    skipped = text[: len(text) - len(stripped)].count("\n")
    first = _FENCE_LINE.match(stripped)
    closing = _FENCE_LINE.search(stripped, first.end()) if first else None
    if first is None or closing is None:
        return None
    return stripped[first.end() + 1 : closing.start()], stripped[closing.end() + 1 :], skipped + 2


@settings(max_examples=2000)
@given(st.text(alphabet="-\n\r \tab:\ufeff", max_size=40))
@example("---\n---\nbody")  # nothing between the fences
@example("  \n\t---\r\na: b\r\n---\t\n")  # blanks before, CRLF, tabs after
@example("---\na\n----\n--- x\n---\n")  # lines that only start like a fence
def test_split_front_matter_agrees_with_a_regex_search(text: str) -> None:
    expected = _split_by_regex(text)
    try:
        assert split_front_matter(text, "a.md") == expected
    except ArticleError:
        assert expected is None


@pytest.mark.parametrize("illegal", ["\x01", "\x0b", "\x1f", "\ufffe", "\uffff", ""])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_files_warn_of_illegal_xml_whatever_their_encoding(config: Config, illegal: str, encoding: str) -> None:
    """Loaded files are checked on their bytes when UTF-8, on their text otherwise: the same warning."""
    text = article("title: 标题\ndate: 2021-07-10", body=f"<p>正文{illegal}，￥100。</p>")
    (config.content / "a.md").write_bytes(text.encode(encoding))
    (loaded,) = load_articles(config).articles
    codes = [w.code for w in loaded.warnings if w.code != "gb18030"]
    assert codes == (["illegal-xml"] if illegal else [])
