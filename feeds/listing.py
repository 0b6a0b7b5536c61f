"""The content folder's files, folder by folder, and their stamps' numbers: what every scan starts from."""

from __future__ import annotations

import array
import os
from collections.abc import Iterator
from pathlib import Path

from feeds.errors import ConfigError
from feeds.stamps import stat_all

Found = tuple[list[tuple[str, str, list[str]]], "array.array[int]"]  # listing's folders, stat_all's numbers


def listing(content: Path, skip: Path | None) -> Iterator[tuple[str, str, list[str]]]:
    """(relative prefix, folder, its non-hidden non-folder names, sorted) of every folder, in path order.

    os.scandir, not os.walk + pathlib: a 100k-file folder is listed in a
    fraction of the time, and each DirEntry is dropped as soon as it is read
    (a sorted list of 100k of them weighed some 80 MB). Folders under
    ``skip`` (the output) and hidden ones are not entered; a symlink to a
    folder is listed as a file (and reported when read).
    """
    if not content.is_dir():
        raise ConfigError(str(content), "content folder does not exist or is not a folder")
    skip_real = os.path.realpath(skip) if skip is not None else None
    stack = [("", str(content))]
    while stack:
        prefix, folder = stack.pop()
        names: list[str] = []
        folders: list[tuple[str, str]] = []
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if name[0] == ".":
                    continue
                if entry.is_dir(follow_symlinks=False):  # a symlinked folder is listed, and reported
                    if os.path.realpath(entry.path) != skip_real:
                        folders.append((name, entry.path))
                else:
                    names.append(name)
        names.sort()
        yield prefix, folder, names
        stack.extend((f"{prefix}{name}/", path) for name, path in sorted(folders, reverse=True))


def scan_folders(content: Path, output: Path | None, *, split: bool = False) -> Found:
    """Every folder's (prefix, folder, names) (``feeds.listing``), and every file's (size, mtime_ns) in that order."""
    folders = list(listing(content, output))
    return folders, stat_all([(folder, name) for _, folder, names in folders for name in names], split=split)
