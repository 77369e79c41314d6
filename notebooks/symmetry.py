"""Measuring symmetry: when the units of a layer are all the same unit.

A hidden layer is only worth its width if its units differ.  Unit ``i`` of
layer ``l`` is row ``i`` of ``W[l]`` (shape ``(n[l], n[l-1])``) together with
entry ``i`` of ``b[l]`` (shape ``(n[l], 1)``).  If all rows start equal and
receive equal gradients, they stay equal for ever.  The functions here count
distinct rows and measure how different the rows of a gradient are, step by
step, on the provided 3-layer network of :mod:`model`.

Nothing here draws random numbers or keeps state between calls.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

import model

HIDDEN_LAYERS = (1, 2)  # the layers of the 3-layer network whose units can be compared


def constant_parameters(layers_dims, value: float) -> dict:
    """Every weight equal to ``value`` (non-zero), every bias 0.

    ``layers_dims`` is ``[n_x, n_1, ..., n_L]``; returns ``{"W1": (n_1, n_x),
    "b1": (n_1, 1), ...}``.  It exists to show that a non-zero but *equal*
    start is as symmetric as all zeros, so ``value`` must not be 0.
    """
    if value == 0:
        raise ValueError("constant_parameters needs a non-zero value; the all-zero "
                         "start is your initialize_parameters_zeros.")
    parameters = {}
    for l in range(1, len(layers_dims)):
        parameters[f"W{l}"] = np.full((layers_dims[l], layers_dims[l - 1]), float(value))
        parameters[f"b{l}"] = np.zeros((layers_dims[l], 1))
    return parameters


def unit_matrix(W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """One row per unit: ``W`` of shape (n, k), with ``b`` (n, 1) appended as a last column."""
    W = np.asarray(W, dtype=float)
    if b is None:
        return W
    return np.hstack([W, np.asarray(b, dtype=float).reshape(-1, 1)])


def distinct_rows(M: np.ndarray, rtol: float = 1e-9) -> int:
    """How many different rows ``M`` (shape (n, k)) has; 1 means every row is the same.

    Two rows count as equal when they differ by at most ``rtol`` times the
    largest absolute entry of ``M`` (an all-zero matrix has one distinct
    row).  The tolerance only forgives rounding in the last few digits; rows
    drawn at random differ by far more.
    """
    M = np.asarray(M, dtype=float)
    scale = float(np.max(np.abs(M))) if M.size else 0.0
    tolerance = rtol * scale
    representatives: list[np.ndarray] = []
    for row in M:
        if not any(np.max(np.abs(row - rep)) <= tolerance for rep in representatives):
            representatives.append(row)
    return len(representatives)


def row_spread(M: np.ndarray) -> float:
    """How far the rows of ``M`` (n, k) are from being identical, as a number in [0, 2].

    The largest difference between any row and the first row, divided by
    the largest absolute entry; 0.0 when all rows are exactly equal
    (including when ``M`` is all zeros), of order 1 when they are unrelated.
    """
    M = np.asarray(M, dtype=float)
    scale = float(np.abs(M).max()) if M.size else 0.0
    if scale == 0.0:
        return 0.0
    return float(np.abs(M - M[:1]).max() / scale)


def distinct_units(parameters: Mapping[str, np.ndarray], layers=HIDDEN_LAYERS) -> dict:
    """``{"W1": count, "W2": count}``: distinct units (rows of W with b) per hidden layer."""
    return {f"W{l}": distinct_rows(unit_matrix(parameters[f"W{l}"], parameters[f"b{l}"]))
            for l in layers}


def gradient_spread_trace(X: np.ndarray, Y: np.ndarray, parameters: Mapping[str, np.ndarray],
                          num_iterations: int = 500, learning_rate: float = 0.01) -> dict:
    """Train the 3-layer network and measure, at every step, how equal the units' gradients are.

    ``X`` is (n_x, m), ``Y`` is (1, m), ``parameters`` the starting point
    (keys ``W1 .. b3``).  Uses the plain building blocks of :mod:`model`, so
    the arithmetic is the course's.  Returns a dict with

    - ``"spread"``: array (num_iterations, 2), :func:`row_spread` of
      ``[dW, db]`` of hidden layers 1 and 2 at each step (0.0 = all units of
      the layer got the same gradient);
    - ``"grad_norm"``: array (num_iterations, 2), Frobenius norm of ``dW1``, ``dW2``;
    - ``"parameters"``: the parameters after the last step.
    """
    spread = np.empty((num_iterations, len(HIDDEN_LAYERS)))
    norms = np.empty((num_iterations, len(HIDDEN_LAYERS)))
    params = {key: np.array(value, dtype=float) for key, value in parameters.items()}
    with np.errstate(over="ignore"):
        for i in range(num_iterations):
            _, cache = model.forward_propagation(X, params)
            grads = model.backward_propagation(X, Y, cache)
            for j, l in enumerate(HIDDEN_LAYERS):
                spread[i, j] = row_spread(unit_matrix(grads[f"dW{l}"], grads[f"db{l}"]))
                norms[i, j] = np.linalg.norm(grads[f"dW{l}"])
            params = model.update_parameters(params, grads, learning_rate)
    return {"spread": spread, "grad_norm": norms, "parameters": params}


def plot_gradient_spread(traces: Mapping[str, dict], ax=None,
                         title="Do the units of a layer get different gradients?"):
    """One line per start and hidden layer: :func:`row_spread` of the gradient against the step.

    ``traces`` maps a label (e.g. ``"zeros"``) to the dict returned by
    :func:`gradient_spread_trace`.  Returns the axes.
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.figure(figsize=(6, 3.8)).gca()
    styles = ("-", "--")
    for k, (name, trace) in enumerate(traces.items()):
        steps = np.arange(trace["spread"].shape[0])
        # earlier lines are drawn wider, so a line lying on top of another
        # (zeros and a constant start are both flat on 0) leaves it visible
        width = 1.5 + 2.0 * (len(traces) - 1 - k)
        color = None
        for j, l in enumerate(HIDDEN_LAYERS):
            (line,) = ax.plot(steps, trace["spread"][:, j], styles[j], color=color,
                              lw=width, label=f"{name}, layer {l}")
            color = line.get_color()
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("spread of unit gradients\n(0 = all units equal)")
    ax.set_title(title)
    # beside the axes: inside, it covers the He curves
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.grid(alpha=0.3)
    return ax
