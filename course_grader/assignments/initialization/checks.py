"""Score one exercise from validated data: structure first, then values.

These are the hidden checks.  They run in the grader's own process, on arrays
the intake has already validated, against references computed here; the
student's code never sees them.  What to check comes from the exercise's
record; the keys-and-shapes check is the visible checks' own (``visible.py``).
Every failure names the likely mistake and ends with ``[diagnosis: <code>]``
so class reports can count mistakes.
"""

from __future__ import annotations

import builtins
import re
from typing import Callable

import numpy as np

from ...verdict.declaration import Call, Verdict
from ...verdict.intake import CallResult, ExerciseResult
from . import diagnosis
from .record import Exercise

DISTURB_SEED = 12345


class Failed(Exception):
    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


# -- what a message may quote of the student's own words ------------------------------
# Exception texts, type names and key names are the student's: an answer can put
# the layer sizes it was called with into them.  They are shown only from a fixed
# catalogue (names) or shortened with every number masked (texts); the grader's own
# words around them (W1..WL, layers_dims[l], "an L-layer network") stay as written.

SHOWN_CHARACTERS = 120  # an exception's message
STRUCTURE_CHARACTERS = 400  # the structure check's message, with the key names it quotes
MASK = "…"
BUILTIN_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)) | {"LinAlgError",
                                                                        "AxisError"}
KNOWN_TYPES = frozenset({"NoneType", "bool", "int", "float", "complex", "str", "bytes",
                         "list", "tuple", "set", "frozenset", "dict", "ndarray", "generator",
                         "function", "float64", "int64", "float32", "matrix", "module"})
_NUMBER = re.compile(r"\d+")
_REPEATED = re.compile(r"(.)\1{3,}")  # a run of one character can count out a size


def exception_name(name: str) -> str:
    """The exception's class name if it is Python's or numpy's own, else a description."""
    return name if name in BUILTIN_EXCEPTIONS else "an exception of its own class"


def type_label(name: str) -> str:
    """A returned value's type name from the catalogue, else a description."""
    return name if name in KNOWN_TYPES else "value of another type"


def masked(text: str, layers: int = 0, limit: int = SHOWN_CHARACTERS) -> str:
    """Student text, shortened, with every number masked except the grader's own
    words: the key names W1..WL and b1..bL, ``layers_dims[l]`` and ``L-layer``."""
    keep = re.compile(r"\b[Wb](\d+)\b|layers_dims\[(\d+)\]|\b(\d+)-layer\b|\blayer (\d+)\b")
    protected = [(m.start(), m.end()) for m in keep.finditer(text)
                 if int(next(g for g in m.groups() if g is not None)) <= layers]

    def mask(match: re.Match) -> str:
        inside = any(start <= match.start() < end for start, end in protected)
        return match.group(0) if inside else MASK

    text = _REPEATED.sub(lambda m: m.group(1) * 3 + MASK, _NUMBER.sub(mask, text))
    return text if len(text) <= limit else text[:limit] + MASK


def planned_calls(dims_list) -> tuple[Call, ...]:
    """The calls the child makes, ``function(layers_dims)``: every size once, then the
    first again after disturbing the global random state (a function that seeds itself
    gives the same result)."""
    calls = tuple(Call((list(dims),)) for dims in dims_list)
    return calls + (Call((list(dims_list[0]),), disturb=DISTURB_SEED),)


def judge(exercise: Exercise, part: str, result: ExerciseResult | None,
          structure_problem: Callable) -> Verdict:
    """The verdict on ``part`` ("structure" or "values") of ``exercise``.

    ``structure_problem`` is the visible checks' keys-and-shapes check.
    """
    function, dims_list = exercise.function, exercise.grading_dims
    try:
        sizes = [list(d) for d in dims_list] + [list(dims_list[0])]
        calls = _usable_calls(function, result, len(sizes))
        for dims, call in zip(sizes, calls):
            _structure(exercise, dims, call, structure_problem)
        if part == "values":
            if exercise.weights.random and not diagnosis.same_weights(
                    calls[-1].arrays, calls[0].arrays, sizes[0]):
                raise Failed(diagnosis.SEED_MISSING, "seed_missing")
            for dims, call in zip(sizes, calls):
                _values(exercise, dims, call)
    except Failed as failure:
        return Verdict(False, failure.message, failure.code)
    return Verdict(True, f"Grading checks passed: {part} of {function} on {len(dims_list)} "
                         "networks of different sizes.")


def _usable_calls(function: str, result: ExerciseResult | None, count: int) -> list:
    if result is None:
        raise Failed(f"No results came back for {function}: it ran out of time, the "
                     "process running it crashed or hit a resource cap, or what it returned "
                     "was not plain numbers of a sensible size.", "no_result")
    if not result.defined:
        if result.definition_error:
            name, message = result.definition_error
            raise Failed(f"The answer cell of {function} raised {exception_name(name)}: "
                         f"{masked(message)}", "cell_raised")
        raise Failed(f"{function} is not defined in its answer cell. Each function must be "
                     "written, whole, in its own answer cell.", "not_defined")
    if len(result.calls) != count:
        raise Failed(f"No complete results came back for {function}.", "no_result")
    return result.calls


def _structure(exercise: Exercise, dims, call: CallResult, structure_problem) -> None:
    function, layers = exercise.function, len(dims) - 1
    if call.raised is not None:
        name, message = call.raised
        if name == "NotImplementedError":
            raise Failed(f"{function} is not implemented yet.", "not_implemented")
        hint = " It uses a name defined outside its answer cell: every function must be " \
               "self-contained in its answer cell." if name == "NameError" else ""
        usual_slip = diagnosis.call_hint(name, message)  # np.zeros(a, b), randn((a, b))
        hint = f" {usual_slip}" if usual_slip else hint
        raise Failed(f"{function} raised {exception_name(name)}: {masked(message, layers)} "
                     f"(on a {layers}-layer network)." + hint, "raised")
    if call.input_after is not None and call.input_after != list(dims):
        raise Failed(f"{function} modified the layers_dims list it was given; read it, "
                     "don't change it.", "input_modified")
    if call.type_name == "NoneType":
        raise Failed(f"{function} returned None: is `return parameters` missing?",
                     "returned_none")
    if call.type_name != "dict":
        raise Failed(f"{function} must return a dict, not {type_label(call.type_name)}.",
                     "not_dict")
    # the example's keys on a network of another depth: typed in, not computed
    example = exercise.example_dims
    if sorted(call.keys) == sorted(f"{n}{l}" for l in range(1, len(example)) for n in "Wb") \
            and layers != len(example) - 1:
        raise Failed(diagnosis.HARD_CODED, "hard_coded")
    others = {key: type_label(kind) for key, kind in call.others.items()}
    problem = structure_problem(call.keys, {**others, **call.arrays}, dims)
    if problem is not None:  # it quotes key names and returned shapes: the student's words
        message, code = problem
        raise Failed(masked(message, layers, limit=STRUCTURE_CHARACTERS), code)


def _values(exercise: Exercise, dims, call: CallResult) -> None:
    layers = len(dims) - 1
    params = call.arrays
    if not exercise.weights.random:
        for l in range(1, layers + 1):
            for key in (f"W{l}", f"b{l}"):
                if np.any(params[key] != 0):
                    raise Failed(f"{key} has non-zero entries; every weight and bias of this "
                                 "initialization must be exactly 0.", "not_zero")
        return
    if not diagnosis.same_weights(params, exercise.reference(dims), dims):
        mistake = diagnosis.name_weight_mistake(exercise, params, dims)
        if mistake is not None:
            raise Failed(mistake.message, mistake.code)
        # no summary of the student's numbers: the spread of weights drawn for the hidden
        # sizes gives those sizes away (He's is sqrt(2 / n[l-1]))
        raise Failed(f"The weights of a {layers}-layer network do not match "
                     f"{exercise.recipe} drawn after np.random.seed(3), layer by layer in "
                     "order.", "wrong_values")
    for l in range(1, layers + 1):
        if np.any(params[f"b{l}"] != 0):
            raise Failed(f"b{l} is not all zeros; biases start at exactly 0.", "bias_not_zero")
