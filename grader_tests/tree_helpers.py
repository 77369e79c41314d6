"""Folders a hostile student builds: deep chains, wide folders, links, FIFOs, hard links.

Built with one descriptor at a time (a recursive helper would hit the very limit
under test), and removed the same way: pytest's clean-up of old temporary folders
recurses, so a test that leaves a chain behind breaks a later session.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from course_grader.untrusted_tree import remove_tree


def deep_chain(root: Path, levels: int, name: str = "d") -> None:
    """``levels`` nested folders named ``name`` below ``root``, a file at the bottom."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir(name, dir_fd=fd)
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = sub
        with open(os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as fh:
            fh.write("bottom")
    finally:
        os.close(fd)


def wide_folder(root: Path, count: int) -> None:
    for index in range(count):
        (root / f"f{index}").mkdir()


@contextlib.contextmanager
def removed_after(*paths: Path):
    """Remove ``paths`` (any depth) when the block ends, whatever happened in it."""
    try:
        yield
    finally:
        for path in paths:
            remove_tree(path)
