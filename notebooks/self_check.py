"""Visible self-checks for the Initialization notebook.

Each check runs your function on the small example shown in the notebook and
either prints what passed or raises :class:`CheckFailed` with a message that
says what is wrong.  These checks only look at the visible examples; the
grader runs more checks on other layer sizes, so passing here is necessary,
not sufficient.

Every example below gets two checks, named after it: ``he_structure(func)``
and ``he_values(func)``, and so on.
"""

from __future__ import annotations

import numpy as np

# The examples the notebook prints (seed 3).  An example without weights is
# the zeros exercise's: every value must be 0.  "xavier" is the optional one.
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
    "xavier": {
        "dims": [2, 4, 1],
        "W1": [[1.26475132, 0.30865908], [0.06823401, -1.31768833],
               [-0.19614308, -0.25085248], [-0.05850706, -0.44335643]],
        "W2": [[-0.02190908, -0.23860902, -0.65693238, 0.44231119]],
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


def structure_problem(keys, values, dims):
    """What is wrong with the keys, shapes and dtypes an initializer returned, if anything.

    ``keys`` are the returned dict's keys in order (as text), ``values`` maps a
    key to its numpy array, or to the name of its type when it is not one.
    Returns ``(message, code)`` for the first problem found, or None.

    The grader runs this same function on the results of other layer sizes,
    reading it from the course's own copy of this file, so the visible and
    the grading checks agree.  That is why it takes plain data and its
    messages name no layer sizes, only the student's own shapes.
    """
    layers = len(dims) - 1
    wanted = [f"{name}{l}" for l in range(1, layers + 1) for name in ("W", "b")]
    missing = [key for key in wanted if key not in keys]
    extra = [key for key in keys if key not in wanted]
    if missing == [f"W{layers}", f"b{layers}"] and not extra:
        return (f"The last layer is missing (no W{layers}, b{layers}): the loop over layers "
                "must run up to and including L = len(layers_dims) - 1.", "missing_last_layer")
    if "W0" in extra or "b0" in extra:
        return ("There is a W0/b0: layer numbers start at 1, and W1 connects the input to "
                "the first hidden layer.", "off_by_one")
    if missing or extra or len(set(keys)) != len(keys):
        return (f"The dict should have exactly the keys W1, b1, ..., W{layers}, b{layers} for "
                f"a {layers}-layer network; missing {missing}, unexpected {extra}.",
                "wrong_keys")
    for l in range(1, layers + 1):
        for key in (f"W{l}", f"b{l}"):
            if not isinstance(values.get(key), np.ndarray):
                kind = values.get(key, "value that could not be read")
                return f"{key} is a {kind}; it must be a numpy array.", "not_array"
        W, b = values[f"W{l}"], values[f"b{l}"]
        w_shape, b_shape = (dims[l], dims[l - 1]), (dims[l], 1)
        if W.shape != w_shape:
            if W.shape == b_shape and b.shape == w_shape:
                return (f"W{l} and b{l} look swapped: W{l} has the bias's shape and b{l} the "
                        "weight matrix's.", "swapped_w_b")
            if W.shape == w_shape[::-1]:
                return (f"W{l} looks transposed: its shape must be (layers_dims[l], "
                        "layers_dims[l-1]), one row per unit of layer l.", "transposed")
            return (f"W{l} has shape {W.shape}; it must be (layers_dims[{l}], "
                    f"layers_dims[{l - 1}]).", "wrong_shape")
        if b.shape != b_shape:
            if b.shape == (dims[l],):
                return (f"b{l} is a flat vector; it must be a column of shape "
                        "(layers_dims[l], 1): np.zeros((n, 1)), not np.zeros(n).", "bias_flat")
            return f"b{l} has shape {b.shape}; it must be (layers_dims[{l}], 1).", \
                "wrong_bias_shape"
        for key, value in ((f"W{l}", W), (f"b{l}", b)):
            if value.dtype.kind != "f":
                return (f"{key} holds {value.dtype} values; use floating-point arrays "
                        "(np.zeros and np.random.randn give float64).", "not_float")
    return None


def _check_structure(params, dims):
    keys = [key if isinstance(key, str) else f"<{type(key).__name__}>" for key in params]
    values = {key: value if isinstance(value, np.ndarray) else type(value).__name__
              for key, value in params.items() if isinstance(key, str)}
    problem = structure_problem(keys, values, dims)
    if problem is None:
        return
    message, code = problem
    if code in ("swapped_w_b", "transposed", "wrong_shape", "bias_flat", "wrong_bias_shape"):
        # the example's sizes are no secret: spell its shapes out
        shapes = ", ".join(f"W{l} {(dims[l], dims[l - 1])}, b{l} {(dims[l], 1)}"
                           for l in range(1, len(dims)))
        message += f" Here that means {shapes}."
    raise CheckFailed(f"With layers_dims={dims}: {message}", code)


def _check_biases_zero(params, dims):
    for l in range(1, len(dims)):
        b = params[f"b{l}"]
        if np.any(b != 0):
            raise CheckFailed(f"b{l} should be all zeros, but it holds values such "
                              f"as {b.ravel()[np.flatnonzero(b)[0]]:.4g}.", "bias_not_zero")


def _check_weights(params, kind):
    example = EXAMPLES[kind]
    for key in (name for name in example if name.startswith("W")):
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


def _structure(exercise, func):
    dims = EXAMPLES[exercise]["dims"]
    _check_structure(_call(func, dims), dims)
    _passed(func, "keys, shapes and float dtype")


def _values(exercise, func):
    dims = EXAMPLES[exercise]["dims"]
    params = _call(func, dims)
    _check_structure(params, dims)
    if "W1" not in EXAMPLES[exercise]:  # no example weights: every value must be 0
        for l in range(1, len(dims)):
            W = params[f"W{l}"]
            if np.any(W != 0):
                raise CheckFailed(f"W{l} should be all zeros, but {np.count_nonzero(W)} of "
                                  f"its {W.size} values are not.", "not_zero")
        _check_biases_zero(params, dims)
        _passed(func, "all values are zero")
        return
    _check_biases_zero(params, dims)
    _check_weights(params, exercise)
    _check_own_seed(func, dims, params)
    _passed(func, "example weights match and biases are zero")


def _check_own_seed(func, dims, params):
    np.random.seed(0)  # a caller's own seed must not change the result
    again = _call(func, dims)
    if not all(np.array_equal(again[k], params[k]) for k in params):
        raise CheckFailed(f"{func.__name__} gave different weights on a second call: "
                          "call np.random.seed(3) inside the function, before the loop.",
                          "seed_missing")


def _visible_check(exercise, part):
    """``<exercise>_<part>(func)``, the function a test cell of the notebook calls."""
    dims = EXAMPLES[exercise]["dims"]
    run = _structure if part == "structure" else _values

    def check(func):
        run(exercise, func)

    check.__name__ = check.__qualname__ = f"{exercise}_{part}"
    if part == "structure":
        check.__doc__ = f"Keys, shapes and dtypes of the result for layers_dims={dims}."
    elif "W1" in EXAMPLES[exercise]:
        check.__doc__ = (f"The example weights for layers_dims={dims} (seed 3), zero "
                         "biases, and the same result whatever seed the caller set.")
    else:
        check.__doc__ = f"Every weight and bias is exactly 0 for layers_dims={dims}."
    return check


# ----------------------------------------------------------------------------
# Optional exercise: Xavier initialization (0 points, visible check only)
# ----------------------------------------------------------------------------



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


# One structure and one values check per example: he_structure, he_values, ...
for _exercise in EXAMPLES:
    for _part in ("structure", "values"):
        globals()[f"{_exercise}_{_part}"] = _visible_check(_exercise, _part)
