"""Deterministic compressed copies of a file's bytes (same input, same output)."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

# Measured on the 147 feeds (50 MB) of a 10k-article build of Chinese news
# (seconds, compressed/original): zlib's gzip 1 0.42 s 0.284, 4 0.82 s 0.259,
# 5 1.41 s 0.252; ISA-L's igzip 2 0.11 s 0.270, 3 0.31 s 0.266. A cold build
# compresses every file twice: igzip 2 is 7x faster than zlib 4 for 4% more bytes.
# Brotli, CPU seconds (medians of 9) on the 84 files (28 MB) of the bench's
# 10k build, 2026-12-07: quality 1 0.143 s 0.249, 2 0.303 s 0.241 (igzip 2:
# 0.074 s 0.264). Quality 1 takes half the time for 3% more bytes, still
# smaller than gzip; few feed readers ask for br at all.
GZIP_LEVEL = 2  # igzip's levels are 0-3; zlib's fallback uses the same number
BROTLI_QUALITY = 1


@functools.cache
def _optional(name: str) -> ModuleType | None:
    """The module, imported on first use (a build with nothing to write needs neither), or None."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _brotli() -> ModuleType | None:
    return _optional("brotli")


def _igzip() -> ModuleType | None:
    return _optional("isal.igzip")  # ISA-L's gzip: same format, many times faster than zlib


def gzip_bytes(data: bytes) -> bytes:
    """gzip with a zero timestamp, so two builds of a file give the same bytes."""
    igzip = _igzip()
    if igzip is not None:
        return bytes(igzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))
    import gzip

    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def brotli_bytes(data: bytes) -> bytes:
    brotli = _brotli()
    if brotli is None:
        raise RuntimeError("brotli is not installed (pip install brotli)")
    return bytes(brotli.compress(data, quality=BROTLI_QUALITY))


@functools.cache
def _compressors() -> dict[str, Callable[[bytes], bytes]]:
    _igzip()  # imported with brotli: a worker forked after this compresses without importing
    found: dict[str, Callable[[bytes], bytes]] = {}
    if _brotli() is not None:
        found["br"] = brotli_bytes
    found["gzip"] = gzip_bytes
    return found


# File name suffix of each coding's copy, for nginx's gzip_static / brotli_static.
SUFFIXES = {"gzip": ".gz", "br": ".br"}

if TYPE_CHECKING:
    # Content-Encoding -> compressor for every coding this install can produce,
    # in order of preference when a client accepts several equally.
    COMPRESSORS: dict[str, Callable[[bytes], bytes]]
    COPY_SUFFIXES: tuple[str, ...]  # the copies a build writes


def __getattr__(name: str) -> object:
    """COMPRESSORS and COPY_SUFFIXES, made when first asked for: finding brotli imports it."""
    if name == "COMPRESSORS":
        return _compressors()
    if name == "COPY_SUFFIXES":
        return _copy_suffixes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _copy_suffixes() -> tuple[str, ...]:
    return tuple(SUFFIXES[coding] for coding in _compressors())


def copies(path: str, data: bytes) -> list[tuple[str, bytes]]:
    """``path`` with ``data``, then each compressed copy beside it."""
    return [(path, data), *((path + SUFFIXES[c], compress(data)) for c, compress in _compressors().items())]


def with_copies(path: str) -> tuple[str, ...]:
    """``path`` and the paths of the compressed copies a build writes beside it."""
    return (path, *(path + suffix for suffix in _copy_suffixes()))


def base_of(path: str) -> str:
    """The file a compressed copy was made from (``path`` itself when it is not a copy)."""
    return next((path.removesuffix(s) for s in _copy_suffixes() if path.endswith(s)), path)
