"""Publishing an assignment's release into notebooks/ touches only that assignment's files.

Real folders and files; no nbgrader run (the release folders are written here
as ``nbgrader generate_assignment`` leaves them: the notebook, provided files,
a subfolder, and leftovers that never ship).
"""

from __future__ import annotations

import json

import pytest

from course_grader.student_edition import MANIFEST, PublishRefused, publish, read_manifest


def make_release(folder, files: dict[str, str]):
    """A release folder holding ``files`` (name or sub/name -> text)."""
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def listing(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


@pytest.fixture
def edition(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "README.md").write_text("the instructor's own note")
    return folder


def test_a_release_is_copied_and_recorded(tmp_path, edition):
    released = make_release(tmp_path / "release" / "lab1", {
        "Lab1.ipynb": "nb", "model.py": "code", "data/points.csv": "1,2",
        ".ipynb_checkpoints/Lab1-checkpoint.ipynb": "old", "__pycache__/model.pyc": "x"})
    assert publish(released, edition, "lab1") == ["Lab1.ipynb", "data", "model.py"]
    assert listing(edition) == {"README.md": "the instructor's own note", "Lab1.ipynb": "nb",
                                "model.py": "code", "data/points.csv": "1,2"}
    assert not any(p.is_symlink() for p in edition.rglob("*"))
    assert read_manifest(edition) == {"lab1": ["Lab1.ipynb", "data", "model.py"]}


def test_a_new_release_removes_only_what_the_previous_one_wrote(tmp_path, edition):
    first = make_release(tmp_path / "r1", {"Lab1.ipynb": "v1", "old_helper.py": "gone soon",
                                           "data/points.csv": "1,2"})
    publish(first, edition, "lab1")
    (edition / "my_notes.txt").write_text("put here by hand")
    second = make_release(tmp_path / "r2", {"Lab1.ipynb": "v2"})
    publish(second, edition, "lab1")
    assert listing(edition) == {"README.md": "the instructor's own note", "Lab1.ipynb": "v2",
                                "my_notes.txt": "put here by hand"}
    assert read_manifest(edition) == {"lab1": ["Lab1.ipynb"]}


def test_two_assignments_share_the_folder(tmp_path, edition):
    publish(make_release(tmp_path / "a", {"Lab1.ipynb": "one", "model.py": "lab1 model"}),
            edition, "lab1")
    publish(make_release(tmp_path / "b", {"Lab2.ipynb": "two"}), edition, "lab2")
    publish(make_release(tmp_path / "c", {"Lab2.ipynb": "two, again"}), edition, "lab2")
    assert listing(edition) == {"README.md": "the instructor's own note", "Lab1.ipynb": "one",
                                "model.py": "lab1 model", "Lab2.ipynb": "two, again"}
    assert json.loads((edition / MANIFEST).read_text()) == {
        "lab1": ["Lab1.ipynb", "model.py"], "lab2": ["Lab2.ipynb"]}


def test_a_name_another_assignment_released_is_refused_and_nothing_changes(tmp_path, edition):
    publish(make_release(tmp_path / "a", {"Lab1.ipynb": "one", "model.py": "lab1 model"}),
            edition, "lab1")
    before = listing(edition), (edition / MANIFEST).read_text()
    with pytest.raises(PublishRefused, match="model.py belongs to the release of 'lab1'"):
        publish(make_release(tmp_path / "b", {"Lab2.ipynb": "two", "model.py": "lab2 model"}),
                edition, "lab2")
    assert (listing(edition), (edition / MANIFEST).read_text()) == before


def test_a_file_no_release_wrote_is_never_overwritten(tmp_path, edition):
    released = make_release(tmp_path / "a", {"Lab1.ipynb": "one", "README.md": "lab's readme"})
    with pytest.raises(PublishRefused, match="README.md was not written by a release"):
        publish(released, edition, "lab1")
    assert listing(edition) == {"README.md": "the instructor's own note"}
    assert not (edition / MANIFEST).exists()


def test_a_file_that_already_holds_the_released_bytes_is_adopted(tmp_path, edition):
    """A student edition from before the manifest: identical files become this release's."""
    (edition / "Lab1.ipynb").write_text("one")
    publish(make_release(tmp_path / "a", {"Lab1.ipynb": "one"}), edition, "lab1")
    publish(make_release(tmp_path / "b", {"Lab1b.ipynb": "renamed"}), edition, "lab1")
    assert listing(edition) == {"README.md": "the instructor's own note",
                                "Lab1b.ipynb": "renamed"}


def test_a_link_in_the_way_is_replaced_not_written_through(tmp_path, edition):
    outside = tmp_path / "outside.py"
    outside.write_text("not the course's")
    publish(make_release(tmp_path / "a", {"model.py": "v1"}), edition, "lab1")
    (edition / "model.py").unlink()
    (edition / "model.py").symlink_to(outside)
    publish(make_release(tmp_path / "b", {"model.py": "v2"}), edition, "lab1")
    assert outside.read_text() == "not the course's"
    assert not (edition / "model.py").is_symlink()
    assert (edition / "model.py").read_text() == "v2"


@pytest.mark.parametrize("name", ["../outside.txt", "..", "", "sub/file", 7])
def test_a_manifest_naming_more_than_a_file_here_is_refused(tmp_path, edition, name):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    (edition / MANIFEST).write_text(json.dumps({"lab1": [name]}))
    with pytest.raises(ValueError, match="not a release manifest"):
        publish(make_release(tmp_path / "a", {"Lab1.ipynb": "one"}), edition, "lab1")
    assert outside.read_text() == "keep"
