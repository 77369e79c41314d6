"""The three graded exercises of the Initialization notebook, one record each.

Messages say what was observed and what usually causes it, in the words the
notebook uses, never the expected numbers or the grading layer sizes.
"""

from __future__ import annotations

from dataclasses import replace

from .record import CallHint, Check, Exercise, Mistake
from .reference import (
    Constant,
    Weights,
    fan_out_scale,
    glorot_scale,
    he_scale,
    he_without_root,
    xavier_scale,
)


def graded(name: str, structure: float = 4, values: float = 6) -> tuple[Check, ...]:
    """The two test cells every exercise has: its structure, then its values."""
    return (Check(f"{name}_structure", "structure", structure),
            Check(f"{name}_values", "values", values))


def drawing_mistakes(weights: Weights) -> tuple[Mistake, ...]:
    """Slips in how the random numbers are drawn, whatever the exercise's scale."""
    return (
        Mistake("reseeded_each_layer", replace(weights, reseed_each_layer=True),
                "The first layer is right but later layers repeat its random stream: "
                "np.random.seed(3) is being called inside the loop. Seed once, before "
                "the loop."),
        Mistake("uniform_rand", replace(weights, draw="rand"),
                "The weights look like np.random.rand (uniform on [0, 1)) times the right "
                "scale; the exercise needs Gaussian draws from np.random.randn."),
        Mistake("transposed_draw", replace(weights, transpose_draw=True),
                "The weights were drawn with the two dimensions swapped and then "
                "transposed, so the random numbers land in the wrong places. Draw "
                "randn(layers_dims[l], layers_dims[l-1]) directly."),
        Mistake("biases_drawn", replace(weights, biases_drawn=True),
                "Random numbers were drawn for the biases too; the biases must be zeros, "
                "and drawing them also shifts the weights of later layers."),
        Mistake("scale_missing", Weights(Constant(1.0)),
                "The weights are plain randn values: the scale factor is missing."),
        Mistake("scale_0.01", Weights(Constant(0.01)),
                "The weights are scaled by 0.01: that is the 'small random' recipe, not the "
                "one this exercise asks for."),
    )


ZEROS = Exercise(
    name="zeros", function="initialize_parameters_zeros", checks=graded("zeros"),
    weights=Weights(Constant(0.0)), recipe="zeros", example_dims=(5, 3, 1))

_LARGE = Weights(Constant(10.0))
RANDOM = Exercise(
    name="random", function="initialize_parameters_random", checks=graded("random"),
    weights=_LARGE, recipe="randn(...) * 10", example_dims=(3, 2, 1),
    mistakes=drawing_mistakes(_LARGE) + (
        Mistake("he_scale", Weights(he_scale),
                "The weights use He's scale; this exercise asks for randn * 10."),
    ))

_HE = Weights(he_scale)
HE = Exercise(
    name="he", function="initialize_parameters_he", checks=graded("he"),
    weights=_HE, recipe="randn(...) * sqrt(2 / n[l-1])", example_dims=(2, 4, 1),
    # in (2, 4, 1) layer 1's He factor is exactly 1, the same as several mistakes';
    # here every scale below gives a different factor in every layer
    more_example_dims=((3, 5, 4),),
    mistakes=drawing_mistakes(_HE) + (
        Mistake("xavier_scale", Weights(xavier_scale),
                "The weights use Xavier's scale sqrt(1 / n[l-1]); He's scale has a 2 in the "
                "numerator: sqrt(2 / n[l-1])."),
        Mistake("glorot_scale", Weights(glorot_scale),
                "The weights use Glorot's scale sqrt(2 / (n[l-1] + n[l])); He's scale "
                "depends only on the fan-in: sqrt(2 / n[l-1])."),
        Mistake("fan_out", Weights(fan_out_scale),
                "The weights are scaled with the fan-out sqrt(2 / n[l]); He's scale uses the "
                "fan-in, the size of the previous layer: sqrt(2 / n[l-1])."),
        Mistake("no_square_root", Weights(he_without_root),
                "The weights are scaled by 2 / n[l-1]; He's factor is the square root of "
                "that."),
        Mistake("scale_10", _LARGE,
                "The weights are scaled by 10 (the large-random recipe) instead of "
                "sqrt(2 / n[l-1])."),
    ))

# Errors numpy raises for the usual slips in calling it; the visible checks show the
# hint instead of a traceback, and the grader adds it to the error it reports.
CALL_HINTS = (
    CallHint("TypeError", "as a data type",
             "np.zeros takes the shape as one tuple, with two pairs of parentheses: "
             "np.zeros((rows, cols)), not np.zeros(rows, cols)."),
    CallHint("TypeError", "object cannot be interpreted as an integer",
             "np.random.randn takes the sizes as separate numbers: "
             "np.random.randn(rows, cols), not np.random.randn((rows, cols))."),
)

# in notebook order
EXERCISES = {exercise.name: exercise for exercise in (ZEROS, RANDOM, HE)}
