"""A fast path for the front matter most sites write; libyaml decides the rest.

Hexo front matter is nearly always ``key: value`` lines and ``- item`` lists
of one-line scalars. ``load_simple`` recognises exactly that shape and
returns what ``yaml.load(text, Loader=CSafeLoader)`` returns for it, or
None for anything else (flow collections, block scalars, escapes, anchors,
nesting, comments after values, tabs, YAML 1.1 line breaks …), so the caller
falls back to libyaml. Scalar types are never guessed here: plain scalars
go through PyYAML's own resolver and constructors, so ``yes``, ``0x1F``,
``2021-07-10 21:41:00`` and ``~`` come out exactly as libyaml makes them.

Why: the SafeConstructor builds a document in Python, node by node, and was
the largest single cost of a cold build (about 40% of parsing one file).
A property test checks this module against libyaml on generated documents.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

# Any character that libyaml rejects or treats specially in the middle of a
# line (controls, DEL, C1, NEL and the Unicode line/paragraph separators,
# surrogates, BOM, non-characters), and tabs, which are legal but not worth
# the rules: documents holding one go to libyaml.
_UNSAFE = re.compile("[\x00-\x08\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")

# One line, as one of: a key (with its value, or none yet), a list item, a blank or comment
# line, or anything else ("other": not the simple shape). libyaml: keys under 1024.
_LINE = re.compile(
    r"^(?:([A-Za-z_][A-Za-z0-9_-]{0,127}):(?: +(.*))?"  # key: value
    r"|( *)(-) +(.*)"  # - item
    r"| *(?:#.*)?"  # blank, comment
    r"|(.).*)$",  # anything else
    re.MULTILINE,
)
_SINGLE = re.compile(r"'((?:[^']|'')*)' *$")
_DOUBLE = re.compile(r'"([^"\\]*)" *$')
# A plain scalar's first character may not be an indicator or a space.
_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@` ")

_STR = "tag:yaml.org,2002:str"
_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()
_SCALARS = {  # the implicit types a plain scalar may resolve to, and their builders
    tag: SafeConstructor.yaml_constructors[tag]
    for tag in (
        "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp",
    )
}


class _NotSimple(Exception):
    """The document is outside the simple shape: let libyaml read it."""


def load_simple(text: str) -> dict[str, Any] | None:
    """The mapping ``text`` holds if it has the simple shape, else None.

    None also for an empty document, which libyaml reads as None.
    """
    if _UNSAFE.search(text) is not None:
        return None
    try:
        return _mapping(_LINE.findall(text))
    except _NotSimple:
        return None


def _mapping(lines: list[tuple[str, str, str, str, str, str]]) -> dict[str, Any] | None:
    """The mapping of ``_LINE.findall``'s lines: every line split up in one call of the regex's C code."""
    out: dict[str, Any] = {}
    pending: str | None = None  # the last key, while it has no value yet
    items: list[Any] | None = None
    indent = 0
    for key, value, spaces, dash, item, other in lines:
        if key:
            if not _plain_key(key):
                raise _NotSimple  # a key like 'yes'
            items = None
            if value:
                out[key], pending = _scalar(value), None
            else:
                out[key], pending = None, key  # unless list items follow
        elif dash:
            if pending is None:
                raise _NotSimple  # a list where none belongs
            if items is None:
                items, indent = [], len(spaces)
                out[pending] = items
            elif len(spaces) != indent:
                raise _NotSimple
            items.append(_scalar(item))
        elif other:
            raise _NotSimple  # indented, a key without a space after its colon, …
    return out or None


def _plain_tag(value: str) -> str:
    """The tag libyaml gives ``value`` as a plain scalar (PyYAML's own resolver)."""
    tag: str = _RESOLVER.resolve(ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return tag


@functools.lru_cache(maxsize=256)
def _plain_key(key: str) -> bool:
    """Whether ``key`` reads as a string key (not ``yes``, ``null`` …); a site has few keys."""
    return _plain_tag(key) == _STR


def _scalar(value: str) -> Any:
    if not value.strip(" "):
        raise _NotSimple  # an empty list item
    first = value[0]
    if first == "'":
        quoted = _SINGLE.match(value)
        if quoted is None:
            raise _NotSimple
        return quoted.group(1).replace("''", "'")
    if first == '"':
        quoted = _DOUBLE.match(value)
        if quoted is None:
            raise _NotSimple
        return quoted.group(1)
    if first in _PLAIN_START or ": " in value or " #" in value or value.endswith(":"):
        raise _NotSimple
    value = value.rstrip(" ")
    if first not in _RESOLVER.yaml_implicit_resolvers:
        return value  # no implicit type starts with this character: a string
    return _resolved(value)


@functools.lru_cache(maxsize=1024)
def _resolved(value: str) -> Any:
    """A plain scalar typed as libyaml types it; remembered: ``false``, ``true`` and the like recur in every file.

    Every type it gives is immutable, so the same object can be shared.
    """
    tag = _plain_tag(value)
    if tag == _STR:
        return value
    build = _SCALARS.get(tag)
    if build is None:
        raise _NotSimple  # merge keys, '=' and the like: libyaml's business
    return build(_CONSTRUCTOR, ScalarNode(tag, value))
