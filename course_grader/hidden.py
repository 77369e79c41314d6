"""Hidden checks, called from the hidden blocks of the notebook's test cells.

A test cell's hidden block is a single call::

    check("he", "values", initialize_parameters_he)

which raises :class:`HiddenCheckFailed` with a diagnosis when the student's
function is wrong.  The exception renders as one line in the notebook and in
the feedback HTML: no traceback into this package, no reference arrays.
The message ends with ``[diagnosis: <code>]`` so class reports can count
mistakes.
"""

from __future__ import annotations

import numpy as np

from . import diagnosis, integrity, reference
from .reference import HIDDEN_DIMS

# Shapes the visible examples produce: an answer that returns them for other
# layer sizes was typed in rather than computed.
EXAMPLE_DIMS = {"zeros": [5, 3, 1], "random": [3, 2, 1], "he": [2, 4, 1]}
KINDS = ("zeros", "random", "he")
PARTS = ("structure", "values")


class HiddenCheckFailed(AssertionError):
    """A grading check failed; the message explains what to fix."""

    def __init__(self, message: str, code: str):
        super().__init__(f"{message} [diagnosis: {code}]")
        self.code = code

    def _render_traceback_(self):
        # Shown by IPython instead of a traceback: the lines of this module
        # must not reach the student's feedback.
        return [f"{self.__class__.__name__}: {self}"]


def fail(message: str, code: str):
    raise HiddenCheckFailed(message, code) from None


def check(kind: str, part: str, func) -> None:
    """Run the hidden ``part`` ("structure" or "values") checks for exercise ``kind``."""
    if kind not in KINDS or part not in PARTS:
        raise ValueError(f"unknown check {kind!r}/{part!r}")
    replaced = integrity.tampered()
    if replaced:
        fail("The grading checks cannot run because code in this notebook replaced "
             + ", ".join(replaced) + ". Remove the lines that reassign them.", "tampering")
    if part == "structure":
        for dims in HIDDEN_DIMS:
            _check_structure(kind, func, dims)
    else:
        for dims in HIDDEN_DIMS:
            _check_structure(kind, func, dims)
            _check_values(kind, func, dims)


def _call(func, dims):
    name = getattr(func, "__name__", "the function")
    given = list(dims)
    try:
        params = func(given)
    except NotImplementedError:
        fail(f"{name} is not implemented yet.", "not_implemented")
    except Exception as error:  # the student's own bug: report it, briefly
        fail(f"{name} raised {error.__class__.__name__}: {error} "
             f"(on a {len(dims) - 1}-layer network).", "raised")
    if given != list(dims):
        fail(f"{name} modified the layers_dims list it was given; read it, don't change it.",
             "input_modified")
    if params is None:
        fail(f"{name} returned None: is `return parameters` missing?", "returned_none")
    if not isinstance(params, dict):
        fail(f"{name} must return a dict, not {params.__class__.__name__}.", "not_dict")
    return params


def _check_structure(kind, func, dims):
    params = _call(func, dims)
    layers = len(dims) - 1
    wanted = [f"{name}{l}" for l in range(1, layers + 1) for name in ("W", "b")]
    keys = list(params.keys())
    example = EXAMPLE_DIMS[kind]
    if sorted(keys) == sorted(f"{n}{l}" for l in range(1, len(example)) for n in "Wb") \
            and layers != len(example) - 1:
        fail(diagnosis.MESSAGES["hard_coded"], "hard_coded")
    missing = [k for k in wanted if k not in params]
    extra = [str(k) for k in keys if k not in wanted]
    if missing == [f"W{layers}", f"b{layers}"] and not extra:
        fail(f"The last layer is missing (no W{layers}, b{layers}): the loop over layers "
             "must run up to and including L = len(layers_dims) - 1.", "missing_last_layer")
    if "W0" in extra or "b0" in extra:
        fail("There is a W0/b0: layer numbers start at 1, and W1 connects the input to "
             "the first hidden layer.", "off_by_one")
    if missing or extra:
        fail(f"The dict should have exactly the keys W1, b1, ..., W{layers}, b{layers} for a "
             f"{layers}-layer network; missing {missing}, unexpected {extra}.", "wrong_keys")
    for l in range(1, layers + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        for key, value in ((f"W{l}", W), (f"b{l}", b)):
            if not isinstance(value, np.ndarray):
                fail(f"{key} is a {value.__class__.__name__}; it must be a numpy array.",
                     "not_array")
        w_shape, b_shape = (dims[l], dims[l - 1]), (dims[l], 1)
        if W.shape != w_shape:
            if W.shape == b_shape and b.shape == w_shape:
                fail(f"W{l} and b{l} are swapped: W{l} has the bias's shape and b{l} "
                     "the weight matrix's.", "swapped_w_b")
            if W.shape == w_shape[::-1]:
                fail(f"W{l} is transposed: its shape must be (layers_dims[l], "
                     "layers_dims[l-1]), one row per unit of layer l.", "transposed")
            fail(f"W{l} has shape {W.shape}; it must be (layers_dims[{l}], "
                 f"layers_dims[{l - 1}]).", "wrong_shape")
        if b.shape != b_shape:
            if b.shape == (dims[l],):
                fail(f"b{l} is a flat vector; it must be a column of shape "
                     "(layers_dims[l], 1).", "bias_flat")
            fail(f"b{l} has shape {b.shape}; it must be (layers_dims[{l}], 1).",
                 "wrong_bias_shape")
        for key, value in ((f"W{l}", W), (f"b{l}", b)):
            if value.dtype.kind != "f":
                fail(f"{key} holds {value.dtype} values; use floating-point arrays "
                     "(np.zeros and np.random.randn give float64).", "not_float")


def _check_values(kind, func, dims):
    params = _call(func, dims)
    layers = len(dims) - 1
    if kind == "zeros":
        for l in range(1, layers + 1):
            for key in (f"W{l}", f"b{l}"):
                if (params[key] != 0).any():
                    fail(f"{key} has non-zero entries; every weight and bias of this "
                         "initialization must be exactly 0.", "not_zero")
        return
    _check_own_seed(func, dims, params)
    expected = reference.expected(kind, dims)
    if not diagnosis.same_weights(params, expected, dims):
        mistake = diagnosis.name_weight_mistake(kind, params, dims)
        if mistake is not None:
            fail(diagnosis.MESSAGES[mistake], mistake)
        recipe = "randn(...) * 10" if kind == "random" else "randn(...) * sqrt(2 / n[l-1])"
        summary = diagnosis.describe_values(params, dims)
        fail(f"The weights of a {layers}-layer network do not match {recipe} drawn after "
             f"np.random.seed(3), layer by layer in order ({summary}).", "wrong_values")
    for l in range(1, layers + 1):
        if (params[f"b{l}"] != 0).any():
            fail(f"b{l} is not all zeros; biases start at exactly 0.", "bias_not_zero")


def _check_own_seed(func, dims, first):
    """The function must seed itself: the caller's random state must not matter."""
    saved = np.random.get_state()
    try:
        np.random.seed(12345)
        np.random.randn(7)
        second = _call(func, dims)
    finally:
        np.random.set_state(saved)
    if not diagnosis.same_weights(first, second, dims):
        fail(diagnosis.MESSAGES["seed_missing"], "seed_missing")
