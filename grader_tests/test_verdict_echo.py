"""The diagnosis never echoes the layer sizes the grader called an answer with.

Each answer below smuggles its argument into something the diagnosis used to
quote: an exception's message or class name, a key name, a returned type's
name, a value's type name.  A real grading child runs it (unsandboxed, as in
test_verdict.py); every message must still name the mistake in words, with
no number left but the grader's own (W1..WL, layers_dims[l], "L-layer").
"""

from __future__ import annotations

import re

import pytest

from course_grader.assignments.initialization import EXERCISES, checks
from course_grader.assignments.initialization.record import GRADING_DIMS
from course_grader.verdict.child import ChildOptions
from course_grader.verdict.grading import GradingSetup, grade_answers
from course_paths import ROOT

SETUP = GradingSetup.from_course(ROOT, "initialization", "Initialization")
UNSANDBOXED = ChildOptions(sandboxed=False, uid=None, exercise_seconds=20)
GRADERS_OWN = re.compile(r"\b\d+-layer\b|\b[Wb]\d+\b|layers_dims\[\d+\]|\blayer \d+\b")

HEAD = "import numpy as np\ndef initialize_parameters_zeros(layers_dims):\n"
HOSTILE = {
    "message": (HEAD + "    raise ValueError(f'called with {layers_dims} / {layers_dims[1]}')\n",
                "called with", "raised"),
    "class name": (HEAD + "    raise type('Dims_' + '_'.join(map(str, layers_dims)), "
                   "(Exception,), {})('see my name')\n", "an exception of its own class",
                   "raised"),
    "counted out": (HEAD + "    raise KeyError('x' * layers_dims[1] + '|' "
                    "+ 'y' * layers_dims[2])\n",
                    "KeyError", "raised"),
    "key name": (HEAD + "    p = {f'W{l}': np.zeros((layers_dims[l], layers_dims[l - 1])) "
                 "for l in range(1, len(layers_dims))}\n"
                 "    p.update({f'b{l}': np.zeros((layers_dims[l], 1)) "
                 "for l in range(1, len(layers_dims))})\n"
                 "    p[str(layers_dims)] = 0\n    p['n' + ''.join(map(str, layers_dims))] = 1\n"
                 "    return p\n", "unexpected", "wrong_keys"),
    "returned type": (HEAD + "    return type('T_' + '_'.join(map(str, layers_dims)), (), {})()\n",
                      "must return a dict", "not_dict"),
    "value type": (HEAD + "    kind = type('V_' + '_'.join(map(str, layers_dims)), (), {})\n"
                   "    return {k + str(l): kind() for l in range(1, len(layers_dims)) "
                   "for k in 'Wb'}\n", "numpy array", "not_array"),
    "shape": (HEAD + "    return {k + str(l): np.zeros((1, layers_dims[l] * 10 "
              "+ layers_dims[l - 1])) for l in range(1, len(layers_dims)) for k in 'Wb'}\n",
              "has shape",
              "wrong_shape"),
}


def _leftover_numbers(message: str) -> list[str]:
    return re.findall(r"\d+", GRADERS_OWN.sub("", message))


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_no_hidden_size_reaches_the_message(case):
    code, words, kind = HOSTILE[case]
    verdict, points = grade_answers(SETUP, {"zeros": code}, UNSANDBOXED)["zeros_structure"]
    assert points == 0 and not verdict.passed
    assert words in verdict.message, verdict.message  # still says what went wrong
    assert _leftover_numbers(verdict.message) == [], verdict.message
    assert not re.search(r"(.)\1{3,}", verdict.message), verdict.message  # nothing counted out
    for dims in GRADING_DIMS:
        assert str(list(dims)) not in verdict.message
        assert "".join(map(str, dims)) not in verdict.message
    if kind != "wrong_shape":
        assert verdict.code == kind, verdict.message


def test_an_honest_mistake_keeps_its_words():
    code = HEAD + "    return np.zeros(3)\n"
    verdict, _ = grade_answers(SETUP, {"zeros": code}, UNSANDBOXED)["zeros_structure"]
    assert verdict.message.endswith("must return a dict, not ndarray.")
    code = HEAD + "    return helper(layers_dims)\n"
    verdict, _ = grade_answers(SETUP, {"zeros": code}, UNSANDBOXED)["zeros_structure"]
    assert "raised NameError: name 'helper' is not defined" in verdict.message


@pytest.mark.parametrize("text, layers, shown", [
    ("index 7 is out of bounds for axis 0 with size 7", 4,
     "index … is out of bounds for axis … with size …"),
    ("W1 has shape (7, 4); it must be (layers_dims[1], layers_dims[0])", 4,
     "W1 has shape (…, …); it must be (layers_dims[1], layers_dims[0])"),
    ("unexpected ['W9', 'b2']", 4, "unexpected ['W…', 'b2']"),  # W9: not a key of 4 layers
    ("x" * 300, 0, "xxx…"),
])
def test_masking_keeps_the_graders_words_and_hides_numbers(text, layers, shown):
    assert checks.masked(text, layers) == shown


def test_names_come_from_a_catalogue():
    assert checks.exception_name("ZeroDivisionError") == "ZeroDivisionError"
    assert checks.exception_name("Dims_4_7_3") == "an exception of its own class"
    assert checks.type_label("list") == "list"
    assert checks.type_label("T_4_7") == "value of another type"


def test_wrong_values_do_not_describe_the_spread_of_the_hidden_layers():
    # right shapes, He's spread, another seed: the standard deviation would be sqrt(2 / n)
    code = ("import numpy as np\ndef initialize_parameters_he(layers_dims):\n"
            "    np.random.seed(4)\n    p = {}\n    for l in range(1, len(layers_dims)):\n"
            "        p['W' + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) "
            "* np.sqrt(2 / layers_dims[l - 1])\n"
            "        p['b' + str(l)] = np.zeros((layers_dims[l], 1))\n    return p\n")
    verdict, points = grade_answers(SETUP, {"he": code}, UNSANDBOXED)["he_values"]
    assert points == 0 and verdict.code == "wrong_values", verdict.message
    graders_words = verdict.message.replace("seed(3)", "").replace(EXERCISES["he"].recipe, "")
    assert _leftover_numbers(graders_words) == [], verdict.message
