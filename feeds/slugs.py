"""URL slugs for category and tag names: pure functions, no I/O.

``slugify`` turns one name into ASCII words (Han characters through
pypinyin); ``assign_slugs`` gives a whole set of names unique slugs that
do not depend on the order the names were found in.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

_NON_WORD = re.compile(r"[^a-z0-9]+")
_APOSTROPHES = re.compile(r"['\u2019]")  # "Don't" -> "dont", not "don-t"
# Latin letters NFKD does not decompose into ASCII.
_LATIN = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
     "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D"}
)
_SUFFIX_HEX = 6  # hex digits first tried for a collision suffix
_FALLBACK_HEX = 8  # hex digits in "x-…" for names with no ASCII at all


def slugify(name: str) -> str:
    """``name`` as lowercase ASCII words joined by single hyphens.

    Han characters become pinyin without tones, one word per syllable
    (``中证网`` -> ``zhong-zheng-wang``); Latin letters lose their accents
    (``Café`` -> ``cafe``); everything else that has no ASCII form (emoji,
    punctuation, ``/``) separates words or disappears (``C++`` -> ``c``).
    The result matches ``SLUG`` or is "" (``+++``, emoji only).
    """
    normal = unicodedata.normalize("NFKC", name)
    if normal.isascii():
        words = normal
    else:  # pypinyin takes a quarter of a second to import: only when needed
        import_pinyin()
        from pypinyin import Style, lazy_pinyin

        words = " ".join(lazy_pinyin(normal, style=Style.NORMAL, errors="default"))
    ascii_text = _to_ascii(words).lower()
    return "-".join(_NON_WORD.split(_APOSTROPHES.sub("", ascii_text))).strip("-")


def import_pinyin() -> None:
    """Import pypinyin (a tenth of a second and more: it loads its dictionaries), once per process."""
    # pypinyin's own switch (its FAQ, on memory): no private copy of its two big
    # dictionaries, which only matters to a program that adds words to them.
    os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
    import pypinyin  # noqa: F401


def _to_ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_LATIN))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def natural_slugs(names: Iterable[str], known: Mapping[str, str]) -> dict[str, str]:
    """``slugify(name)`` of every name, taken from ``known`` where it is there.

    A build caches this map so that a rebuild need not import pypinyin.
    """
    return {name: known[name] if name in known else slugify(name) for name in names}


def assign_slugs(
    names: Iterable[str], overrides: Mapping[str, str], known: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A unique slug for every distinct name in ``names``.

    Each name first gets a *base* slug: its override if ``overrides`` has
    one (normalised with ``slugify``), else ``slugify(name)``, else (no
    ASCII at all) ``"x-"`` + the first 8 hex digits of sha1(name).

    Collision rule. The bare base slug goes to at most one *owner*:

    1. a name whose override is that slug (several such names: the one
       that is smallest in code-point order);
    2. else the name that *is* that slug (``"hello-world"``);
    3. else the name, if it is the only one with that base.

    Every other name with that base gets ``base-`` + the first 6 hex digits
    of sha1(name utf-8), lengthened two digits at a time while the result
    is already taken. So two names that only look alike (``C`` and ``C++``,
    ``Hello World`` and ``Hello  World``) both get hashed slugs, a hashed
    slug depends only on its own name, and adding a name can only move a
    name from rule 3 to a hashed slug; it never changes a hashed slug
    (unless the new name's slug equals it, when it is lengthened). The
    result is keyed in sorted name order. ``known`` may hold ``slugify`` results
    already computed (see ``natural_slugs``). Override keys count as present even when not in ``names``,
    so their slugs stay reserved. Names are processed in sorted order, so
    the result does not depend on the order of ``names``; every slug
    matches ``SLUG``.
    """
    wanted = set(names)
    bases = _bases(wanted | set(overrides), overrides, known or {})
    owners = _owners(bases, overrides)
    slugs = {name: base for base, name in owners.items()}
    taken = set(owners)
    for name in sorted(bases, key=lambda n: (bases[n], n)):
        if name not in slugs:
            slugs[name] = _suffixed(bases[name], name, taken)
            taken.add(slugs[name])
    return {name: slugs[name] for name in sorted(wanted)}


def _bases(names: Iterable[str], overrides: Mapping[str, str], known: Mapping[str, str]) -> dict[str, str]:
    return {name: _base(name, overrides, known) for name in names}


def _base(name: str, overrides: Mapping[str, str], known: Mapping[str, str]) -> str:
    override = slugify(overrides.get(name, ""))
    natural = known[name] if name in known else slugify(name)
    return override or natural or f"x-{_sha1(name)[:_FALLBACK_HEX]}"


def _owners(bases: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    """base slug -> the name that keeps it bare (rules 1-3 of assign_slugs)."""
    claims: dict[str, list[str]] = {}
    for name in sorted(bases):
        claims.setdefault(bases[name], []).append(name)
    owners: dict[str, str] = {}
    for base, claimants in claims.items():
        owner = _owner(base, claimants, overrides)
        if owner is not None:
            owners[base] = owner
    return owners


def _owner(base: str, claimants: list[str], overrides: Mapping[str, str]) -> str | None:
    """The claimant that keeps ``base`` bare; ``claimants`` are sorted."""
    by_override = [name for name in claimants if slugify(overrides.get(name, "")) == base]
    if by_override:
        return by_override[0]
    if base in claimants:
        return base
    return claimants[0] if len(claimants) == 1 else None


def _suffixed(base: str, name: str, taken: set[str]) -> str:
    digest = _sha1(name)
    for length in range(_SUFFIX_HEX, len(digest) + 1, 2):
        slug = f"{base}-{digest[:length]}"
        if slug not in taken:
            return slug
    counter = 2  # only if 40 hex digits clash: practically never
    while f"{base}-{digest}-{counter}" in taken:
        counter += 1
    return f"{base}-{digest}-{counter}"


def _sha1(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()
