"""What an instructor allows the grade-on-submit service to do (``nbgrader_config.py``).

    c.GradeOnSubmit.assignments = ["initialization"]
    c.GradeOnSubmit.show_score = False        # students see the diagnosis only
    c.GradeOnSubmit.max_per_day = 10          # graded submissions per student, rolling 24 h
    c.GradeOnSubmit.cooldown_seconds = 120    # between two graded submissions of one student
    c.GradeOnSubmit.after_due = "hold"        # late submissions wait for the instructor's batch

The defaults are the safe ones: no assignment is graded until the instructor
names it, students see no score (a score on demand is an oracle for guessing),
and a student's submissions are rationed.
"""

from __future__ import annotations

from traitlets import Bool, Enum, Integer, List, Unicode
from traitlets.config import Configurable

AFTER_DUE = ("hold", "grade")


class GradeOnSubmit(Configurable):
    assignments = List(Unicode(), default_value=[],
                       help="assignments graded on submit; none until named").tag(config=True)
    show_score = Bool(False, help="show points in the feedback, not only the diagnosis"
                      ).tag(config=True)
    max_per_day = Integer(10, min=1, help="graded submissions per student in any 24 hours"
                          ).tag(config=True)
    cooldown_seconds = Integer(120, min=0, help="seconds between two graded submissions "
                               "of one student").tag(config=True)
    after_due = Enum(AFTER_DUE, default_value="hold",
                     help="after the due date: 'hold' leaves submissions to the instructor's "
                          "batch grade, 'grade' grades them too (marked late)").tag(config=True)
