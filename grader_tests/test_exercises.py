"""The exercises as records: they agree with the notebook's examples, and a new one is
graded from its record alone.

Adding a graded exercise should take its notebook cells, one record and its
sample submissions.  The last tests prove it on a copy of the course whose
optional Xavier exercise is promoted to a graded one, without touching a file
of the grader.
"""

from __future__ import annotations

import re
import shutil

import nbformat
import numpy as np
import pytest

import self_check
from course_grader.initialization import EXERCISES
from course_grader.initialization.exercises import drawing_mistakes, graded
from course_grader.initialization.record import Exercise, Mistake
from course_grader.initialization.reference import Weights, he_scale, xavier_scale
from course_grader.sample_class import CORRECT, correct, mistaken
from course_grader.verdict.child import ChildOptions, GraderBroken
from course_grader.verdict.grading import GradingSetup, default_uid, grade_answers
from course_paths import SOURCE_DIR

UNSANDBOXED = ChildOptions(sandboxed=False, uid=None, exercise_seconds=20)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_the_visible_example_is_the_records_example(name):
    """self_check.py ships to students and cannot import the records: its table of the
    notebook's examples must say what the records say."""
    record, example = EXERCISES[name], self_check.EXAMPLES[name]
    assert tuple(example["dims"]) == record.example_dims
    reference = record.reference(list(record.example_dims))
    shown = sorted(key for key in example if key.startswith("W"))
    if not record.weights.random:
        assert shown == []  # the visible check then wants every value to be 0
        return
    assert shown == [f"W{l}" for l in range(1, len(record.example_dims))]
    for key in shown:
        np.testing.assert_allclose(example[key], reference[key], atol=1e-7)


# -- a fourth graded exercise ------------------------------------------------------------

XAVIER_WEIGHTS = Weights(xavier_scale)
# the one record the new exercise needs
XAVIER = Exercise(
    name="xavier", function="initialize_parameters_xavier", checks=graded("xavier"),
    weights=XAVIER_WEIGHTS, recipe="randn(...) * sqrt(1 / n[l-1])", example_dims=(2, 4, 1),
    mistakes=drawing_mistakes(XAVIER_WEIGHTS) + (
        Mistake("he_scale", Weights(he_scale),
                "The weights use He's scale sqrt(2 / n[l-1]); Xavier's scale has a 1 in the "
                "numerator: sqrt(1 / n[l-1])."),
    ))
WITH_XAVIER = {**EXERCISES, "xavier": XAVIER}

# its sample submissions
XAVIER_ANSWER = '''
def initialize_parameters_xavier(layers_dims):
    np.random.seed(3)
    parameters = {}
    for l in range(1, len(layers_dims)):
        scale = np.sqrt(1 / layers_dims[l - 1])
        parameters["W" + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * scale
        parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
    return parameters
'''
ANSWERS = {**CORRECT, "xavier": XAVIER_ANSWER}
RIGHT = correct("xia_correct", "correct, Xavier included", exercises=WITH_XAVIER, base=ANSWERS)
HE_FOR_XAVIER = mistaken("yuri_he_for_xavier", "He's scale in the Xavier exercise", "xavier",
                         XAVIER_ANSWER.replace("np.sqrt(1 /", "np.sqrt(2 /"), "he_scale",
                         ("structure",), exercises=WITH_XAVIER, base=ANSWERS)
TRANSPOSED = mistaken("zoe_transposed", "Xavier weights transposed", "xavier",
                      XAVIER_ANSWER.replace("randn(layers_dims[l], layers_dims[l - 1])",
                                            "randn(layers_dims[l - 1], layers_dims[l])"),
                      "transposed", exercises=WITH_XAVIER, base=ANSWERS)


def _graded_cell(grade_id: str, points: float, call: str):
    cell = nbformat.v4.new_code_cell(
        f"{call}\n### BEGIN HIDDEN TESTS\n# scored outside the student's kernel\n"
        "### END HIDDEN TESTS")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": True,
                                 "points": points, "schema_version": 3, "solution": False,
                                 "task": False}
    return cell


@pytest.fixture(scope="module")
def course_with_xavier(tmp_path_factory):
    """The source folder, copied, with two graded test cells after the Xavier answer."""
    source = tmp_path_factory.mktemp("fourth") / "source" / "initialization"
    shutil.copytree(SOURCE_DIR, source,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    path = source / "Initialization.ipynb"
    nb = nbformat.read(path, as_version=4)
    answer = next(i for i, cell in enumerate(nb.cells)
                  if cell.metadata.get("nbgrader", {}).get("grade_id") == XAVIER.answer_cell)
    for offset, check in enumerate(XAVIER.checks, start=1):
        call = f"self_check.{check.grade_id}({XAVIER.function})"
        nb.cells.insert(answer + offset, _graded_cell(check.grade_id, check.points, call))
    nbformat.write(nb, path)
    return source


def per_exercise(setup, verdicts):
    points, codes, messages = {}, {}, {}
    for grade_id, (verdict, awarded) in verdicts.items():
        exercise = setup.tests[grade_id][0]
        points[exercise] = points.get(exercise, 0.0) + awarded
        if not verdict.passed:
            codes[exercise] = verdict.code
            messages[exercise] = verdict.message
    return points, codes, messages


def test_without_its_record_the_new_test_cells_are_refused(course_with_xavier):
    with pytest.raises(GraderBroken, match="xavier_structure"):
        GradingSetup.from_source(course_with_xavier, "Initialization")


@pytest.mark.parametrize("sub", [RIGHT, HE_FOR_XAVIER, TRANSPOSED], ids=lambda s: s.student)
def test_a_fourth_exercise_is_graded_from_its_record(course_with_xavier, sub):
    setup = GradingSetup.from_source(course_with_xavier, "Initialization", WITH_XAVIER)
    assert {gid for gid, (name, _, _) in setup.tests.items() if name == "xavier"} == \
        {"xavier_structure", "xavier_values"}
    points, codes, messages = per_exercise(setup, grade_answers(setup, sub.answers,
                                                                UNSANDBOXED))
    assert points == sub.expected, codes
    assert sum(points.values()) == sum(sub.expected.values())
    assert codes == sub.diagnoses
    if sub is HE_FOR_XAVIER:
        assert messages["xavier"] == XAVIER.mistakes[-1].message


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing")
def test_a_fourth_exercise_is_graded_in_the_sandbox_too(course_with_xavier):
    setup = GradingSetup.from_source(course_with_xavier, "Initialization", WITH_XAVIER)
    options = ChildOptions(sandboxed=True, uid=default_uid())
    points, codes, _ = per_exercise(setup, grade_answers(setup, HE_FOR_XAVIER.answers, options))
    assert points == HE_FOR_XAVIER.expected and codes == {"xavier": "he_scale"}


def test_the_new_exercise_has_its_visible_checks(capsys):
    """The notebook's new test cells call self_check.xavier_structure and xavier_values:
    self_check.py names a structure and a values check after every example it holds."""
    namespace = {"np": np}
    exec(HE_FOR_XAVIER.answers["xavier"], namespace)  # noqa: S102 - our own sample
    wrong = namespace["initialize_parameters_xavier"]
    exec(XAVIER_ANSWER, namespace)  # noqa: S102
    right = namespace["initialize_parameters_xavier"]
    for check in XAVIER.checks:
        getattr(self_check, check.grade_id)(right)
    assert capsys.readouterr().out.count("Visible checks passed") == len(XAVIER.checks)
    self_check.xavier_structure(wrong)
    with pytest.raises(self_check.CheckFailed, match=re.escape("1.414 times the expected")):
        self_check.xavier_values(wrong)
