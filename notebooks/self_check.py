"""Visible self-checks for the Initialization notebook.

Each check runs your function on the small example shown in the notebook and
either prints what passed or raises :class:`CheckFailed` with a message that
says what is wrong.  These checks only look at the visible examples; the
grader runs more checks on other layer sizes, so passing here is necessary,
not sufficient.
"""

from __future__ import annotations

import numpy as np

# The example outputs printed in the notebook (seed 3).
EXAMPLES = {
    "zeros": {"dims": [5, 3, 1]},
    "random": {
        "dims": [3, 2, 1],
        "W1": [[17.88628473, 4.36509851, 0.96497468],
               [-18.63492703, -2.77388203, -3.54758979]],
        "W2": [[-0.82741481, -6.27000677]],
    },
    "he": {
        "dims": [2, 4, 1],
        "W1": [[1.78862847, 0.43650985], [0.09649747, -1.8634927],
               [-0.2773882, -0.35475898], [-0.08274148, -0.62700068]],
        "W2": [[-0.03098412, -0.33744411, -0.92904268, 0.62552248]],
    },
}
MORE_AT_GRADING = "more checks run at grading."


class CheckFailed(AssertionError):
    """A visible check found a mistake; the message says which.

    ``code`` names the mistake in a word or two; it ends the message as
    ``[diagnosis: code]``, the same tag the grader's checks use, so class
    reports can count mistakes.
    """

    def __init__(self, message: str, code: str = "visible_check"):
        separator = "\n" if "\n" in message else " "
        super().__init__(f"{message}{separator}[diagnosis: {code}]")
        self.code = code

    def _render_traceback_(self):
        # IPython shows this instead of a traceback into this file: the
        # student needs the diagnosis, not our internals.
        return [f"CheckFailed: {self}"]


def _call(func, dims):
    given = list(dims)
    try:
        params = func(given)
    except NotImplementedError:
        raise CheckFailed(f"{func.__name__} is not written yet: replace the "
                          "`raise NotImplementedError()` line with your code.",
                          "not_implemented") from None
    if given != list(dims):
        raise CheckFailed(f"{func.__name__} changed the list it was given "
                          f"({list(dims)} became {given}); leave layers_dims as it is.",
                          "input_modified")
    if params is None:
        raise CheckFailed(f"{func.__name__} returned None: did you forget "
                          "`return parameters`?", "returned_none")
    if not isinstance(params, dict):
        raise CheckFailed(f"{func.__name__} should return a dict, not "
                          f"{type(params).__name__}.", "not_dict")
    return params


def _check_structure(params, dims):
    layers = len(dims) - 1
    wanted = [f"{kind}{l}" for l in range(1, layers + 1) for kind in ("W", "b")]
    missing = [key for key in wanted if key not in params]
    extra = sorted(set(params) - set(wanted))
    if missing or extra:
        hint, code = "", "wrong_keys"
        if f"W{layers}" in missing and f"W{layers - 1}" in params:
            code = "missing_last_layer"
            hint = (f" The last layer is missing: with layers_dims={dims} there are "
                    f"{layers} layers, so the loop must reach l = {layers}.")
        elif "W0" in extra:
            hint, code = " Layer numbers start at 1: W1 connects the input to the first layer.", \
                "off_by_one"
        raise CheckFailed(f"For layers_dims={dims} expected keys {wanted}; "
                          f"missing {missing}, unexpected {extra}.{hint}", code)
    for l in range(1, layers + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        w_shape, b_shape = (dims[l], dims[l - 1]), (dims[l], 1)
        if not isinstance(W, np.ndarray) or not isinstance(b, np.ndarray):
            raise CheckFailed(f"W{l} and b{l} should be numpy arrays, got "
                              f"{type(W).__name__} and {type(b).__name__}.", "not_array")
        if W.shape != w_shape:
            hint, code = "", "wrong_shape"
            if W.shape == w_shape[::-1]:
                code = "transposed"
                hint = (" It looks transposed: rows are units of this layer, "
                        "columns units of the previous one.")
            elif W.shape == b_shape and b.shape == w_shape:
                hint, code = " W and b look swapped.", "swapped_w_b"
            raise CheckFailed(f"W{l} has shape {W.shape}, expected {w_shape} "
                              f"= (layers_dims[{l}], layers_dims[{l - 1}]).{hint}", code)
        if b.shape != b_shape:
            hint = ""
            if b.shape == (dims[l],):
                hint = " Use a column: np.zeros((n, 1)), not np.zeros(n)."
            code = "bias_flat" if hint else "wrong_bias_shape"
            raise CheckFailed(f"b{l} has shape {b.shape}, expected {b_shape}.{hint}", code)
        for name, array in ((f"W{l}", W), (f"b{l}", b)):
            if not np.issubdtype(array.dtype, np.floating):
                raise CheckFailed(f"{name} holds {array.dtype} values; the network "
                                  "needs floating-point arrays.", "not_float")


def _check_biases_zero(params, dims):
    for l in range(1, len(dims)):
        b = params[f"b{l}"]
        if np.any(b != 0):
            raise CheckFailed(f"b{l} should be all zeros, but it holds values such "
                              f"as {b.ravel()[np.flatnonzero(b)[0]]:.4g}.", "bias_not_zero")


def _check_weights(params, kind):
    example = EXAMPLES[kind]
    for key in ("W1", "W2"):
        expected = np.array(example[key])
        got = params[key]
        if np.allclose(got, expected, atol=1e-7):
            continue
        hint, code = _weight_hint(got, expected)
        # the hint on a line of its own: nbgrader's Validate dialog does not wrap
        raise CheckFailed(f"{key} does not match the expected values for "
                          f"layers_dims={example['dims']}.\n{hint.strip()}\n"
                          f"expected {key} =\n{np.array2string(expected, precision=8)}\n"
                          f"got {key} =\n{np.array2string(got, precision=8)}", code)


def _weight_hint(got, expected):
    if np.allclose(got, -expected, atol=1e-7):
        return " The signs are flipped.", "sign_flipped"
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = got / expected
    if np.all(np.isfinite(ratio)) and np.allclose(ratio, ratio.flat[0], rtol=1e-6):
        return (f" Every value is {ratio.flat[0]:.4g} times the expected one: "
                "the random numbers are right but the scale factor is not.", "wrong_scale")
    if np.all(got >= 0):
        return (" All values are non-negative: np.random.rand draws uniform numbers "
                "in [0, 1); use np.random.randn for Gaussian ones.", "uniform_rand")
    return (" Check that np.random.seed(3) runs once, before the loop, and that "
            "each W is drawn with np.random.randn(layers_dims[l], layers_dims[l-1]).",
            "wrong_values")


def _passed(func, what):
    print(f"Visible checks passed for {func.__name__} ({what}); {MORE_AT_GRADING}")


def zeros_structure(func):
    """Keys, shapes and dtypes of ``initialize_parameters_zeros([5, 3, 1])``."""
    dims = EXAMPLES["zeros"]["dims"]
    _check_structure(_call(func, dims), dims)
    _passed(func, "keys, shapes and float dtype")


def zeros_values(func):
    """Every weight and bias of the zeros initialization is exactly 0."""
    dims = EXAMPLES["zeros"]["dims"]
    params = _call(func, dims)
    _check_structure(params, dims)
    for l in range(1, len(dims)):
        W = params[f"W{l}"]
        if np.any(W != 0):
            raise CheckFailed(f"W{l} should be all zeros, but {np.count_nonzero(W)} of "
                              f"its {W.size} values are not.", "not_zero")
    _check_biases_zero(params, dims)
    _passed(func, "all values are zero")


def _random_like_structure(func, kind):
    dims = EXAMPLES[kind]["dims"]
    _check_structure(_call(func, dims), dims)
    _passed(func, "keys, shapes and float dtype")


def _random_like_values(func, kind):
    dims = EXAMPLES[kind]["dims"]
    params = _call(func, dims)
    _check_structure(params, dims)
    _check_biases_zero(params, dims)
    _check_weights(params, kind)
    _check_own_seed(func, dims, params)
    _passed(func, "example weights match and biases are zero")


def _check_own_seed(func, dims, params):
    np.random.seed(0)  # a caller's own seed must not change the result
    again = _call(func, dims)
    if not all(np.array_equal(again[k], params[k]) for k in params):
        raise CheckFailed(f"{func.__name__} gave different weights on a second call: "
                          "call np.random.seed(3) inside the function, before the loop.",
                          "seed_missing")


def random_structure(func):
    """Keys, shapes and dtypes of ``initialize_parameters_random([3, 2, 1])``."""
    _random_like_structure(func, "random")


def random_values(func):
    """The example weights (seed 3, scale 10) and zero biases."""
    _random_like_values(func, "random")


def he_structure(func):
    """Keys, shapes and dtypes of ``initialize_parameters_he([2, 4, 1])``."""
    _random_like_structure(func, "he")


def he_values(func):
    """The example weights (seed 3, scale sqrt(2 / n[l-1])) and zero biases."""
    _random_like_values(func, "he")


# ----------------------------------------------------------------------------
# Optional exercise: Xavier initialization (0 points, visible check only)
# ----------------------------------------------------------------------------

EXAMPLES["xavier"] = {
    "dims": [2, 4, 1],
    "W1": [[1.26475132, 0.30865908], [0.06823401, -1.31768833],
           [-0.19614308, -0.25085248], [-0.05850706, -0.44335643]],
    "W2": [[-0.02190908, -0.23860902, -0.65693238, 0.44231119]],
}


def xavier(func):
    """Optional exercise: keys, shapes, zero biases and the example weights
    (seed 3, scale sqrt(1 / n[l-1])) of ``initialize_parameters_xavier([2, 4, 1])``.

    The exercise carries no points, so a function that is not written yet
    gets a note, not a failure; a written but wrong one fails like the others.
    """
    dims = EXAMPLES["xavier"]["dims"]
    try:
        func(list(dims))
    except NotImplementedError:
        print(f"{func.__name__} is not written yet. This exercise is optional and "
              "carries no points; the Xavier parts of the experiments below are "
              "skipped until you write it.")
        return
    params = _call(func, dims)
    _check_structure(params, dims)
    _check_biases_zero(params, dims)
    try:
        _check_weights(params, "xavier")
    except CheckFailed as failure:
        message = str(failure).rsplit("[diagnosis:", 1)[0].rstrip()
        first, _, rest = message.partition("\n")
        raise CheckFailed(f"{first}{_xavier_convention_hint(params)}\n{rest}",
                          failure.code) from None
    _check_own_seed(func, dims, params)
    _passed(func, "keys, shapes, example weights and zero biases")


def _xavier_convention_hint(params):
    """Name the scale that was used when it is another well-known convention."""
    dims = EXAMPLES["xavier"]["dims"]
    expected = np.array(EXAMPLES["xavier"]["W1"])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.mean(params["W1"] / expected))
    fan_in, fan_out = dims[0], dims[1]
    known = {
        "He's sqrt(2 / n[l-1])": np.sqrt(2.0),
        "Glorot's sqrt(2 / (n[l-1] + n[l]))": np.sqrt(2.0 / (fan_in + fan_out) * fan_in),
        "the fan-out sqrt(1 / n[l])": np.sqrt(fan_in / fan_out),
    }
    for name, factor in known.items():
        if np.isfinite(ratio) and abs(ratio - factor) < 1e-6:
            return (f"\nThe scale used looks like {name}; this exercise uses "
                    "sqrt(1 / n[l-1]), the number of inputs of the layer only.")
    return ""
