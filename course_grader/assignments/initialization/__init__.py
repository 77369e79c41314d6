"""The Initialization assignment's grading, with each graded exercise as one record.

    record.py     what an exercise is: function, test cells and points, rule, mistakes
    exercises.py  the records of this notebook: zeros, large random, He
    reference.py  the seed-3 reference initializer every check and test draws from
    diagnosis.py  the student's weights against the reference and the typical mistakes
    visible.py    the keys-and-shapes check, taken from the students' self_check.py
    checks.py     the hidden checks: one verdict per exercise and test cell
    declaration.py  the records as the verdict's declaration (``DECLARATION`` below)
"""

from __future__ import annotations

from .exercises import EXERCISES

MAX_SCORE = sum(exercise.points for exercise in EXERCISES.values())

__all__ = ["DECLARATION", "EXERCISES", "MAX_SCORE"]


def __getattr__(name: str):
    # DECLARATION is made from EXERCISES each time the registry asks for it, so the
    # records stay the one source: a record added to them is graded at once
    if name == "DECLARATION":
        from .declaration import declaration

        return declaration(EXERCISES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
