"""Score one exercise from validated data: structure first, then values.

These are the hidden checks.  They run in the grader's own process, on arrays
the intake has already validated, against references computed here; the
student's code never sees them.  Every failure names the likely mistake and
ends with ``[diagnosis: <code>]`` so class reports can count mistakes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import diagnosis, reference
from .intake import CallResult, ExerciseResult

# Shapes the visible examples produce: an answer that returns them for other
# layer sizes was typed in rather than computed.
EXAMPLE_DIMS = {"zeros": [5, 3, 1], "random": [3, 2, 1], "he": [2, 4, 1]}
RECIPES = {"random": "randn(...) * 10", "he": "randn(...) * sqrt(2 / n[l-1])"}
DISTURB_SEED = 12345


@dataclass
class Verdict:
    passed: bool
    message: str
    code: str = "ok"


class Failed(Exception):
    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


def planned_calls(dims_list=reference.HIDDEN_DIMS) -> list[dict]:
    """The calls the child makes: every size once, then the first again after disturbing
    the global random state (a function that seeds itself gives the same result)."""
    calls = [{"dims": list(dims)} for dims in dims_list]
    return calls + [{"dims": list(dims_list[0]), "disturb": DISTURB_SEED}]


def judge(exercise: str, part: str, function: str, result: ExerciseResult | None,
          dims_list=reference.HIDDEN_DIMS) -> Verdict:
    """The verdict on ``part`` ("structure" or "values") of ``exercise``."""
    try:
        sizes = [list(d) for d in dims_list] + [list(dims_list[0])]
        calls = _usable_calls(function, result, len(sizes))
        for dims, call in zip(sizes, calls):
            _structure(exercise, function, dims, call)
        if part == "values":
            if exercise != "zeros" and not diagnosis.same_weights(
                    calls[-1].arrays, calls[0].arrays, sizes[0]):
                raise Failed(diagnosis.MESSAGES["seed_missing"], "seed_missing")
            for dims, call in zip(sizes, calls):
                _values(exercise, dims, call)
    except Failed as failure:
        return Verdict(False, failure.message, failure.code)
    return Verdict(True, f"Grading checks passed: {part} of {function} on {len(dims_list)} "
                         "networks of different sizes.")


def _usable_calls(function: str, result: ExerciseResult | None, count: int) -> list:
    if result is None:
        raise Failed(f"No results came back for {function}: it ran out of time, or the "
                     "process running it crashed or hit a resource cap.", "no_result")
    if not result.defined:
        if result.definition_error:
            name, message = result.definition_error
            raise Failed(f"The answer cell of {function} raised {name}: {message}",
                         "cell_raised")
        raise Failed(f"{function} is not defined in its answer cell. Each function must be "
                     "written, whole, in its own answer cell.", "not_defined")
    if len(result.calls) != count:
        raise Failed(f"No complete results came back for {function}.", "no_result")
    return result.calls


def _structure(exercise: str, function: str, dims, call: CallResult) -> None:
    layers = len(dims) - 1
    if call.raised is not None:
        name, message = call.raised
        if name == "NotImplementedError":
            raise Failed(f"{function} is not implemented yet.", "not_implemented")
        hint = " It uses a name defined outside its answer cell: every function must be " \
               "self-contained in its answer cell." if name == "NameError" else ""
        raise Failed(f"{function} raised {name}: {message} (on a {layers}-layer network)."
                     + hint, "raised")
    if call.input_after is not None and call.input_after != list(dims):
        raise Failed(f"{function} modified the layers_dims list it was given; read it, "
                     "don't change it.", "input_modified")
    if call.type_name == "NoneType":
        raise Failed(f"{function} returned None: is `return parameters` missing?",
                     "returned_none")
    if call.type_name != "dict":
        raise Failed(f"{function} must return a dict, not {call.type_name}.", "not_dict")
    wanted = [f"{name}{l}" for l in range(1, layers + 1) for name in ("W", "b")]
    example = EXAMPLE_DIMS[exercise]
    if sorted(call.keys) == sorted(f"{n}{l}" for l in range(1, len(example)) for n in "Wb") \
            and layers != len(example) - 1:
        raise Failed(diagnosis.MESSAGES["hard_coded"], "hard_coded")
    missing = [k for k in wanted if k not in call.keys]
    extra = [k for k in call.keys if k not in wanted]
    if missing == [f"W{layers}", f"b{layers}"] and not extra:
        raise Failed(f"The last layer is missing (no W{layers}, b{layers}): the loop over "
                     "layers must run up to and including L = len(layers_dims) - 1.",
                     "missing_last_layer")
    if "W0" in extra or "b0" in extra:
        raise Failed("There is a W0/b0: layer numbers start at 1, and W1 connects the input "
                     "to the first hidden layer.", "off_by_one")
    if missing or extra or len(set(call.keys)) != len(call.keys):
        raise Failed(f"The dict should have exactly the keys W1, b1, ..., W{layers}, "
                     f"b{layers} for a {layers}-layer network; missing {missing}, "
                     f"unexpected {extra}.", "wrong_keys")
    for l in range(1, layers + 1):
        for key in (f"W{l}", f"b{l}"):
            if key not in call.arrays:
                kind = call.others.get(key, "value that could not be read")
                raise Failed(f"{key} is a {kind}; it must be a numpy array.", "not_array")
        W, b = call.arrays[f"W{l}"], call.arrays[f"b{l}"]
        w_shape, b_shape = (dims[l], dims[l - 1]), (dims[l], 1)
        if W.shape != w_shape:
            if W.shape == b_shape and b.shape == w_shape:
                raise Failed(f"W{l} and b{l} are swapped: W{l} has the bias's shape and "
                             f"b{l} the weight matrix's.", "swapped_w_b")
            if W.shape == w_shape[::-1]:
                raise Failed(f"W{l} is transposed: its shape must be (layers_dims[l], "
                             "layers_dims[l-1]), one row per unit of layer l.", "transposed")
            raise Failed(f"W{l} has shape {W.shape}; it must be (layers_dims[{l}], "
                         f"layers_dims[{l - 1}]).", "wrong_shape")
        if b.shape != b_shape:
            if b.shape == (dims[l],):
                raise Failed(f"b{l} is a flat vector; it must be a column of shape "
                             "(layers_dims[l], 1).", "bias_flat")
            raise Failed(f"b{l} has shape {b.shape}; it must be (layers_dims[{l}], 1).",
                         "wrong_bias_shape")
        for key, value in ((f"W{l}", W), (f"b{l}", b)):
            if value.dtype.kind != "f":
                raise Failed(f"{key} holds {value.dtype} values; use floating-point arrays "
                             "(np.zeros and np.random.randn give float64).", "not_float")


def _values(exercise: str, dims, call: CallResult) -> None:
    layers = len(dims) - 1
    params = call.arrays
    if exercise == "zeros":
        for l in range(1, layers + 1):
            for key in (f"W{l}", f"b{l}"):
                if np.any(params[key] != 0):
                    raise Failed(f"{key} has non-zero entries; every weight and bias of this "
                                 "initialization must be exactly 0.", "not_zero")
        return
    expected = reference.expected(exercise, dims)
    if not diagnosis.same_weights(params, expected, dims):
        mistake = diagnosis.name_weight_mistake(exercise, params, dims)
        if mistake is not None:
            raise Failed(diagnosis.MESSAGES[mistake], mistake)
        summary = diagnosis.describe_values(params, dims)
        raise Failed(f"The weights of a {layers}-layer network do not match "
                     f"{RECIPES[exercise]} drawn after np.random.seed(3), layer by layer in "
                     f"order ({summary}).", "wrong_values")
    for l in range(1, layers + 1):
        if np.any(params[f"b{l}"] != 0):
            raise Failed(f"b{l} is not all zeros; biases start at exactly 0.", "bias_not_zero")
