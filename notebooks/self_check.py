"""Visible self-checks for the Initialization notebook.

Each check runs your function on the small example shown in the notebook and
either prints what passed or raises :class:`CheckFailed` with a message that
says what is wrong.  These checks only look at the visible examples; the
grader runs more checks on other layer sizes, so passing here is necessary,
not sufficient.

Every example below gets two checks, named after it: ``he_structure(func)``
and ``he_values(func)``, and so on.  When the weights are wrong in a way the
grader knows (Xavier's scale instead of He's, seeding inside the loop, ...),
the values check names that mistake with the grader's own words, which it
reads from ``visible_mistakes.json`` beside this file.
"""

from __future__ import annotations

import json
from pathlib import Path

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
CATALOGUE_FILE = "visible_mistakes.json"
_CATALOGUE = None


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


def _catalogue():
    """The grader's catalogue of mistakes for the examples (visible_mistakes.json, beside
    this file; the release writes it from the grader's records), or None if it is gone."""
    global _CATALOGUE
    if _CATALOGUE is None:
        try:
            with open(Path(__file__).with_name(CATALOGUE_FILE), encoding="utf-8") as file:
                _CATALOGUE = json.load(file)
        except (OSError, ValueError):
            return None
    return _CATALOGUE


def _needed_catalogue():
    catalogue = _catalogue()
    if catalogue is None:
        raise CheckFailed(f"{CATALOGUE_FILE} is missing or damaged: it belongs beside "
                          "self_check.py; download the assignment's files again.",
                          "visible_check")
    return catalogue


def _call_hint(error):
    """The one-line hint for a usual slip in calling numpy, if ``error`` is one."""
    for hint in (_catalogue() or {}).get("call_hints", []):
        if type(error).__name__ == hint["error"] and hint["fragment"] in str(error):
            return hint["hint"]
    return None


def _call(func, dims):
    given = list(dims)
    try:
        params = func(given)
    except NotImplementedError:
        raise CheckFailed(f"{func.__name__} is not written yet: replace the "
                          "`raise NotImplementedError()` line with your code.",
                          "not_implemented") from None
    except Exception as error:
        hint = _call_hint(error)
        if hint is None:
            raise  # the traceback shows the line of the student's code that failed
        raise CheckFailed(f"{func.__name__} raised {type(error).__name__}: {hint}",
                          "raised") from None
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
            raise CheckFailed(f"b{l} is not all zeros; biases start at exactly 0. It holds "
                              f"values such as {b.ravel()[np.flatnonzero(b)[0]]:.4g}.",
                              "bias_not_zero")


def _close(got, expected, rounded=False):
    """The grader's test of equal weights: same shape, equal to about 9 digits (to the
    8 printed decimals when ``expected`` is a printed example)."""
    expected = np.asarray(expected, dtype=float)
    atol, rtol = (1e-7, 0.0) if rounded else (1e-12, 1e-9)
    return got.shape == expected.shape and bool(
        np.all(np.abs(got - expected) <= atol + rtol * np.abs(expected)))


def _same_weights(params, weights, rounded=False):
    return all(_close(params[key], value, rounded) for key, value in weights.items())


def _check_example_weights(exercise, examples, results):
    """Compare the weights with every example's; name the grader's mistake if one fits.

    A mistake is named only when it gives the student's weights on *every*
    example, as the grader names one only when it fits the student's weights.
    """
    wrong = [i for i, example in enumerate(examples)
             if not _same_weights(results[i], example["expected"], example.get("rounded"))]
    if not wrong:
        return
    fits = [j for j in range(len(examples[0]["mistakes"]))
            if all(_same_weights(params, example["mistakes"][j]["weights"])
                   for params, example in zip(results, examples))]
    example, params = examples[wrong[0]], results[wrong[0]]
    key = next(k for k, value in example["expected"].items()
               if not _close(params[k], value, example.get("rounded")))
    expected, got = np.array(example["expected"][key]), params[key]
    if fits:
        mistake = example["mistakes"][fits[0]]
        hint, code = mistake["message"], mistake["code"]
    else:
        hint, code = _weight_hint(got, expected)
    # the hint on a line of its own: nbgrader's Validate dialog does not wrap
    raise CheckFailed(f"{key} does not match the expected values for "
                      f"layers_dims={example['dims']}.\n{hint.strip()}\n"
                      f"expected {key} =\n{np.array2string(expected, precision=8)}\n"
                      f"got {key} =\n{np.array2string(got, precision=8)}", code)


def _check_weights(params, kind):
    """The optional Xavier exercise's weights against the example (it has no catalogue)."""
    example = EXAMPLES[kind]
    for key in (name for name in example if name.startswith("W")):
        expected = np.array(example[key])
        got = params[key]
        if np.allclose(got, expected, atol=1e-7):
            continue
        hint, code = _weight_hint(got, expected)
        raise CheckFailed(f"{key} does not match the expected values for "
                          f"layers_dims={example['dims']}.\n{hint.strip()}\n"
                          f"expected {key} =\n{np.array2string(expected, precision=8)}\n"
                          f"got {key} =\n{np.array2string(got, precision=8)}", code)


def _weight_hint(got, expected):
    """A hint for weights no catalogued mistake explains; the grader calls them wrong_values."""
    if np.allclose(got, -expected, atol=1e-7):
        return " The signs are flipped.", "wrong_values"
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = got / expected
    if np.all(np.isfinite(ratio)) and np.allclose(ratio, ratio.flat[0], rtol=1e-6):
        return (f" Every value is {ratio.flat[0]:.4g} times the expected one: "
                "the random numbers are right but the scale factor is not.", "wrong_values")
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
    """In the grader's order: structure, the seed, the weights, then the biases."""
    entry = _needed_catalogue()["exercises"].get(exercise) or _uncatalogued(exercise)
    examples = entry["examples"]
    results = []
    for example in examples:
        params = _call(func, example["dims"])
        _check_structure(params, example["dims"])
        results.append(params)
    if not entry["random"]:  # every value must be 0
        for params, example in zip(results, examples):
            for l in range(1, len(example["dims"])):
                for key in (f"W{l}", f"b{l}"):
                    value = params[key]
                    if np.any(value != 0):
                        message = _needed_catalogue()["not_zero"].replace("{key}", key)
                        raise CheckFailed(f"{message} ({np.count_nonzero(value)} of its "
                                          f"{value.size} values are not 0.)", "not_zero")
        _passed(func, "all values are zero")
        return
    _check_own_seed(func, examples[0]["dims"], results[0])
    _check_example_weights(exercise, examples, results)
    for params, example in zip(results, examples):
        _check_biases_zero(params, example["dims"])
    sizes = " and ".join(str(example["dims"]) for example in examples)
    _passed(func, f"the weights for {sizes} match and the biases are zero")


def _uncatalogued(exercise):
    """An example the grader has no record of: its printed weights, no known mistakes."""
    example = EXAMPLES[exercise]
    weights = {key: value for key, value in example.items() if key.startswith("W")}
    return {"random": bool(weights), "examples": [
        {"dims": example["dims"], "expected": weights, "rounded": True,
         "mistakes": []}]}


def _check_own_seed(func, dims, params):
    np.random.seed(0)  # a caller's own seed must not change the result
    again = _call(func, dims)
    if not all(np.array_equal(again[k], params[k]) for k in params):
        raise CheckFailed(_needed_catalogue()["seed_missing"], "seed_missing")


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
        check.__doc__ = ("The same result whatever seed the caller set, the example weights "
                         f"(seed 3) for layers_dims={dims} and the sizes the notebook names "
                         "beside it, and zero biases; a typical mistake is named as the "
                         "grader names it.")
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
        params = _call(func, dims)
    except CheckFailed as failure:
        if failure.code != "not_implemented":
            raise
        print(f"{func.__name__} is not written yet. This exercise is optional and "
              "carries no points; the Xavier parts of the experiments below are "
              "skipped until you write it.")
        return
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
