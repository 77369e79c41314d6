"""Turn a wrong answer into a message that names the likely mistake.

The messages say what was observed and what usually causes it, never the
expected numbers or the hidden layer sizes' reference arrays.
"""

from __future__ import annotations

import numpy as np

from . import reference

MESSAGES = {
    "reseeded_each_layer": "The first layer is right but later layers repeat its random "
                           "stream: np.random.seed(3) is being called inside the loop. "
                           "Seed once, before the loop.",
    "uniform_rand": "The weights look like np.random.rand (uniform on [0, 1)) times the "
                    "right scale; the exercise needs Gaussian draws from np.random.randn.",
    "transposed_draw": "The weights were drawn with the two dimensions swapped and then "
                       "transposed, so the random numbers land in the wrong places. Draw "
                       "randn(layers_dims[l], layers_dims[l-1]) directly.",
    "biases_drawn": "Random numbers were drawn for the biases too; the biases must be "
                    "zeros, and drawing them also shifts the weights of later layers.",
    "scale_missing": "The weights are plain randn values: the scale factor is missing.",
    "scale_0.01": "The weights are scaled by 0.01: that is the 'small random' recipe, "
                  "not the one this exercise asks for.",
    "xavier_scale": "The weights use Xavier's scale sqrt(1 / n[l-1]); He's scale has a 2 "
                    "in the numerator: sqrt(2 / n[l-1]).",
    "glorot_scale": "The weights use Glorot's scale sqrt(2 / (n[l-1] + n[l])); He's scale "
                    "depends only on the fan-in: sqrt(2 / n[l-1]).",
    "fan_out": "The weights are scaled with the fan-out sqrt(2 / n[l]); He's scale uses "
               "the fan-in, the size of the previous layer: sqrt(2 / n[l-1]).",
    "no_square_root": "The weights are scaled by 2 / n[l-1]; He's factor is the square "
                      "root of that.",
    "scale_10": "The weights are scaled by 10 (the large-random recipe) instead of "
                "sqrt(2 / n[l-1]).",
    "he_scale": "The weights use He's scale; this exercise asks for randn * 10.",
    "seed_missing": "The weights change from one call to the next: call np.random.seed(3) "
                    "at the start of the function, before the loop.",
    "hard_coded": "The function returns the same parameters whatever layers_dims it is "
                  "given: it looks hard-coded to the example. Build the arrays from "
                  "layers_dims in a loop.",
}


def close(a, b, rtol=1e-9, atol=1e-12) -> bool:
    """Elementwise closeness of two validated arrays (shapes must match)."""
    if a.shape != b.shape:
        return False
    return bool(((a - b).__abs__() <= atol + rtol * b.__abs__()).all())


def same_weights(params: dict, other: dict, dims) -> bool:
    return all(close(params[f"W{l}"], other[f"W{l}"]) for l in range(1, len(dims)))


def name_weight_mistake(kind: str, params: dict, dims) -> str | None:
    """The name of the variant whose weights equal the student's, if any."""
    for name, candidate in reference.variants(kind, dims).items():
        if same_weights(params, candidate, dims):
            return name
    return None


def describe_values(params: dict, dims) -> str:
    """A neutral summary of the student's weights (their own numbers, not ours)."""
    parts = []
    for l in range(1, len(dims)):
        W = params[f"W{l}"]
        spread = float(np.asarray(W).std()) if W.size else 0.0
        parts.append(f"W{l} std {spread:.3g}")
    return ", ".join(parts)
