"""The instructor's path: the formgrader in JupyterLab after the demo graded a class.

The demo (``python -m course_grader demo``) builds a course copy in a
temporary folder, autogrades the sample class and exports grades.csv; a
JupyterLab with nbgrader's formgrader then serves that folder, and what the
formgrader shows is compared with the demo's printed table and the CSV.
"""

from __future__ import annotations

import csv
import json
import re

import pytest
from playwright.sync_api import expect

from course_grader.assignments.initialization import MAX_SCORE
from course_grader.cells import is_grade, nbgrader_meta

from .course_files import ASSIGNMENT, ROOT
from .labpage import hide_side_panel, menu
from .labserver import running_lab

pytestmark = pytest.mark.browser

DEMO_TIMEOUT = 900  # s: the demo autogrades the whole sample class


def master_points() -> float:
    """Points of the assignment, summed from the master notebook's graded cells."""
    notebook = ROOT / "source" / ASSIGNMENT / "Initialization.ipynb"
    cells = json.loads(notebook.read_text())["cells"]
    return float(sum(nbgrader_meta(cell).get("points", 0) or 0 for cell in cells
                     if is_grade(cell)))


def parse_demo_table(stdout: str) -> dict[str, tuple[float, float]]:
    """student -> (total, max) from the table the demo prints at its end."""
    lines = stdout.splitlines()
    # the last table: the batch grader prints its own report table before it
    headers = [n for n, line in enumerate(lines) if re.match(r"student\s+", line)]
    header = headers[-1] if headers else None
    assert header is not None, f"the demo printed no table:\n{stdout}"
    assert set(lines[header + 1]) <= {"-", " "}, lines[header + 1]
    totals = {}
    for line in lines[header + 2:]:
        if not line.strip():
            break
        student, total = line.split()[0], line.split()[-1]
        got, _, out_of = total.partition("/")
        totals[student] = (float(got), float(out_of))
    return totals


def read_grades_csv(path) -> dict[str, tuple[float, float]]:
    with open(path, newline="") as handle:
        return {row["student_id"]: (float(row["score"]), float(row["max_score"]))
                for row in csv.DictReader(handle) if row["assignment"] == ASSIGNMENT}


@pytest.fixture(scope="module")
def graded_course(graded_demo):
    """A course copy with the sample class autograded by the demo, and its numbers."""
    if graded_demo is None:
        pytest.skip("the demo was not started (see conftest.graded_demo)")
    code, stdout, stderr = graded_demo.result(timeout=DEMO_TIMEOUT)
    assert code == 0, f"the demo failed:\n{stdout}\n{stderr}"
    course = graded_demo.course
    table = parse_demo_table(stdout)
    grades = read_grades_csv(course / "grades.csv")
    assert table, "the demo's table has no students"
    assert table == grades, ("the demo's table and grades.csv disagree:\n"
                             f"table {table}\ncsv   {grades}")
    return course, grades


@pytest.fixture(scope="module")
def instructor_lab(chromium_context, graded_course, tmp_path_factory):
    course, _ = graded_course
    with running_lab(course, tmp_path_factory.mktemp("instructor-server"),
                     instructor=True) as server:
        yield server


def open_formgrader(page, server):
    """Open the formgrader from JupyterLab's Nbgrader menu; return its frame."""
    page.goto(server.url("lab?reset"))
    hide_side_panel(page)
    menu(page, "Nbgrader", "Formgrader")
    frame = page.frame_locator(".jp-MainAreaWidget:visible iframe")
    expect(frame.locator(".col-md-8 .page-header h1")).to_contain_text("Manage Assignments")
    return frame


def assignment_row(frame):
    rows = frame.locator("#main-table tr")
    row = rows.filter(has=frame.locator("td.name", has_text=re.compile(
        f"^\\s*{ASSIGNMENT}\\s*$")))
    expect(row).to_have_count(1)
    return row


def score_pair(text: str) -> tuple[float, float]:
    match = re.fullmatch(r"\s*([0-9.]+) / ([0-9.]+)\s*", text)
    assert match, f"not a 'score / max' cell: {text!r}"
    return float(match.group(1)), float(match.group(2))


def test_formgrader_lists_the_assignment_with_its_point_total(instructor_lab, graded_course,
                                                             page, shoot):
    _, grades = graded_course
    frame = open_formgrader(page, instructor_lab)
    row = assignment_row(frame)
    expect(row.locator("td.num-submissions")).to_have_text(str(len(grades)))
    shoot(page, "instructor-01-manage-assignments")

    frame.locator("a", has_text=re.compile(r"^Manual Grading$")).click()
    expect(frame.locator(".col-md-8 .page-header h1")).to_contain_text("Manual Grading")
    row = assignment_row(frame)
    average, total = score_pair(row.locator("td.score").inner_text())
    assert total == master_points() == MAX_SCORE, (
        f"the formgrader shows {total} points; the master notebook's graded cells "
        f"sum to {master_points()}")
    expected_average = sum(score for score, _ in grades.values()) / len(grades)
    assert average == pytest.approx(expected_average, abs=0.005)
    expect(row.locator("td.num-submissions")).to_have_text(str(len(grades)))
    shoot(page, "instructor-02-gradebook-point-total")


def test_formgrader_submissions_match_the_grading_table(instructor_lab, graded_course,
                                                       page, shoot):
    _, grades = graded_course
    frame = open_formgrader(page, instructor_lab)
    assignment_row(frame).locator("td.num-submissions a").click()
    expect(frame.locator(".col-md-8 .page-header h1")).to_contain_text("Manage Submissions")
    rows = frame.locator("#main-table tr")
    expect(rows).to_have_count(len(grades))
    shown = {}
    for n in range(rows.count()):
        row = rows.nth(n)
        student = row.locator("td.student-id").inner_text().strip()
        expect(row.locator("td.status")).to_contain_text("graded")
        shown[student] = score_pair(row.locator("td.score").inner_text())
    assert shown == grades, f"formgrader {shown}\ngrades.csv {grades}"
    # the numbers differ between students: the sample class is not all one score
    assert len({score for score, _ in shown.values()}) > 1
    shoot(page, "instructor-03-submissions", full_page=False)

    # one student with partial credit, through the link on their name
    partial = sorted(student for student, (score, out_of) in grades.items()
                     if 0 < score < out_of)
    assert partial, "the sample class should have a student with partial credit"
    student = partial[0]
    rows.filter(has=frame.locator("td.student-id", has_text=re.compile(
        f"^{re.escape(student)}$"))).locator("td.student-name a").click()
    expect(frame.locator(".breadcrumb")).to_contain_text(student)
    notebooks = frame.locator("#main-table tr")
    expect(notebooks).to_have_count(1)
    expect(notebooks.locator("td.name")).to_contain_text("Initialization")
    assert score_pair(notebooks.locator("td.score").inner_text()) == grades[student]
    shoot(page, "instructor-04-one-student")
