"""Preflight's repairs, one at a time, on a four-cell notebook (no nbgrader run).

Each test damages a copy of the tiny release the way a student's notebook
arrives damaged, and checks both the repaired working copy and the finding
the instructor will read.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from tiny import TEST_SOURCE, copy_of, ids, release, write_json

from course_grader.batch.preflight import Preflight, Repairer, preflight, submission_hash
from course_grader.cells import nbgrader_meta

RELEASE_IDS = [None, "setup", "double_answer", "double_test"]


def repaired(nb):
    report = Preflight("s", "hash")
    Repairer(release(), report).run(nb)
    return report


def kinds(report) -> list[str]:
    return [f.kind for f in report.findings]


def test_untouched_copy_needs_no_repair():
    nb = copy_of(release())
    nb.cells[2].source = "def double(x):\n    return 2 * x"
    report = repaired(nb)
    assert report.findings == [] and not report.repaired
    assert ids(nb) == RELEASE_IDS
    assert nb.cells[2].source.endswith("return 2 * x")  # the answer is the student's


def test_duplicated_answer_grades_the_last_copy():
    nb = copy_of(release())
    first = copy_of(nb.cells[2])
    first.source, first["id"] = "def double(x):\n    return 0", "first-try"
    nb.cells[2].source = "def double(x):\n    return 2 * x"
    nb.cells.insert(2, first)
    report = repaired(nb)
    assert kinds(report) == ["duplicate_cell"] and report.repaired
    assert ids(nb) == [None, "setup", None, "double_answer", "double_test"]
    assert nbgrader_meta(nb.cells[2]) == {}
    assert nb.cells[3].source.endswith("return 2 * x")


def test_deleted_test_cell_is_put_back_after_its_answer():
    nb = copy_of(release())
    del nb.cells[3]
    report = repaired(nb)
    assert kinds(report) == ["deleted_cell"]
    assert "test cell 'double_test'" in report.findings[0].message
    assert ids(nb) == RELEASE_IDS
    assert nb.cells[3].source == TEST_SOURCE
    assert len({c["id"] for c in nb.cells}) == 4  # the restored cell has an id of its own


def test_deleted_first_graded_cell_goes_back_to_the_top():
    nb = copy_of(release())
    del nb.cells[1]
    report = repaired(nb)
    assert kinds(report) == ["deleted_cell"]
    assert ids(nb) == ["setup", None, "double_answer", "double_test"]


def test_stripped_metadata_is_found_by_the_cells_first_line():
    nb = copy_of(release())
    del nb.cells[3].metadata["nbgrader"]
    report = repaired(nb)
    assert kinds(report) == ["metadata_stripped"]
    assert ids(nb) == RELEASE_IDS and len(nb.cells) == 4
    assert nbgrader_meta(nb.cells[3])["points"] == 2


@pytest.mark.parametrize("key, value", [("points", 200), ("grade", False), ("locked", False)])
def test_altered_metadata_is_restored_from_the_release(key, value):
    nb = copy_of(release())
    nb.cells[3].metadata.nbgrader[key] = value
    report = repaired(nb)
    assert kinds(report) == ["metadata_altered"] and key in report.findings[0].message
    assert nbgrader_meta(nb.cells[3]) == nbgrader_meta(release().cells[3])


def test_edited_test_cell_gets_the_release_source_but_an_answer_keeps_its_own():
    nb = copy_of(release())
    nb.cells[3].source = "pass  # all tests passed"
    nb.cells[2].source = "def double(x):\n    return x + x"
    report = repaired(nb)
    assert kinds(report) == ["locked_edited"]
    assert nb.cells[3].source == TEST_SOURCE
    assert nb.cells[2].source == "def double(x):\n    return x + x"


def test_edited_setup_cell_is_restored():
    nb = copy_of(release())
    nb.cells[1].source = "import math\nimport os; os.system('true')"
    assert kinds(repaired(nb)) == ["locked_edited"]
    assert nb.cells[1].source == "import math"


def test_test_cell_turned_into_markdown_is_code_again():
    nb = copy_of(release())
    cell = nb.cells[3]
    cell.cell_type = "markdown"
    del cell["outputs"], cell["execution_count"]
    report = repaired(nb)
    assert "metadata_altered" in kinds(report)
    assert nb.cells[3].cell_type == "code" and nb.cells[3].outputs == []
    assert nb.cells[3].source == TEST_SOURCE


@pytest.mark.parametrize("meta", [{"grade": "yes", "grade_id": "double_test"},
                                  {"points": "2", "grade": True, "grade_id": "double_test"},
                                  ["double_test"], "double_test"])
def test_malformed_metadata_is_dropped_and_the_release_restored(meta):
    nb = copy_of(release())
    nb.cells[3].metadata["nbgrader"] = meta
    report = repaired(nb)
    assert kinds(report)[0] == "metadata_malformed" and report.findings[0].repaired
    assert nbgrader_meta(nb.cells[3]) == nbgrader_meta(release().cells[3])


def test_metadata_that_grades_nothing_is_an_ordinary_cell_without_a_finding():
    nb = copy_of(release())
    nb.cells[0].metadata["nbgrader"] = {"grade": False, "solution": False, "locked": False}
    assert repaired(nb).findings == []
    assert "nbgrader" not in nb.cells[0].metadata


def test_unknown_grade_id_is_graded_as_an_ordinary_cell():
    nb = copy_of(release())
    extra = copy_of(nb.cells[3])
    extra.metadata.nbgrader["grade_id"] = "free_points"
    extra.source, extra["id"] = "pass", "extra"
    nb.cells.append(extra)
    report = repaired(nb)
    assert kinds(report) == ["unknown_cell"] and "free_points" in report.findings[0].message
    assert ids(nb) == RELEASE_IDS + [None]


@pytest.mark.parametrize("respelled", ["double_answer ", " double_answer", "double_answer\n"])
def test_a_blank_in_the_answers_grade_id_grades_the_students_code(respelled):
    nb = copy_of(release())
    nb.cells[2].source = "def double(x):\n    return 2 * x"
    nb.cells[2].metadata.nbgrader["grade_id"] = respelled
    report = repaired(nb)
    assert kinds(report) == ["metadata_altered"] and report.repaired
    assert ids(nb) == RELEASE_IDS  # not the release's stub inserted beside it
    assert nb.cells[2].source.endswith("return 2 * x")


def test_duplicated_cell_ids_are_renumbered():
    nb = copy_of(release())
    nb.cells[0]["id"] = nb.cells[1]["id"] = "same"
    report = repaired(nb)
    assert kinds(report) == ["cell_ids"]
    assert len({c["id"] for c in nb.cells}) == 4


# -- the submission folder ------------------------------------------------------------------

def submit(tmp_path, files: dict):
    folder = tmp_path / "course" / "submitted" / "s" / "doubling"
    folder.mkdir(parents=True)
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


def run(tmp_path):
    return preflight(tmp_path / "course", "s", release(), tmp_path / "work", "doubling",
                     "Doubling")


def notebook_text(nb=None) -> str:
    return nbformat.writes(nb or copy_of(release()))


def test_a_good_submission_is_copied_and_left_alone(tmp_path):
    folder = submit(tmp_path, {"Doubling.ipynb": notebook_text()})
    before = submission_hash(folder)
    report = run(tmp_path)
    assert report.failure is None and report.findings == []
    assert (tmp_path / "work" / "s" / "doubling" / "Doubling.ipynb").exists()
    assert submission_hash(folder) == before == report.content_hash


def test_the_hash_changes_with_any_byte(tmp_path):
    folder = submit(tmp_path, {"Doubling.ipynb": notebook_text()})
    before = submission_hash(folder)
    (folder / "notes.txt").write_text("x")
    assert submission_hash(folder) != before
    assert submission_hash(tmp_path / "nowhere") == "missing"


@pytest.mark.parametrize("content, says", [
    (notebook_text()[:-40], "is truncated"),
    ("{" + notebook_text(), "is not valid JSON"),
    (b"\xff\xfe\x00binary", "is not a text file"),
    (json.dumps({"cells": "none"}), "JSON but not a Jupyter notebook"),
    (json.dumps({"cells": [{"cell_type": "picture"}]}), "cell 0 is not a notebook cell"),
])
def test_unreadable_notebooks_fail_with_the_reason(tmp_path, content, says):
    submit(tmp_path, {"Doubling.ipynb": content})
    report = run(tmp_path)
    assert report.failure and says in report.failure
    assert not (tmp_path / "work" / "s" / "doubling").exists()


def test_a_renamed_notebook_is_graded_under_the_assignments_name(tmp_path):
    submit(tmp_path, {"Doubling (1).ipynb": notebook_text(), "scratch.ipynb":
                      nbformat.writes(nbformat.v4.new_notebook())})
    report = run(tmp_path)
    assert report.failure is None
    assert kinds(report) == ["renamed", "extra_notebooks"]
    graded = nbformat.read(tmp_path / "work" / "s" / "doubling" / "Doubling.ipynb", 4)
    assert ids(graded) == RELEASE_IDS


def test_two_candidate_notebooks_are_not_guessed_between(tmp_path):
    submit(tmp_path, {"a.ipynb": notebook_text(), "b.ipynb": notebook_text()})
    report = run(tmp_path)
    assert report.failure and "no single other notebook" in report.failure


def test_no_folder_and_no_notebook_are_failures(tmp_path):
    assert "no doubling/ folder" in run(tmp_path).failure
    submit(tmp_path, {"answers.txt": "2x"})
    assert "no notebook in the submission" in run(tmp_path).failure


def test_a_link_refuses_the_submission_without_following_it(tmp_path):
    folder = submit(tmp_path, {"Doubling.ipynb": notebook_text()})
    secret = write_json(tmp_path / "secret.json", {"answer": 42})
    (folder / "peek.json").symlink_to(secret)
    report = run(tmp_path)
    assert report.failure and "'peek.json' is a symbolic link" in report.failure
    assert report.content_hash.startswith("refused-")
    assert not (tmp_path / "work" / "s" / "doubling").exists()


def test_an_answer_leaning_on_a_name_from_another_cell_is_named(tmp_path):
    nb = copy_of(release())
    nb.cells[2].source = "def double(x):\n    return FACTOR * x"
    submit(tmp_path, {"Doubling.ipynb": notebook_text(nb)})
    report = run(tmp_path)
    notes = [f.message for f in report.findings if f.kind == "outside_names"]
    assert len(notes) == 1 and "double uses FACTOR" in notes[0]
    assert not report.repaired  # a warning for the student, not a repair

