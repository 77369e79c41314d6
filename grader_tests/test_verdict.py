"""The trusted verdict: the sample class, graded by a real grading child, and its pieces.

``grade_answers`` runs the student's answer cells in a fresh interpreter and
scores what comes back in this process.  The sample class must get exactly
its expected points and diagnoses, with and without the sandbox.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import self_check
from course_grader.sample_class import sample_class
from course_grader.verdict import checks
from course_grader.verdict.child import ChildOptions
from course_grader.verdict.grading import GradingSetup, default_uid, grade_answers
from course_grader.verdict.intake import CallResult, ExerciseResult
from course_paths import ROOT

SUBMISSIONS = {sub.student: sub for sub in sample_class()}
SETUP = GradingSetup.from_course(ROOT, "initialization", "Initialization")
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap missing: apt-get install bubblewrap")

# The mistake the verdict should name (exercise -> code), per student.
EXPECTED_DIAGNOSES = {
    "dan_xavier": {"he": "xavier_scale"},
    "eve_fan_out": {"he": "fan_out"},
    "finn_glorot": {"he": "glorot_scale"},
    "gus_transposed": {"he": "transposed"},
    "hana_swapped": {"zeros": "swapped_w_b"},
    "ivan_last_layer": {"random": "missing_last_layer"},
    "jade_no_seed": {"random": "seed_missing"},
    "kai_reseeded": {"he": "reseeded_each_layer"},
    "lena_uniform": {"random": "uniform_rand"},
    "milo_biases": {"zeros": "not_zero"},
    "nora_hard_coded": {"he": "hard_coded"},
    "omar_int_zeros": {"zeros": "not_float"},
    "pia_flat_bias": {"he": "bias_flat"},
    "quin_he_for_random": {"random": "he_scale"},
}
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
    for exercise, code in EXPECTED_DIAGNOSES.get(student, {}).items():
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
    assert points == {"zeros": 10.0, "random": 0.0, "he": 10.0}
    assert codes["random"] == ["no_result", "no_result"]


# -- the checks on data alone (no child) -------------------------------------------------

def _call(params) -> CallResult:
    arrays = {k: v for k, v in params.items() if isinstance(v, np.ndarray)}
    return CallResult(type_name="dict", keys=list(params), arrays=arrays)


def _result(make) -> ExerciseResult:
    calls = [_call(make(c["dims"])) for c in checks.planned_calls()]
    return ExerciseResult(True, None, calls)


def test_missing_data_never_passes():
    for result in (None, ExerciseResult(False, None, []),
                   ExerciseResult(True, None, []),
                   ExerciseResult(False, ("SyntaxError", "invalid syntax"), [])):
        verdict = checks.judge("he", "structure", "initialize_parameters_he", result)
        assert not verdict.passed


def test_reference_data_passes_and_a_scaled_copy_fails():
    from course_grader import reference

    good = _result(lambda dims: reference.expected("he", dims))
    assert checks.judge("he", "values", "initialize_parameters_he", good).passed
    half = _result(lambda dims: {k: v * 0.5 for k, v in reference.expected("he", dims).items()})
    verdict = checks.judge("he", "values", "initialize_parameters_he", half)
    assert not verdict.passed and verdict.code == "wrong_values"
    assert checks.judge("he", "structure", "initialize_parameters_he", half).passed


# -- visible checks (in the student's kernel) ------------------------------------------

def load(code: str):
    namespace = {"np": np}
    exec(code, namespace)  # noqa: S102 - the sample class is our own code
    return next(value for name, value in namespace.items()
                if name.startswith("initialize_parameters_"))


@pytest.mark.parametrize("check_name, student, fragment", [
    ("he_values", "dan_xavier", "0.7071 times the expected one"),
    ("he_structure", "gus_transposed", "looks transposed"),
    ("zeros_structure", "hana_swapped", "W and b look swapped"),
    ("random_structure", "ivan_last_layer", "The last layer is missing"),
    ("random_values", "lena_uniform", "np.random.rand draws uniform"),
    ("zeros_values", "milo_biases", "b1 should be all zeros"),
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
    for exercise in ("zeros", "random", "he"):
        for part in ("structure", "values"):
            getattr(self_check, f"{exercise}_{part}")(load(sub.answers[exercise]))
    out = capsys.readouterr().out
    assert out.count("Visible checks passed") == 6
    assert out.count("more checks run at grading") == 6
    assert "all tests passed" not in out.lower()
