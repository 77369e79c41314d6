"""The master notebook, the release, the student edition and the real autograder."""

from __future__ import annotations

import csv
import json
import re

import nbformat
import pytest

from course_grader.assignments.initialization import EXERCISES, MAX_SCORE
from course_grader.cli import make_course_copy, release
from course_grader.gradebook import sqlite_url
from course_grader.nbgrader_run import nbgrader
from course_grader.student_edition import MANIFEST, read_manifest, released_names
from course_paths import ASSIGNMENT, ROOT, SOURCE_NB, cells_by_grade_id, exercise_points

SECRET_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "course_grader",
                  "hidden_checks", "np.zeros((layers_dims[l], layers_dims[l - 1]))")

pytestmark = pytest.mark.notebook


def test_source_notebook_is_committed_without_outputs():
    nb = nbformat.read(SOURCE_NB, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_points_sit_on_the_test_cells_each_record_names():
    cells = cells_by_grade_id(nbformat.read(SOURCE_NB, as_version=4))
    total = 0
    for record in EXERCISES.values():
        assert len(record.checks) >= 2
        assert f"def {record.function}(layers_dims)" in cells[record.answer_cell].source
        for check in record.checks:
            meta = cells[check.grade_id].metadata["nbgrader"]
            assert meta["grade"] and meta["locked"] and not meta["solution"]
            assert meta["points"] == check.points
            assert "### BEGIN HIDDEN TESTS" in cells[check.grade_id].source
            total += meta["points"]
    assert total == MAX_SCORE


def test_source_notebook_runs_with_every_check_passing(executed_source_notebook):
    nb = executed_source_notebook
    errors = [(i, o.ename, o.evalue) for i, cell in enumerate(nb.cells)
              if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert errors == []
    stderr = [o.text for cell in nb.cells if cell.cell_type == "code"
              for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert stderr == []
    graded = cells_by_grade_id(nb)
    for record in EXERCISES.values():
        for check in record.checks:
            text = "".join(o.get("text", "") for o in graded[check.grade_id].outputs)
            assert "Visible checks passed" in text and "more checks run at grading" in text


def test_training_output_and_conclusions(executed_source_notebook):
    nb = executed_source_notebook
    text = "\n".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                     for o in cell.outputs if o.output_type == "stream")
    assert text.count("Cost after iteration 0:") >= 3
    assert "Cost after iteration 0: inf" in text
    # the last digits depend on the machine's BLAS (...366 here, ...363 elsewhere)
    last = re.findall(r"Cost after iteration 14000: (\S+)", text)
    assert any(float(c) == pytest.approx(0.07357895962677366, rel=1e-9) for c in last), last
    for accuracy in ("Accuracy: 0.5", "Accuracy: 0.83", "Accuracy: 0.86",
                     "Accuracy: 0.9933333333333333", "Accuracy: 0.96"):
        assert accuracy in text
    images = sum("image/png" in o.get("data", {}) for cell in nb.cells
                 if cell.cell_type == "code" for o in cell.outputs)
    assert images >= 4  # data set, and one figure (cost + boundary) per run
    tables = [o["data"]["text/markdown"] for cell in nb.cells if cell.cell_type == "code"
              for o in cell.outputs if "text/markdown" in o.get("data", {})]
    table = next(t for t in tables if "| initialization |" in t)
    assert re.search(r"\| zeros \| 50\.0% \| 50\.0% \|", table)
    assert re.search(r"\| large random \| 83\.0% \| 86\.0% \|", table)
    assert re.search(r"\| He \| 99\.3% \| 96\.0% \|", table)


@pytest.fixture(scope="module")
def released_course(tmp_path_factory):
    course = make_course_copy(tmp_path_factory.mktemp("release") / "course")
    release(course, publish=False)
    return course


def test_release_contains_no_solutions_or_hidden_tests(released_course):
    released = released_course / "release" / ASSIGNMENT
    for path in released.rglob("*"):
        if path.is_file():
            text = path.read_text()
            for marker in SECRET_MARKERS:
                assert marker not in text, f"{marker!r} leaked into {path.name}"
    names = sorted(p.name for p in released.iterdir())
    shipped = sorted(p.name for p in (ROOT / "source" / ASSIGNMENT).iterdir()
                     if p.suffix in (".py", ".ipynb", ".json"))
    assert names == shipped and "model.py" in names and "self_check.py" in names
    assert "visible_mistakes.json" in names  # the visible checks name mistakes from it
    assert not any(name.startswith("course_grader") for name in names)


def test_release_fails_every_graded_test(released_course):
    notebook = released_course / "release" / ASSIGNMENT / "Initialization.ipynb"
    result = nbgrader(released_course, "validate", "--invert", str(notebook),
                      check=False, quiet=True)
    output = result.stdout + result.stderr
    assert "NOTEBOOK PASSED ON" not in output, output
    assert "Success! The notebook does not pass any tests." in output, output


def test_student_edition_is_exactly_the_release(released_course):
    released = released_course / "release" / ASSIGNMENT
    edition = ROOT / "notebooks"
    skip = {"__pycache__", ".ipynb_checkpoints", MANIFEST}
    names = released_names(released)
    assert sorted(p.name for p in edition.iterdir() if p.name not in skip) == names, \
        "notebooks/ is stale: run `python3 tasks.py release` and commit the result"
    assert read_manifest(edition) == {ASSIGNMENT: names}, \
        f"notebooks/{MANIFEST} is stale: run `python3 tasks.py release` and commit the result"
    for name in names:
        # real files: a downloaded zip or a checkout without symlinks keeps them
        assert not (edition / name).is_symlink(), f"notebooks/{name} is a link"
        assert (edition / name).read_bytes() == (released / name).read_bytes(), (
            f"notebooks/{name} is stale: run `python3 tasks.py release` and commit the result")


def test_release_replaces_only_what_its_last_release_wrote(tmp_path):
    """``release`` publishes into the course's own notebooks/: a file put there by hand
    stays, a file the last release wrote and this one does not is removed."""
    course = make_course_copy(tmp_path / "course")
    edition = course / "notebooks"
    edition.mkdir()
    (edition / "syllabus.md").write_text("put here by hand")
    (edition / "old_helper.py").write_text("shipped by the last release")
    (edition / MANIFEST).write_text(json.dumps({ASSIGNMENT: ["old_helper.py"]}))
    released = release(course)
    names = released_names(released)
    assert sorted(p.name for p in edition.iterdir()) == sorted([*names, "syllabus.md",
                                                                MANIFEST])
    assert read_manifest(edition) == {ASSIGNMENT: names}
    assert (edition / "syllabus.md").read_text() == "put here by hand"


def test_autograde_gives_each_sample_student_the_expected_points(graded_sample_class):
    course, submissions = graded_sample_class
    db_url = sqlite_url(course / "gradebook.db")
    table = {sub.student: exercise_points(db_url, sub.student) for sub in submissions}
    expected = {sub.student: {k: float(v) for k, v in sub.expected.items()}
                for sub in submissions}
    assert table == expected
    assert len(submissions) >= 12


def test_export_lists_every_sample_student(graded_sample_class):
    course, submissions = graded_sample_class
    nbgrader(course, "export", quiet=True)
    with open(course / "grades.csv") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    for sub in submissions:
        assert float(rows[sub.student]["raw_score"]) == sum(sub.expected.values())


def test_feedback_shows_diagnosis_but_no_hidden_checks(graded_sample_class):
    course, _ = graded_sample_class
    page = (course / "feedback" / "nora_hard_coded" / ASSIGNMENT /
            "Initialization.html").read_text()
    assert "hard-coded to the example" in page
    for marker in ("BEGIN HIDDEN TESTS", "course_grader", "hidden_checks", "GRADING_DIMS",
                   "reference.py", "exercises.py", "4, 7, 3, 5, 1", "100, 1000"):
        assert marker not in page, marker
    page = (course / "feedback" / "dan_xavier" / ASSIGNMENT / "Initialization.html").read_text()
    # test cells show the trusted verdict only: the diagnosis in one line
    assert "GradingCheckFailed: The weights use Xavier" in page.replace("&#39;", "'")
