"""The trusted verdict: the sample class, graded by a real grading child, and its pieces.

``grade_answers`` runs the student's answer cells in a grading child (its setup
cell run once, each submission in forks of it) and scores what comes back in this
process.  The sample class must get exactly
its expected points and diagnoses, with and without the sandbox.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import self_check
from course_grader.assignments.initialization import EXERCISES, checks
from course_grader.assignments.initialization.sample_class import sample_class
from course_grader.verdict.child import ChildOptions
from course_grader.verdict.grading import GradingSetup, default_uid, grade_answers
from course_grader.verdict.intake import CallResult, ExerciseResult
from course_paths import ROOT

SUBMISSIONS = {sub.student: sub for sub in sample_class()}
SETUP = GradingSetup.from_course(ROOT, "initialization", "Initialization")
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap missing: apt-get install bubblewrap")

UNSANDBOXED = ChildOptions(sandboxed=False, uid=None, exercise_seconds=20)


def per_exercise(verdicts):
    points, codes = {}, {}
    for grade_id, (verdict, awarded) in verdicts.items():
        exercise = SETUP.tests[grade_id][0]
        points[exercise] = points.get(exercise, 0.0) + awarded
        if not verdict.passed:
            codes.setdefault(exercise, []).append(verdict.code)
    return points, codes


@pytest.mark.parametrize("student", sorted(SUBMISSIONS))
def test_sample_class_gets_its_points_and_diagnoses(student):
    sub = SUBMISSIONS[student]
    points, codes = per_exercise(grade_answers(SETUP, sub.answers, UNSANDBOXED))
    assert points == {ex: float(p) for ex, p in sub.expected.items()}, codes
    for exercise, code in sub.diagnoses.items():
        assert codes[exercise][-1] == code, codes


@needs_bwrap
@pytest.mark.sandbox
def test_sandboxed_child_gives_the_same_verdicts():
    options = ChildOptions(sandboxed=True, uid=default_uid())
    for student in ("ada_correct", "dan_xavier", "jade_no_seed"):
        sub = SUBMISSIONS[student]
        points, _ = per_exercise(grade_answers(SETUP, sub.answers, options))
        assert points == {ex: float(p) for ex, p in sub.expected.items()}, student


def test_unimplemented_release_scores_zero_with_a_clear_message():
    stub = ("def initialize_parameters_he(layers_dims):\n"
            "    # YOUR CODE HERE\n    raise NotImplementedError()\n")
    verdicts = grade_answers(SETUP, {"he": stub}, UNSANDBOXED)
    verdict, points = verdicts["he_values"]
    assert points == 0 and verdict.code == "not_implemented"
    assert "initialize_parameters_he is not implemented yet" in verdict.message


def test_helper_from_another_cell_is_named():
    code = ("def initialize_parameters_zeros(layers_dims):\n"
            "    return make_zeros(layers_dims)\n")
    verdict, points = grade_answers(SETUP, {"zeros": code}, UNSANDBOXED)["zeros_structure"]
    assert points == 0 and verdict.code == "raised"
    assert "make_zeros" in verdict.message and "self-contained" in verdict.message


def test_input_list_must_not_be_modified():
    code = ("def initialize_parameters_zeros(layers_dims):\n"
            "    layers_dims.append(1)\n    return {}\n")
    verdict, _ = grade_answers(SETUP, {"zeros": code}, UNSANDBOXED)["zeros_structure"]
    assert verdict.code == "input_modified"


def test_one_exercise_looping_forever_does_not_cost_the_others():
    sub = SUBMISSIONS["ada_correct"]
    answers = dict(sub.answers, random=sub.answers["random"].replace(
        "    np.random.seed(3)\n", "    while True:\n        pass\n"))
    options = ChildOptions(sandboxed=False, uid=None, exercise_seconds=3)
    points, codes = per_exercise(grade_answers(SETUP, answers, options))
    assert points == {name: 0.0 if name == "random" else record.points
                      for name, record in EXERCISES.items()}
    assert codes["random"] == ["no_result", "no_result"]


# -- the checks on data alone (no child) -------------------------------------------------

def _call(params) -> CallResult:
    arrays = {k: v for k, v in params.items() if isinstance(v, np.ndarray)}
    return CallResult(type_name="dict", keys=list(params), value=arrays)


def _result(make, record) -> ExerciseResult:
    calls = [_call(make(c.args[0])) for c in checks.planned_calls(record.grading_dims)]
    return ExerciseResult(True, None, calls)


def judge(part, result, record=EXERCISES["he"]):
    return checks.judge(record, part, result, SETUP.context)


def test_missing_data_never_passes():
    for result in (None, ExerciseResult(False, None, []),
                   ExerciseResult(True, None, []),
                   ExerciseResult(False, ("SyntaxError", "invalid syntax"), [])):
        assert not judge("structure", result).passed


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_reference_data_passes_and_a_shifted_copy_fails(name):
    record = EXERCISES[name]
    good = _result(record.reference, record)
    assert judge("values", good, record).passed
    shifted = _result(lambda dims: {k: v * 0.5 + 0.25 for k, v in record.reference(dims).items()},
                      record)
    verdict = judge("values", shifted, record)
    assert not verdict.passed and verdict.code in ("wrong_values", "not_zero")
    assert judge("structure", shifted, record).passed


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_each_typical_mistake_is_named(name):
    from course_grader.assignments.initialization.reference import layers

    record = EXERCISES[name]
    for mistake in record.mistakes:
        verdict = judge("values", _result(lambda dims, m=mistake: layers(m.weights, dims),
                                          record), record)
        assert verdict.code == mistake.code and verdict.message == mistake.message


# -- visible checks (in the student's kernel) ------------------------------------------

def load(code: str):
    namespace = {"np": np}
    exec(code, namespace)  # noqa: S102 - the sample class is our own code
    return next(value for name, value in namespace.items()
                if name.startswith("initialize_parameters_"))


@pytest.mark.parametrize("check_name, student, fragment", [
    ("he_values", "dan_xavier", "Xavier's scale sqrt(1 / n[l-1])"),
    ("he_structure", "gus_transposed", "looks transposed"),
    ("zeros_structure", "hana_swapped", "W1 and b1 look swapped"),
    ("random_structure", "ivan_last_layer", "The last layer is missing"),
    ("random_values", "lena_uniform", "np.random.rand (uniform on [0, 1))"),
    ("zeros_values", "milo_biases", "b1 has non-zero entries"),
    ("zeros_structure", "omar_int_zeros", "floating-point"),
    ("he_structure", "pia_flat_bias", "not np.zeros(n)"),
])
def test_visible_checks_explain_the_mistake(check_name, student, fragment):
    exercise = check_name.split("_")[0]
    func = load(SUBMISSIONS[student].answers[exercise])
    with pytest.raises(self_check.CheckFailed, match=re.escape(fragment)):
        getattr(self_check, check_name)(func)


def test_visible_checks_pass_honestly(capsys):
    sub = SUBMISSIONS["ada_correct"]
    for exercise, record in EXERCISES.items():
        for check in record.checks:
            getattr(self_check, check.grade_id)(load(sub.answers[exercise]))
    out = capsys.readouterr().out
    checks_run = sum(len(record.checks) for record in EXERCISES.values())
    assert out.count("Visible checks passed") == checks_run
    assert out.count("more checks run at grading") == checks_run
    assert "all tests passed" not in out.lower()


@pytest.mark.parametrize("student", sorted(s for s, sub in SUBMISSIONS.items()
                                           if sub.diagnoses))
def test_visible_structure_check_names_the_grading_structure_mistake(student):
    """One structure check: on the notebook's example, the visible checks name the same
    keys-and-shapes mistake as grading does on other sizes."""
    sub = SUBMISSIONS[student]
    [(exercise, code)] = sub.diagnoses.items()
    func = load(sub.answers[exercise])
    if code not in {"missing_last_layer", "swapped_w_b", "transposed", "not_float",
                    "bias_flat", "wrong_keys", "off_by_one", "not_array"}:
        return  # a values mistake, or one only other layer sizes reveal
    with pytest.raises(self_check.CheckFailed) as failed:
        getattr(self_check, f"{exercise}_structure")(func)
    assert failed.value.code == code
