"""The seed-3 reference initializer, and the rules (scales) the exercises and mistakes use.

Everything is drawn from a private ``RandomState(3)``, which yields the same
numbers as ``np.random.seed(3)`` followed by ``np.random.randn`` without
touching the caller's global random state.  ``Weights`` describes how an
initializer draws: the exercises' correct rules and the typical wrong ones
(see ``exercises.py``) are all ``Weights``, so one function draws them all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

SEED = 3


@dataclass(frozen=True)
class Constant:
    """A scale that ignores the layer sizes (a class, not a lambda, so records pickle)."""

    value: float

    def __call__(self, n_prev: int, n: int) -> float:
        return self.value


def he_scale(n_prev: int, n: int) -> float:
    return math.sqrt(2.0 / n_prev)


def xavier_scale(n_prev: int, n: int) -> float:
    return math.sqrt(1.0 / n_prev)


def glorot_scale(n_prev: int, n: int) -> float:
    return math.sqrt(2.0 / (n_prev + n))


def fan_out_scale(n_prev: int, n: int) -> float:
    return math.sqrt(2.0 / n)


def he_without_root(n_prev: int, n: int) -> float:
    return 2.0 / n_prev


@dataclass(frozen=True)
class Weights:
    """How an initializer fills layer l: ``draw(n, n_prev) * scale(n_prev, n)``, biases zero.

    The switches describe common mistakes: uniform ``rand`` draws, reseeding
    before every layer, drawing ``(n_prev, n)`` and transposing, and drawing
    the biases from the same stream right after each W.  A scale of
    ``Constant(0.0)`` draws nothing: every weight is exactly 0.
    """

    scale: Callable[[int, int], float]
    draw: str = "randn"
    reseed_each_layer: bool = False
    transpose_draw: bool = False
    biases_drawn: bool = False

    @property
    def random(self) -> bool:
        """Whether the rule draws random numbers (and so depends on the seed)."""
        return not (isinstance(self.scale, Constant) and self.scale.value == 0)


def layers(weights: Weights, dims) -> dict:
    """The parameters ``weights`` gives for ``dims``: {"W1": ..., "b1": ..., ...}."""
    rng = np.random.RandomState(SEED)
    params = {}
    for l in range(1, len(dims)):
        n_prev, n = dims[l - 1], dims[l]
        if not weights.random:  # plain zeros, as np.zeros gives them (no -0.0)
            params[f"W{l}"], params[f"b{l}"] = np.zeros((n, n_prev)), np.zeros((n, 1))
            continue
        if weights.reseed_each_layer:
            rng = np.random.RandomState(SEED)
        sample = rng.rand if weights.draw == "rand" else rng.randn
        W = sample(n_prev, n).T if weights.transpose_draw else sample(n, n_prev)
        params[f"W{l}"] = W * weights.scale(n_prev, n)
        if weights.biases_drawn:
            params[f"b{l}"] = rng.randn(n, 1) * weights.scale(n_prev, n)
        else:
            params[f"b{l}"] = np.zeros((n, 1))
    return params


def initializer(scale: Callable[[int, int], float]) -> Callable[[list], dict]:
    """A plain ``initialize(layers_dims)`` with the reference weights for ``scale``.

    For the tests and benchmarks that train the provided model: the shipped
    modules must not hold the exercises' answers, so they take them from here.
    """
    weights = Weights(scale)

    def initialize(layers_dims):
        return layers(weights, layers_dims)

    return initialize
