"""The "activations" assignment, declared for the trusted verdict.

Four graded functions of another shape than Initialization's: ``relu`` and
``sigmoid`` return one array, ``sigmoid_with_cache`` a pair ``(A, cache)``,
``binary_cross_entropy`` one number.  The grader calls each on inputs it
chooses here (never shown in the notebook), and the judges below score what
came back.  They read only the validated data the intake hands them
(``ExerciseResult``) and compute every expected value here, in the grader's
process; nothing of the student's runs in this module.

Floats are compared with ``TOLERANCE`` (relative 1e-6, absolute 1e-9): the
stable and the textbook formulas of the sigmoid differ in the last digits,
and numpy's kernels differ between machines.

A student's exception text is never quoted (it could carry the hidden inputs
back into the feedback); only the exception's type, if it is Python's own,
and a hint the grader wrote.

This file is self-contained (no relative imports): a course names it by its
path in ``nbgrader_config.py``, ``c.AssignmentDeclarations.modules``.
"""

from __future__ import annotations

import builtins

import numpy as np

from course_grader.verdict.declaration import (
    Array,
    Call,
    Declaration,
    GradedFunction,
    TestCell,
    Verdict,
)

TOLERANCE = {"rtol": 1e-6, "atol": 1e-9}

# The grader's inputs.  Both arrays of each function have shapes the notebook's
# examples do not use; the cost's two have m = 4 and m = 7, so a sum instead of a
# mean is told apart from a scale slip.
RELU_INPUTS = (
    [[-1.5, 0.0, 2.25, -0.75], [3.0, -4.5, 0.5, 1.0], [-0.1, 0.2, -3.0, 6.0]],
    [[0.5, -0.25, 0.0, 7.0, -7.0]],
)
SIGMOID_INPUTS = (
    [[-2.0, -0.5, 0.0], [0.5, 2.0, 8.0]],
    [[-6.0, 1.5, 3.0, -1.0]],
)
CACHE_INPUTS = (
    [[1.0, -2.0], [0.0, 4.0], [-0.5, 3.5]],
    [[-1.25, 0.75, 2.5]],
)
COST_INPUTS = (
    ([[0.9, 0.2, 0.65, 0.4]], [[1, 0, 1, 0]]),
    ([[0.3, 0.8, 0.55, 0.95, 0.1, 0.7, 0.25]], [[0, 1, 1, 1, 0, 0, 1]]),
)


class Failed(Exception):
    """One check failed: the message the student reads, and its diagnosis code."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


# -- references, computed here from the grader's own inputs ---------------------------

def relu_reference(Z: np.ndarray) -> np.ndarray:
    return np.where(Z > 0, Z, 0.0)


def sigmoid_reference(Z: np.ndarray) -> np.ndarray:
    # the tanh form never overflows; equal to 1 / (1 + exp(-Z)) within TOLERANCE
    return 0.5 * (1.0 + np.tanh(Z / 2.0))


def cost_reference(AL: np.ndarray, Y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.where(Y == 1, AL, 1.0 - AL))))


def _matrix(values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


# -- what every judge checks first ----------------------------------------------------

SHOWN_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException))
SHOWN_TYPES = frozenset({"NoneType", "bool", "int", "float", "str", "list", "tuple", "dict",
                         "ndarray", "float64", "float32", "int64", "function", "generator"})


def exception_label(name: str) -> str:
    return name if name in SHOWN_EXCEPTIONS else "an exception of its own class"


def type_label(name: str) -> str:
    return name if name in SHOWN_TYPES else "a value of another type"


def usable_calls(function: str, result, count: int) -> list:
    """The calls' results, or Failed saying why there is nothing to score."""
    if result is None:
        raise Failed(f"No results came back for {function}: it ran out of time, the process "
                     "running it crashed or hit a resource cap, or what it returned was not "
                     "plain numbers of a sensible size.", "no_result")
    if not result.defined:
        if result.definition_error:
            raise Failed(f"The answer cell of {function} raised "
                         f"{exception_label(result.definition_error[0])} when it ran on its "
                         "own.", "cell_raised")
        raise Failed(f"{function} is not defined in its answer cell: write the whole function "
                     "there.", "not_defined")
    if len(result.calls) != count:
        raise Failed(f"No complete results came back for {function}.", "no_result")
    for call in result.calls:
        if call.raised is not None:
            raise Failed(*_raised_message(function, *call.raised))
    return result.calls


def _raised_message(function: str, name: str, message: str) -> tuple[str, str]:
    if name == "NotImplementedError":
        return f"{function} is not implemented yet.", "not_implemented"
    text = f"{function} raised {exception_label(name)} on the grader's inputs."
    if name == "NameError":
        text += (" It uses a name from outside its answer cell: write each function whole "
                 "in its own cell, using only np.")
    elif name == "ValueError" and "truth value of an array" in message:
        text += (" Python's max (or an if) looks at a whole array at once; np.maximum and "
                 "np.where work entry by entry.")
    return text, "raised"


def same_shape_array(function: str, value, type_name: str, Z: np.ndarray) -> np.ndarray:
    """``value`` if it is an array of Z's shape; else Failed naming what is wrong."""
    if type_name == "NoneType":
        raise Failed(f"{function} returned None: is its return line missing?", "returned_none")
    if not isinstance(value, np.ndarray):
        raise Failed(f"{function} must return a numpy array, not {type_label(type_name)}.",
                     "not_array")
    if value.shape != Z.shape:
        if value.size < Z.size:
            raise Failed(f"{function} returned fewer entries than Z has: np.max (or max, "
                         "np.sum) reduces over an axis; work entry by entry, as np.maximum "
                         "does.", "reduced")
        if value.shape == Z.T.shape:
            raise Failed(f"{function} returned Z's shape transposed.", "transposed")
        raise Failed(f"{function} must return an array of the shape of Z.", "wrong_shape")
    if value.dtype.kind not in "biuf":
        raise Failed(f"{function} must return real numbers.", "not_real")
    return value.astype(np.float64)


def close(a, b) -> bool:
    return bool(np.allclose(a, b, **TOLERANCE))


def judged(function: str, part: str, inputs: int, check) -> Verdict:
    """Run ``check`` (which raises Failed) and turn its outcome into a verdict."""
    try:
        check()
    except Failed as failure:
        return Verdict(False, failure.message, failure.code)
    return Verdict(True, f"Grading checks passed: {part} of {function} on {inputs} inputs the "
                         "notebook does not show.")


# -- relu --------------------------------------------------------------------------

def _relu_mistake(A: np.ndarray, Z: np.ndarray) -> Failed:
    if close(A, (Z > 0).astype(np.float64)):
        return Failed("relu returned 1 where Z is positive and 0 elsewhere; ReLU keeps each "
                      "positive entry as it is: max(0, z).", "relu_mask")
    if close(A, np.minimum(0.0, Z)):
        return Failed("relu kept the negative entries and zeroed the positive ones: that is "
                      "min(0, z), not max(0, z).", "relu_minimum")
    if close(A, np.abs(Z)):
        return Failed("relu turned negative entries positive; they must become 0.",
                      "relu_abs")
    return Failed("relu's values are not max(0, Z) entry by entry.", "wrong_values")


def judge_relu(part: str, result, context) -> Verdict:
    inputs = [_matrix(z) for z in RELU_INPUTS]

    def check():
        calls = usable_calls("relu", result, len(inputs))
        for Z, call in zip(inputs, calls):
            A = same_shape_array("relu", call.value, call.type_name, Z)
            if part == "values" and not close(A, relu_reference(Z)):
                raise _relu_mistake(A, Z)

    return judged("relu", part, len(inputs), check)


# -- sigmoid -----------------------------------------------------------------------

FORMULA = "sigma(z) = 1 / (1 + exp(-z))"


def _sigmoid_mistake(function: str, A: np.ndarray, Z: np.ndarray) -> Failed:
    if close(A, sigmoid_reference(-Z)):
        return Failed(f"{function} gives values near 0 for large positive z and near 1 for "
                      f"large negative z: the sign in the exponent is flipped. {FORMULA}.",
                      "sign_flipped")
    if close(A, np.tanh(Z)):
        return Failed(f"{function} returned tanh(z), which lies between -1 and 1; the "
                      f"sigmoid lies between 0 and 1. {FORMULA}.", "tanh_instead")
    return Failed(f"{function}'s values are not {FORMULA} entry by entry.", "wrong_values")


def judge_sigmoid(part: str, result, context) -> Verdict:
    inputs = [_matrix(z) for z in SIGMOID_INPUTS]

    def check():
        calls = usable_calls("sigmoid", result, len(inputs))
        for Z, call in zip(inputs, calls):
            A = same_shape_array("sigmoid", call.value, call.type_name, Z)
            if part == "values" and not close(A, sigmoid_reference(Z)):
                raise _sigmoid_mistake("sigmoid", A, Z)

    return judged("sigmoid", part, len(inputs), check)


# -- sigmoid_with_cache (a pair) ----------------------------------------------------

def _type_name(item) -> str:
    """A tuple item's type: the intake gives arrays, floats, or a record of the type's name
    for anything else."""
    if isinstance(item, np.ndarray):
        return "ndarray"
    return getattr(item, "type_name", type(item).__name__)


def _pair(call) -> tuple:
    if call.type_name == "NoneType":
        raise Failed("sigmoid_with_cache returned None: is `return A, cache` missing?",
                     "returned_none")
    if call.type_name != "tuple" or not isinstance(call.value, tuple):
        raise Failed("sigmoid_with_cache must return the pair (A, cache) as a tuple, not "
                     f"{type_label(call.type_name)}.", "not_pair")
    if call.length != 2 or len(call.value) != 2:
        raise Failed("sigmoid_with_cache must return two items, A and cache.", "not_pair")
    return call.value


def judge_cache(part: str, result, context) -> Verdict:
    inputs = [_matrix(z) for z in CACHE_INPUTS]
    function = "sigmoid_with_cache"

    def check():
        calls = usable_calls(function, result, len(inputs))
        for Z, call in zip(inputs, calls):
            first, second = _pair(call)
            if isinstance(first, np.ndarray) and isinstance(second, np.ndarray) and \
                    first.shape == second.shape == Z.shape and close(first, Z) and \
                    close(second, sigmoid_reference(Z)):
                raise Failed(f"{function} returned (cache, A): the sigmoid comes first, then "
                             "Z.", "cache_order")
            A = same_shape_array(function, first, _type_name(first), Z)
            if not close(A, sigmoid_reference(Z)):
                raise _sigmoid_mistake(function, A, Z)
            if not isinstance(second, np.ndarray) or second.shape != Z.shape or \
                    second.dtype.kind not in "biuf" or not close(second, Z):
                raise Failed(f"The second item {function} returns must be Z itself, the "
                             "input, unchanged.", "cache_not_z")

    return judged(function, part, len(inputs), check)


# -- binary_cross_entropy (one number) ----------------------------------------------

def _number(call) -> float:
    if call.type_name == "NoneType":
        raise Failed("binary_cross_entropy returned None: is `return cost` missing?",
                     "returned_none")
    # the intake reads back only a number here; of anything else it keeps the type's name
    if call.type_name == "ndarray":
        raise Failed("binary_cross_entropy returned an array, not one number: take "
                     "float(...) of the mean.", "not_a_number")
    if not isinstance(call.value, float):
        raise Failed("binary_cross_entropy must return one number, not "
                     f"{type_label(call.type_name)}.", "not_a_number")
    return float(call.value)


def _cost_mistake(cost: float, expected: float, m: int) -> Failed:
    if not np.isfinite(cost):
        return Failed("The cost is not a finite number: is a log taken of 0, or of 1 - Y "
                      "instead of 1 - AL?", "not_finite")
    if close(cost, -expected):
        return Failed("The cost came out negative: the minus sign in front of the mean is "
                      "missing (the log of a probability is never positive, so the cost is "
                      "never negative).", "wrong_sign")
    if close(cost, m * expected):
        return Failed("The cost grows with the number of examples: it is the sum of the "
                      "losses, not their mean. Divide by m (or use np.mean).", "no_mean")
    if close(cost, expected / np.log(10.0)):
        return Failed("The cost uses the base-10 logarithm; the formula's log is the natural "
                      "one, np.log.", "log10")
    return Failed("The cost does not match the cross-entropy formula.", "wrong_values")


def _fixed_divisor(costs: list[float], inputs: list) -> bool:
    """Every cost is the sum of the losses over one and the same number (not m)."""
    if not all(cost > 0 for cost in costs):
        return False
    sums = [AL.shape[1] * cost_reference(AL, Y) for AL, Y in inputs]
    divisors = [total / cost for total, cost in zip(sums, costs)]
    return close(divisors, divisors[0]) and not close(divisors, [AL.shape[1] for AL, _ in inputs])


def judge_cost(part: str, result, context) -> Verdict:
    inputs = [(_matrix(al), _matrix(y)) for al, y in COST_INPUTS]
    function = "binary_cross_entropy"

    def check():
        costs = [_number(call) for call in usable_calls(function, result, len(inputs))]
        if part != "values":
            return
        for cost, (AL, Y) in zip(costs, inputs):
            expected = cost_reference(AL, Y)
            if not close(cost, expected):
                mistake = _cost_mistake(cost, expected, AL.shape[1])
                if mistake.code == "wrong_values" and _fixed_divisor(costs, inputs):
                    raise Failed("The cost divides by the same number whatever the number of "
                                 "examples: m is Y.shape[1], read from the input, not typed "
                                 "in.", "fixed_m")
                raise mistake

    return judged(function, part, len(inputs), check)


# -- the declaration ----------------------------------------------------------------

def _calls(*arrays_per_call) -> tuple[Call, ...]:
    return tuple(Call(tuple(Array(a) for a in arrays)) for arrays in arrays_per_call)


# the labels as the notebook's examples give them: integers
COST_CALLS = tuple(Call((Array(al), Array(y, "int64"))) for al, y in COST_INPUTS)


DECLARATION = Declaration(
    assignment="activations",
    exercises=(
        GradedFunction("relu", "relu", "relu_answer",
                       (TestCell("relu_shape", "shape", 2), TestCell("relu_values", "values", 3)),
                       _calls(*((z,) for z in RELU_INPUTS)), "array", judge_relu),
        GradedFunction("sigmoid", "sigmoid", "sigmoid_answer",
                       (TestCell("sigmoid_shape", "shape", 2),
                        TestCell("sigmoid_values", "values", 3)),
                       _calls(*((z,) for z in SIGMOID_INPUTS)), "array", judge_sigmoid),
        GradedFunction("cache", "sigmoid_with_cache", "cache_answer",
                       (TestCell("cache_pair", "pair", 4),),
                       _calls(*((z,) for z in CACHE_INPUTS)), "tuple", judge_cache),
        GradedFunction("cost", "binary_cross_entropy", "cost_answer",
                       (TestCell("cost_number", "number", 2),
                        TestCell("cost_values", "values", 4)),
                       COST_CALLS, "number", judge_cost),
    ),
)
