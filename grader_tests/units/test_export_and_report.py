"""The grades CSV and the end-of-batch report, from hand-made results (no grading run)."""

from __future__ import annotations

import csv

from tiny import SPEC

from course_grader.batch import export, report
from course_grader.batch.outcome import GRADED, REPAIRED, StudentResult, failed_before_grading


def graded(student, double, other, diagnoses=(), status=GRADED, notes=()):
    return StudentResult(student, status, "h", score=double + other, max_score=SPEC.max_score,
                         exercises={"double": double, "other": other},
                         diagnoses=list(diagnoses), notes=list(notes))


def failed(student, reason):
    return failed_before_grading(SPEC, student, "h", reason)


CLASS = [graded("cy", 2.0, 0.0, ["transposed", "transposed", "not_zero"]),
         graded("al", 2.0, 3.0),
         graded("bo", 0.0, 0.0, ["transposed"], status=REPAIRED, notes=["pasted twice"]),
         failed("di", "notebook is truncated, line 3"),
         failed("ed", "no notebook in the submission")]


def test_columns_follow_the_assignment():
    assert export.columns(SPEC) == ["student", "double", "other", "total", "max", "status",
                                    "notes"]


def test_a_real_zero_is_written_as_zero():
    row = export.row(CLASS[2], SPEC)
    assert (row["double"], row["other"], row["total"]) == ("0", "0", "0")
    assert row["status"] == REPAIRED and row["notes"] == "pasted twice"


def test_a_failed_submission_has_empty_scores_and_its_reason():
    row = export.row(CLASS[3], SPEC)
    assert (row["double"], row["other"], row["total"]) == ("", "", "")
    assert row["max"] == "5" and row["status"] == "failed: notebook is truncated, line 3"


def test_csv_is_sorted_quoted_and_written_whole(tmp_path):
    path = export.write_csv(CLASS, SPEC, tmp_path / "reports" / "grades.csv")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["student"] for r in rows] == ["al", "bo", "cy", "di", "ed"]
    assert rows[0]["total"] == "5" and rows[3]["status"].endswith("line 3")  # comma kept
    assert [p.name for p in path.parent.iterdir()] == ["grades.csv"]  # no temporary left


def test_table_shows_a_dash_where_nothing_was_graded():
    lines = report.table(CLASS, SPEC).splitlines()
    assert lines[0].split() == ["student", "score", "double", "other", "status"]
    di = next(line for line in lines if line.startswith("di"))
    assert di.split()[:4] == ["di", "-", "-", "-"]
    al = next(line for line in lines if line.startswith("al"))
    assert al.split()[:4] == ["al", "5/5", "2", "3"]


def test_pass_rates_count_full_points_among_graded_students():
    assert report.pass_rates(CLASS, SPEC) == {"double": (2, 3), "other": (1, 3)}


def test_a_mistake_counts_once_per_student():
    assert report.common_mistakes(CLASS) == [("transposed", 2), ("not_zero", 1)]
    assert report.common_mistakes(CLASS, top=1) == [("transposed", 2)]


def test_summary_groups_failure_reasons_into_one_status():
    text = report.summary(CLASS, SPEC)
    assert "Status counts: failed 2, graded 2, repaired 1" in text
    assert "double   2/3  67%" in text
    assert "transposed" in text


def test_summary_of_a_class_with_nobody_graded():
    text = report.summary([failed("di", "x")], SPEC)
    assert "double   0/0  -" in text and "  none" in text


def test_score_plot_is_a_png(tmp_path):
    path = report.plot_scores(CLASS, SPEC, tmp_path / "plot" / "scores.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
