"""Bounded, link-refusing walks over folders a student built (course_grader.untrusted_tree)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from tree_helpers import deep_chain

from course_grader.untrusted_tree import (
    TreeCaps,
    TreeRefused,
    copy_tree,
    hash_tree,
    remove_tree,
    scan_tree,
)


@pytest.fixture
def honest(tmp_path: Path) -> Path:
    root = tmp_path / "submission"
    (root / ".ipynb_checkpoints").mkdir(parents=True)
    (root / "Initialization.ipynb").write_text('{"cells": []}')
    (root / ".ipynb_checkpoints" / "Initialization-checkpoint.ipynb").write_text("{}")
    (root / "model.py").write_text("x = 1\n")
    return root


def test_honest_submission_is_copied_with_the_same_hash(honest, tmp_path):
    entries, digest = copy_tree(honest, tmp_path / "copy")
    assert sorted(e.path for e in entries) == [
        ".ipynb_checkpoints", ".ipynb_checkpoints/Initialization-checkpoint.ipynb",
        "Initialization.ipynb", "model.py"]
    assert digest == hash_tree(honest) == hash_tree(tmp_path / "copy")
    assert (tmp_path / "copy" / "model.py").read_text() == "x = 1\n"
    (honest / "model.py").write_text("x = 2\n")
    assert hash_tree(honest) != digest, "the hash must follow the content"


@pytest.mark.parametrize("make, words", [
    (lambda r: (r / "solution.ipynb").symlink_to("/etc/passwd"), "symbolic link"),
    (lambda r: os.mkfifo(r / "pipe"), "FIFO"),
    (lambda r: os.link(r / "model.py", r / "again.py"), "hard link"),
    (lambda r: (r / "big.bin").write_bytes(b"x" * 2048), "larger than"),
])
def test_what_an_honest_submission_never_holds_is_refused(honest, tmp_path, make, words):
    make(honest)
    caps = TreeCaps(max_file_bytes=1024)
    for read in (lambda: scan_tree(honest, caps), lambda: hash_tree(honest, caps),
                 lambda: copy_tree(honest, tmp_path / "copy", caps)):
        with pytest.raises(TreeRefused, match=words):
            read()
    assert not (tmp_path / "copy").exists(), "a refused copy leaves nothing behind"


def test_a_link_in_place_of_the_folder_is_refused(honest, tmp_path):
    (tmp_path / "alias").symlink_to(honest)
    with pytest.raises(TreeRefused, match="plain folder"):
        hash_tree(tmp_path / "alias")


def test_deep_wide_and_heavy_trees_are_refused_not_walked(tmp_path):
    deep = tmp_path / "deep"
    deep.mkdir()
    deep_chain(deep, 3000)
    try:
        with pytest.raises(TreeRefused, match="nested more than 6 deep"):
            hash_tree(deep)
    finally:
        remove_tree(deep)  # pytest's own clean-up of old tmp folders would recurse on it
    wide = tmp_path / "wide"
    wide.mkdir()
    for i in range(1000):
        (wide / f"empty{i}").mkdir()
    with pytest.raises(TreeRefused, match="more than 200 files"):
        scan_tree(wide)
    heavy = tmp_path / "heavy"
    heavy.mkdir()
    for i in range(3):
        (heavy / f"part{i}").write_bytes(b"x" * 600)
    with pytest.raises(TreeRefused, match="add up to more than"):
        scan_tree(heavy, TreeCaps(max_file_bytes=1000, max_total_bytes=1500))


def test_owner_must_be_the_named_account(honest):
    assert scan_tree(honest, owner=os.geteuid())
    with pytest.raises(TreeRefused, match="another account"):
        scan_tree(honest, owner=os.geteuid() + 1)


def test_skipped_names_are_left_out_of_walk_and_hash(honest):
    skip = frozenset({".ipynb_checkpoints"})
    before = hash_tree(honest, skip=skip)
    (honest / ".ipynb_checkpoints" / "junk").write_text("changed")
    assert hash_tree(honest, skip=skip) == before
    assert ".ipynb_checkpoints" not in {e.path for e in scan_tree(honest, skip=skip)}


def test_remove_tree_deletes_any_depth_and_follows_no_link(tmp_path):
    victim = tmp_path / "outside"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    root = tmp_path / "built"
    root.mkdir()
    deep_chain(root, 5000)  # far past shutil.rmtree's recursion limit
    (root / "link").symlink_to(victim)
    (root / "ro").mkdir()
    (root / "ro" / "f").write_text("x")
    (root / "ro").chmod(0o500)
    with pytest.raises(RecursionError):
        shutil.rmtree(root)  # the reason this module exists
    remove_tree(root)
    assert not root.exists()
    assert (victim / "keep.txt").read_text() == "mine"
    remove_tree(root)  # already gone: nothing to do
