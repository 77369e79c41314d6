"""The terminal tables of the demo and the class grader."""

from __future__ import annotations

from course_grader.assignments.initialization import MAX_SCORE
from course_grader.table import format_table, score_fraction


def test_totals_read_as_the_readme_shows_them():
    # MAX_SCORE is a float sum of points: it must still print as 30, not 30.0
    assert isinstance(MAX_SCORE, float)
    assert score_fraction(30.0, MAX_SCORE) == "30/30"
    assert score_fraction(12.5, MAX_SCORE) == "12.5/30"
    assert score_fraction(0, MAX_SCORE) == "0/30"


def test_table_columns_line_up():
    text = format_table([{"student": "ada", "total": score_fraction(30.0, 30.0)},
                         {"student": "bartholomew", "total": "4/30"}], ["student", "total"])
    lines = text.splitlines()
    assert lines[2].index("30/30") == lines[3].index("4/30") == len("bartholomew") + 2
