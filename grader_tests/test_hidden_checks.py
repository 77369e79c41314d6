"""Hidden checks and visible checks, run directly on the sample class's code."""

from __future__ import annotations

import builtins
import re

import numpy as np
import pytest

import self_check
from course_grader import hidden, integrity
from course_grader.assignment import EXERCISES
from course_grader.hidden import HiddenCheckFailed
from course_grader.sample_class import HE, RANDOM, sample_class

SUBMISSIONS = {sub.student: sub for sub in sample_class()}

# The mistake each hidden check should name (exercise -> code), per student.
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


def load(code: str):
    namespace = {"np": np}
    exec(code, namespace)  # noqa: S102 - the sample class is our own code
    return next(value for name, value in namespace.items()
                if name.startswith("initialize_parameters_"))


def outcome(exercise, func):
    """Points the hidden checks alone award, and the diagnosis codes of failures."""
    points, codes = 0, []
    for (grade_id, cell_points) in EXERCISES[exercise][1]:
        part = grade_id.split("_", 1)[1]
        try:
            hidden.check(exercise, part, func)
            points += cell_points
        except HiddenCheckFailed as failure:
            codes.append(failure.code)
    return points, codes


@pytest.mark.parametrize("student", [s for s in SUBMISSIONS if s != "ben_untouched"])
def test_hidden_checks_award_the_expected_points(student):
    sub = SUBMISSIONS[student]
    for exercise, code in sub.answers.items():
        points, codes = outcome(exercise, load(code))
        assert points == sub.expected[exercise], (exercise, codes)
        if exercise in EXPECTED_DIAGNOSES.get(student, {}):
            assert codes and codes[-1] == EXPECTED_DIAGNOSES[student][exercise]


def test_unimplemented_function_is_reported_not_crashed():
    def initialize_parameters_he(layers_dims):
        raise NotImplementedError()

    points, codes = outcome("he", initialize_parameters_he)
    assert points == 0 and codes == ["not_implemented", "not_implemented"]


def test_failure_renders_as_one_line_without_traceback():
    with pytest.raises(HiddenCheckFailed) as caught:
        hidden.check("he", "values", load(SUBMISSIONS["dan_xavier"].answers["he"]))
    rendered = caught.value._render_traceback_()
    assert len(rendered) == 1 and rendered[0].startswith("HiddenCheckFailed: ")
    assert "sqrt(2 / n[l-1])" in rendered[0]
    # no reference numbers in the message
    assert not any(ch.isdigit() and ch not in "12" for ch in rendered[0].split("[")[0])


def test_input_list_must_not_be_modified():
    def initialize_parameters_zeros(layers_dims):
        layers_dims.append(1)
        return {}

    with pytest.raises(HiddenCheckFailed) as caught:
        hidden.check("zeros", "structure", initialize_parameters_zeros)
    assert caught.value.code == "input_modified"


@pytest.mark.parametrize("target, name", [
    (np, "allclose"), (np, "array_equal"), (np.testing, "assert_allclose"),
    (builtins, "abs"), (builtins, "float")])
def test_monkeypatched_helpers_are_detected(monkeypatch, target, name):
    monkeypatch.setattr(target, name, lambda *args, **kwargs: True)
    assert integrity.tampered()
    with pytest.raises(HiddenCheckFailed) as caught:
        hidden.check("he", "values", load(HE))
    assert caught.value.code == "tampering"


def test_untouched_environment_is_not_flagged():
    assert integrity.tampered() == []


def test_caller_seed_does_not_matter_for_a_correct_answer():
    func = load(RANDOM)
    np.random.seed(99)
    hidden.check("random", "values", func)


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
