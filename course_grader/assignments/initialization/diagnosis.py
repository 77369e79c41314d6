"""Compare a student's weights with the reference and name the likely mistake.

The messages say what was observed and what usually causes it, never the
expected numbers or the grading layer sizes.
"""

from __future__ import annotations

import numpy as np

from .exercises import CALL_HINTS
from .record import Exercise, Mistake
from .reference import layers

SEED_MISSING = ("The weights change from one call to the next: call np.random.seed(3) at "
                "the start of the function, before the loop.")
HARD_CODED = ("The function returns the same parameters whatever layers_dims it is given: "
              "it looks hard-coded to the example. Build the arrays from layers_dims in a "
              "loop.")


def not_zero(key: str) -> str:
    return (f"{key} has non-zero entries; every weight and bias of this initialization must "
            "be exactly 0.")


def call_hint(error: str, message: str) -> str | None:
    """The one-line hint for a usual slip in calling numpy, if the error is one."""
    for hint in CALL_HINTS:
        if error == hint.error and hint.fragment in message:
            return hint.hint
    return None


def close(a, b, rtol=1e-9, atol=1e-12) -> bool:
    """Elementwise closeness of two validated arrays (shapes must match)."""
    if a.shape != b.shape:
        return False
    return bool(((a - b).__abs__() <= atol + rtol * b.__abs__()).all())


def same_weights(params: dict, other: dict, dims) -> bool:
    return all(close(params[f"W{l}"], other[f"W{l}"]) for l in range(1, len(dims)))


def name_weight_mistake(exercise: Exercise, params: dict, dims) -> Mistake | None:
    """The exercise's first typical mistake whose weights equal the student's, if any."""
    for mistake in exercise.mistakes:
        if same_weights(params, layers(mistake.weights, dims), dims):
            return mistake
    return None


def describe_values(params: dict, dims) -> str:
    """A neutral summary of the student's weights (their own numbers, not ours)."""
    parts = []
    for l in range(1, len(dims)):
        W = params[f"W{l}"]
        spread = float(np.asarray(W).std()) if W.size else 0.0
        parts.append(f"W{l} std {spread:.3g}")
    return ", ".join(parts)
