"""Tests for feeds.text: sanitising, plain text, summaries, image URLs."""

from __future__ import annotations

from xml.etree import ElementTree
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.text import (
    ILLEGAL_XML,
    _cut,
    absolute_url,
    html_to_text,
    image_mime,
    plain_text,
    sanitize_html,
    strip_illegal_xml,
    summarize,
    utf8_has_illegal_xml,
)

BASE = "https://news.example.com/2021/07/10/slug/"
INDENT = "\u3000\u3000"

# Any code point, lone surrogates and C0 controls included.
ANY_TEXT = st.text(st.characters(codec=None, categories=None))
HTML_BITS = st.sampled_from(
    ["<p>", "</p>", "<br>", "<script>", "</script>", "<!-- more -->", "&amp;", "&#1;",
     "&#xFFFE;", "<a href='javascript:x'>", "<img src=x.png>", "。", ". ", INDENT, "\x00"]
)
HTML_LIKE = st.lists(st.one_of(ANY_TEXT, HTML_BITS)).map("".join)


def parses_as_xml(text: str) -> bool:
    ElementTree.fromstring(("<r>" + escape(text) + "</r>").encode("utf-8"))
    return True


# strip_illegal_xml / plain_text


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f",
                                  "\ufffe", "\uffff", "\ud800", "\udfff"])
def test_strip_illegal_xml_removes(char: str) -> None:
    assert strip_illegal_xml(f"a{char}b") == "ab"


def test_strip_illegal_xml_keeps_legal() -> None:
    text = "\t\n\r\x85\x9f\u3000中文 \U0001f600\ufffd"
    assert strip_illegal_xml(text) == text


def test_plain_text_collapses_ascii_whitespace() -> None:
    assert plain_text("  标题\n  第二行\t\r\n end ") == "标题 第二行 end"


def test_plain_text_keeps_markup_literally() -> None:
    assert plain_text("<b>A&B</b> &amp;") == "<b>A&B</b> &amp;"


def test_plain_text_keeps_ideographic_space() -> None:
    assert plain_text("\u3000标题\u3000x") == "\u3000标题\u3000x"


def test_plain_text_strips_illegal() -> None:
    assert plain_text("a\x00b\ud800c\ufffe") == "abc"


# sanitize_html


@pytest.mark.parametrize("tag", ["script", "style", "iframe", "object", "noscript",
                                 "template", "form"])
def test_sanitize_drops_element_with_content(tag: str) -> None:
    out = sanitize_html(f"<p>keep</p><{tag}>secret()</{tag}>", BASE)
    assert out == "<p>keep</p>"


def test_sanitize_drops_embed() -> None:
    assert sanitize_html('<p>a<embed src="x.swf">b</p>', BASE) == "<p>ab</p>"


def test_sanitize_drops_event_handlers_style_class_id() -> None:
    out = sanitize_html('<p onclick="evil()" style="color:red" class="c" id="i">x</p>', BASE)
    assert out == "<p>x</p>"


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)",
                                 "java\tscript:alert(1)", "data:text/html,x",
                                 "vbscript:x"])
def test_sanitize_drops_unsafe_urls(url: str) -> None:
    out = sanitize_html(f'<a href="{url}">x</a><img src="{url}">', BASE)
    assert out == "<a>x</a><img>"


def test_sanitize_keeps_safe_urls_without_rel() -> None:
    html = '<a href="https://a.example/x" title="t">x</a><a href="mailto:a@b.cn">m</a>'
    assert sanitize_html(html, BASE) == html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("pic.png", BASE + "pic.png"),
        ("/img/a.png", "https://news.example.com/img/a.png"),
        ("../a.png", "https://news.example.com/2021/07/10/a.png"),
        ("#top", BASE + "#top"),
        ("//cdn.example.com/x.png", "https://cdn.example.com/x.png"),
    ],
)
def test_sanitize_makes_urls_absolute(url: str, expected: str) -> None:
    out = sanitize_html(f'<a href="{url}">x</a><img src="{url}">', BASE)
    assert out == f'<a href="{expected}">x</a><img src="{expected}">'


def test_sanitize_protocol_relative_takes_base_scheme() -> None:
    out = sanitize_html('<img src="//cdn/x.png">', "http://news.example.com/a/")
    assert out == '<img src="http://cdn/x.png">'


def test_sanitize_rewrites_srcset() -> None:
    out = sanitize_html('<img srcset="a.png 1x, //cdn/b.png 2x">', BASE)
    assert out == f'<img srcset="{BASE}a.png 1x, https://cdn/b.png 2x">'


def test_sanitize_drops_unsafe_srcset() -> None:
    assert sanitize_html('<img srcset="a.png 1x, javascript:x 2x">', BASE) == "<img>"


def test_sanitize_keeps_structure_and_indentation() -> None:
    html = (
        f"<p>{INDENT}中证网讯（王络）7月10日。</p>"
        '<table><thead><tr><th colspan="2">表</th></tr></thead>'
        '<tbody><tr><td rowspan="1">1</td><td>2</td></tr></tbody></table>'
        f'<figure><img src="{BASE}a.jpg" alt="图" width="400" height="300">'
        "<figcaption>说明</figcaption></figure>"
        "<blockquote><strong>粗</strong><em>斜</em><code>x</code></blockquote>"
    )
    assert sanitize_html(html, BASE) == html


def test_sanitize_keeps_ideographic_space_bytes() -> None:
    out = sanitize_html(f"<p>{INDENT}正文\u3000内容</p>", BASE)
    assert f"{INDENT}正文\u3000内容".encode() in out.encode()


def test_sanitize_unknown_tag_keeps_text() -> None:
    assert sanitize_html("<section><font>文字</font></section>", BASE) == "文字"


def test_sanitize_removes_comments() -> None:
    assert sanitize_html("<p>a</p><!-- more --><p>b</p>", BASE) == "<p>a</p><p>b</p>"


@pytest.mark.parametrize("char", ["\x00", "\x0b", "\ufffe", "\ud800", "&#1;", "&#x0B;",
                                  "&#xFFFE;"])
def test_sanitize_removes_illegal_chars(char: str) -> None:
    out = sanitize_html(f"<p>a{char}b</p>", BASE)
    assert out == "<p>ab</p>"


@given(HTML_LIKE)
def test_sanitize_output_is_xml_safe(html: str) -> None:
    out = sanitize_html(html, BASE)
    assert ILLEGAL_XML.search(out) is None
    assert parses_as_xml(out)
    assert "<script" not in out.lower()


# summarize / html_to_text


def test_summary_before_more_marker_is_not_cut() -> None:
    head = "<p>" + INDENT + "第一句。" * 60 + "</p>"
    summary = summarize(head + "<!-- more --><p>后文</p>", limit=20)
    assert summary == "第一句。" * 60


@pytest.mark.parametrize("marker", ["<!--more-->", "<!--  MORE  -->", "<!--\nMore\n-->"])
def test_summary_more_marker_variants(marker: str) -> None:
    assert summarize(f"<p>前文</p>{marker}<p>后文</p>") == "前文"


def test_summary_marker_with_nothing_before_is_ignored() -> None:
    assert summarize("<!-- more --><p>正文。</p>") == "正文。"


def test_summary_cuts_at_chinese_sentence_end() -> None:
    text = "中证网讯7月10日大会在温州召开。本届大会由多家单位主办！为期2天，内容丰富"
    summary = summarize(f"<p>{INDENT}{text}</p>", limit=30)
    assert summary == "中证网讯7月10日大会在温州召开。本届大会由多家单位主办！"
    assert len(summary) <= 30


def test_summary_closing_quote_belongs_to_sentence() -> None:
    summary = summarize("<p>他说：“独行快，众行远。”随后离开了会场，没有回答问题</p>", limit=16)
    assert summary == "他说：“独行快，众行远。”"


def test_summary_does_not_split_closing_quote_from_sentence() -> None:
    summary = summarize("<p>甲。他说：“独行快，众行远。”随后离开</p>", limit=14)
    assert summary == "甲。"


def test_summary_latin_full_stop_needs_space() -> None:
    summary = summarize("<p>Rates rose 3.5 percent. Markets fell sharply today</p>", limit=30)
    assert summary == "Rates rose 3.5 percent."


def test_summary_ellipsis_when_no_sentence_end() -> None:
    summary = summarize("<p>" + "字" * 200 + "</p>", limit=140)
    assert summary == "字" * 140 + "…"


def test_summary_short_text_whole() -> None:
    assert summarize("<p>短文本，没有句号</p>") == "短文本，没有句号"


def test_summary_exactly_limit_is_whole() -> None:
    assert summarize("字" * 10, limit=10) == "字" * 10


def test_summary_empty_body() -> None:
    assert summarize("") == ""
    assert summarize("<div> <p>\u3000</p> </div>") == ""


def test_summary_decodes_entities_and_never_returns_markup() -> None:
    summary = summarize("<p>A&amp;B &lt;b&gt; &quot;x&quot;&nbsp;y</p><p><b>粗</b>体</p>")
    assert summary == 'A&B <b> "x" y 粗体'


def test_summary_has_no_markup_from_tags() -> None:
    summary = summarize('<div><p class="x">a</p><img src="x.png"><a href="/">b</a></div>')
    assert summary == "a b"


def test_summary_drops_script_content() -> None:
    assert summarize("<p>正文</p><script>alert('x')</script><style>p{}</style>") == "正文"


def test_html_to_text_removes_paragraph_indentation_only() -> None:
    text = html_to_text(f"<p>{INDENT}第一段\u3000中间</p>\n<p>{INDENT}第二段<br>{INDENT}续</p>")
    assert text == "第一段\u3000中间 第二段 续"


def test_summary_removes_illegal_chars() -> None:
    assert summarize("<p>a\x00b&#1;c\ud800d</p>") == "abcd"


@given(HTML_LIKE, st.integers(min_value=1, max_value=200))
def test_summary_is_xml_safe_plain_text(html: str, limit: int) -> None:
    summary = summarize(html, limit)
    assert ILLEGAL_XML.search(summary) is None
    assert parses_as_xml(summary)
    assert summary == summary.strip(" \t\n\r")


@given(ANY_TEXT.filter(lambda s: "<" not in s and "&" not in s),
       st.integers(min_value=1, max_value=50))
def test_summary_length_bound(text: str, limit: int) -> None:
    summary = summarize(text, limit)
    assert len(summary) <= limit + 1
    if summary.endswith("…") and len(summary) == limit + 1:
        assert html_to_text(text).startswith(summary[:-1].rstrip())


# absolute_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://picsum.photos/400/300?random=284", "https://picsum.photos/400/300?random=284"),
        ("  https://a.example/x.png  ", "https://a.example/x.png"),
        ("/img/a.png", "https://news.example.com/img/a.png"),
        ("a.png", BASE + "a.png"),
        ("//cdn.example.com/x.png", "https://cdn.example.com/x.png"),
        ("http://a.example/x.png", "http://a.example/x.png"),
    ],
)
def test_absolute_url(url: str, expected: str) -> None:
    assert absolute_url(url, BASE) == expected


@pytest.mark.parametrize("url", ["", "   ", "javascript:alert(1)", "data:image/png;base64,AA",
                                 "ftp://a.example/x.png", "http://[::1", "http://"])
def test_absolute_url_rejects(url: str) -> None:
    assert absolute_url(url, BASE) is None


def test_absolute_url_protocol_relative_follows_base() -> None:
    assert absolute_url("//cdn/x.png", "http://site.example/") == "http://cdn/x.png"


@given(ANY_TEXT)
def test_absolute_url_is_http_or_none(url: str) -> None:
    result = absolute_url(url, BASE)
    assert result is None or result.startswith(("http://", "https://"))
    assert result is None or ILLEGAL_XML.search(result) is None


# image_mime


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/x.jpg", "image/jpeg"),
        ("https://a.example/x.JPEG", "image/jpeg"),
        ("https://a.example/x.png?v=1.gif", "image/png"),
        ("https://a.example/x.gif#frag", "image/gif"),
        ("https://a.example/x.webp", "image/webp"),
        ("https://a.example/x.avif", "image/avif"),
        ("https://a.example/x.svg", "image/svg+xml"),
        ("https://a.example/x.bmp", "image/bmp"),
        ("https://a.example/favicon.ico", "image/x-icon"),
        ("/relative/x.png", "image/png"),
    ],
)
def test_image_mime(url: str, expected: str) -> None:
    assert image_mime(url, "image/default") == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://picsum.photos/400/300?random=284",
        "https://a.example/doc.pdf",
        "https://a.example/page.html",
        "https://a.example/dir.png/",
        "https://a.example/x",
        "http://[::1",
        "",
    ],
)
def test_image_mime_default(url: str) -> None:
    assert image_mime(url, "image/jpeg") == "image/jpeg"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://img.example.com/图片/a b.jpg", "https://img.example.com/%E5%9B%BE%E7%89%87/a%20b.jpg"),
    ("/images/中.png", "https://news.example.com/images/%E4%B8%AD.png"),
    ("https://x.cn/a%20b.png?x=1&y=2", "https://x.cn/a%20b.png?x=1&y=2"),
    ("https://x.cn/a\\b", "https://x.cn/a%5Cb"),
])
def test_absolute_urls_are_uris_not_iris(url: str, expected: str) -> None:
    assert absolute_url(url, "https://news.example.com/2021/07/10/a/") == expected


# The summary of a long body is made from its first few hundred characters;
# it must be exactly the summary of the whole text, whatever the markup.
HTML_PIECES = [
    "<p>", "</p>", "<br>", "<div>", "</div>", "<li>", "<b>", "</b>", "<i>", "<a href='x'>", "</a>",
    "<td>", "<img src='a.png'>",
    "<script>var a = '<p>x</p>';</script>", "<style>p{}</style>", "<!-- note -->", "<!--", "<p class=",
    "&amp;", "&lt;", "&#x4e2d;", "&nbsp;", "&CounterClockwiseContourIntegral;", "&am",
    "。", "！", "……", "”", "）", ")", ".", "...", ". ", " ", "\u3000", "\xa0", "\n",
    "经济数据表明", "市场平稳", "Growth", "abc", "x" * 70, "中" * 90,
]
TABLE_PIECES = ["<table><tr><td>", "</td></tr></table>", "<table>", "<TABLE>表外文字", "</table>"]
pieces = st.lists(st.sampled_from(HTML_PIECES), min_size=150, max_size=600)
long_html = st.one_of(
    pieces.map("".join),
    st.tuples(pieces, st.sampled_from(TABLE_PIECES), st.integers(0, 600)).map(  # one table piece somewhere
        lambda t: "".join([*t[0][: t[2]], t[1], *t[0][t[2] :]])
    ),
)


@settings(max_examples=400, deadline=None)
@given(long_html, st.integers(min_value=1, max_value=200))
def test_summary_of_a_head_is_the_summary_of_the_whole(html: str, limit: int) -> None:
    assert summarize(html, limit) == _cut(html_to_text(html), limit)


def test_strip_illegal_xml_shortcut_holds_for_every_code_point() -> None:
    """The isprintable() shortcut: no printable character is one XML cannot carry; the rest are removed."""
    printable_and_illegal = [c for c in map(chr, range(0x110000)) if c.isprintable() and ILLEGAL_XML.search(c)]
    assert printable_and_illegal == []
    assert strip_illegal_xml("标题\x01\ufffe\ud800 A") == "标题 A"
    assert strip_illegal_xml("第一行\n第二行\u3000") == "第一行\n第二行\u3000"


def test_utf8_check_agrees_with_the_regex_for_every_code_point() -> None:
    """Each scalar value alone, and between CJK text: the bytes check says what ILLEGAL_XML says."""
    for point in range(0x110000):
        if 0xD800 <= point <= 0xDFFF:
            continue  # a surrogate cannot be UTF-8
        char = chr(point)
        text = f"财经{char}新闻"
        assert utf8_has_illegal_xml(text, text.encode("utf-8")) == (ILLEGAL_XML.search(text) is not None), hex(point)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_utf8_check_agrees_with_the_regex_on_any_text(text: str) -> None:
    assert utf8_has_illegal_xml(text, text.encode("utf-8")) == (ILLEGAL_XML.search(text) is not None)


# Character references that decode to characters XML cannot carry, whole and
# cut short (a summary's head can end inside one), among clean text and tags.
REFERENCE_PIECES = st.sampled_from(
    ["&#12;", "&#x0c;", "&#1", "&#", "&#xFFFF;", "&#65534;", "&#xD800;", "&NewLine;", "&Tab;", "&amp;#1;",
     "<p>", "</p>", "<br>", "<a href='a&#1;b'>", "</a>", "<td>", "。", " ", "\n", "中" * 40, "x" * 30]
)
CLEAN_WITH_REFERENCES = st.lists(REFERENCE_PIECES, max_size=80).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(HTML_LIKE, CLEAN_WITH_REFERENCES), st.integers(min_value=1, max_value=200))
def test_stripped_input_gives_the_same_xml_safe_output(html: str, limit: int) -> None:
    """``stripped=True`` skips only the search of the input; an output is searched only after a reference."""
    clean = strip_illegal_xml(html)
    for out, again in [
        (sanitize_html(html, BASE), sanitize_html(clean, BASE, stripped=True)),
        (html_to_text(html), html_to_text(clean, stripped=True)),
        (summarize(html, limit), summarize(clean, limit, stripped=True)),
    ]:
        assert out == again
        assert ILLEGAL_XML.search(out) is None


def test_a_form_feed_reference_is_removed_from_content_and_summary() -> None:
    html = "<p>第一段&#12;结束。</p>"
    assert sanitize_html(html, BASE, stripped=True) == "<p>第一段结束。</p>"
    assert summarize(html, 140, stripped=True) == "第一段结束。"


def test_threads_sanitise_against_their_own_base() -> None:
    """One nh3.Cleaner serves every item; each thread's base is its own."""
    from concurrent.futures import ThreadPoolExecutor

    def links(n: int) -> list[str]:
        base = f"https://news.example.com/{n}/"
        return [sanitize_html(f"<a href='p{i}.html'>x</a><img src='/i{i}.png'>", base) for i in range(300)]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(links, range(8)))
    for n, outs in enumerate(results):
        assert outs == [f'<a href="https://news.example.com/{n}/p{i}.html">x</a>'
                        f'<img src="https://news.example.com/i{i}.png">' for i in range(300)]
