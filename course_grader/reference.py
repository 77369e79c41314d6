"""Reference initializations and the typical wrong ones, for the hidden checks.

Everything is drawn from a private ``RandomState(3)``, which yields the same
numbers as ``np.random.seed(3)`` followed by ``np.random.randn`` without
touching the student's global random state.  A "variant" is a named, common
mistake; when a student's weights equal a variant's, the grader can name the
mistake instead of only saying "wrong values".
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

SEED = 3

# Layer sizes the student never sees in the notebook.  The wide fan-out case
# separates fan-in scaling (He), fan-out scaling and Xavier by large factors.
HIDDEN_DIMS = ([4, 7, 3, 5, 1], [6, 1], [100, 1000], [2, 10, 5, 1])


def he_scale(n_prev: int, n: int) -> float:
    return math.sqrt(2.0 / n_prev)


def xavier_scale(n_prev: int, n: int) -> float:
    return math.sqrt(1.0 / n_prev)


def glorot_scale(n_prev: int, n: int) -> float:
    return math.sqrt(2.0 / (n_prev + n))


def fan_out_scale(n_prev: int, n: int) -> float:
    return math.sqrt(2.0 / n)


def constant(value: float) -> Callable[[int, int], float]:
    return lambda n_prev, n: value


SCALES = {"zeros": constant(0.0), "random": constant(10.0), "he": he_scale}


def gaussian_layers(dims, scale, *, reseed_each_layer=False, draw="randn",
                    transpose_draw=False, bias=None):
    """Weights ``draw(n, n_prev) * scale(n_prev, n)`` layer by layer, biases zero.

    The keyword switches build the variants: reseeding before every layer,
    uniform ``rand`` draws, drawing ``(n_prev, n)`` then transposing, and
    biases drawn from the same stream right after each W.
    """
    rng = np.random.RandomState(SEED)
    params = {}
    for l in range(1, len(dims)):
        n_prev, n = dims[l - 1], dims[l]
        if reseed_each_layer:
            rng = np.random.RandomState(SEED)
        sample = rng.rand if draw == "rand" else rng.randn
        W = sample(n_prev, n).T if transpose_draw else sample(n, n_prev)
        params[f"W{l}"] = W * scale(n_prev, n)
        if bias == "random":
            params[f"b{l}"] = rng.randn(n, 1) * scale(n_prev, n)
        else:
            params[f"b{l}"] = np.zeros((n, 1))
    return params


def expected(kind: str, dims) -> dict:
    """The correct parameters for exercise ``kind`` on ``dims``."""
    return gaussian_layers(dims, SCALES[kind])


def variants(kind: str, dims) -> dict[str, dict]:
    """Named wrong answers for a random-type exercise, most specific first.

    Keys are short mistake names; the diagnosis module turns them into
    messages.
    """
    scale = SCALES[kind]
    found = {
        "reseeded_each_layer": gaussian_layers(dims, scale, reseed_each_layer=True),
        "uniform_rand": gaussian_layers(dims, scale, draw="rand"),
        "transposed_draw": gaussian_layers(dims, scale, transpose_draw=True),
        "biases_drawn": gaussian_layers(dims, scale, bias="random"),
        "scale_missing": gaussian_layers(dims, constant(1.0)),
        "scale_0.01": gaussian_layers(dims, constant(0.01)),
    }
    if kind == "he":
        found.update({
            "xavier_scale": gaussian_layers(dims, xavier_scale),
            "glorot_scale": gaussian_layers(dims, glorot_scale),
            "fan_out": gaussian_layers(dims, fan_out_scale),
            "no_square_root": gaussian_layers(dims, lambda n_prev, n: 2.0 / n_prev),
            "scale_10": gaussian_layers(dims, constant(10.0)),
        })
    if kind == "random":
        found["he_scale"] = gaussian_layers(dims, he_scale)
    return found
