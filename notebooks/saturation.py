"""Measuring saturation: when the sigmoid output is exactly 0.0 or 1.0.

The output unit of the 3-layer network computes ``a3 = sigmoid(z3)`` with
``z3`` of shape (1, m).  In float64, ``sigmoid(z)`` rounds to exactly 1.0
once ``z`` exceeds about 37, and to exactly 0.0 once ``z`` is below about
-709 (``exp(-z)`` overflows to inf).  A prediction that is exactly 0.0 or
1.0 on the wrong side makes the course's loss ``-log(0) = inf``.  The loss
written in terms of ``z3`` (:func:`stable_cross_entropy`) never overflows,
so it tells how bad the model is when the course's loss can only say "inf".

Nothing here draws random numbers or keeps state between calls.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

import model


def stable_cross_entropy(z: np.ndarray, Y: np.ndarray) -> float:
    """The course's cross-entropy cost computed from the pre-activations ``z`` (1, m).

    With ``a = sigmoid(z)``, ``-log(a) = log(1 + exp(-z))`` and
    ``-log(1 - a) = log(1 + exp(z))``.  ``np.logaddexp(0, t)`` evaluates
    ``log(1 + exp(t))`` without overflow, so the result is finite for every
    finite ``z``: about ``|z|`` for a confident wrong answer, about 0 for a
    confident right one.  ``Y`` has shape (1, m); returns the mean over m.
    """
    z = np.asarray(z, dtype=float)
    Y = np.asarray(Y, dtype=float)
    per_example = Y * np.logaddexp(0.0, -z) + (1.0 - Y) * np.logaddexp(0.0, z)
    return float(np.mean(per_example))


def output_layer_stats(X: np.ndarray, Y: np.ndarray,
                       parameters: Mapping[str, np.ndarray]) -> dict:
    """What the output layer does at the starting ``parameters`` (iteration 0).

    ``X`` is (n_x, m), ``Y`` is (1, m).  Returns a dict:

    - ``"z3"``: the output pre-activations, shape (1, m);
    - ``"abs_mean"``, ``"abs_max"``, ``"std"``: their magnitude;
    - ``"frac_zero"``, ``"frac_one"``: fraction of outputs exactly 0.0 / 1.0;
    - ``"frac_saturated"``: the two together;
    - ``"frac_wrong_saturated"``: fraction exactly 0.0 or 1.0 on the wrong
      side of the label, each of which alone makes the course's loss inf;
    - ``"course_loss"``: :func:`model.compute_loss`, ``"stable_loss"``:
      :func:`stable_cross_entropy`.
    """
    with np.errstate(over="ignore"):
        a3, records = model.forward_propagation(X, parameters)
    z3 = records[-1].Z
    is_zero, is_one = a3 == 0.0, a3 == 1.0
    wrong = (is_zero & (Y == 1)) | (is_one & (Y == 0))
    return {
        "z3": z3,
        "abs_mean": float(np.mean(np.abs(z3))),
        "abs_max": float(np.max(np.abs(z3))),
        "std": float(np.std(z3)),
        "frac_zero": float(np.mean(is_zero)),
        "frac_one": float(np.mean(is_one)),
        "frac_saturated": float(np.mean(is_zero | is_one)),
        "frac_wrong_saturated": float(np.mean(wrong)),
        "course_loss": model.compute_loss(a3, Y),
        "stable_loss": stable_cross_entropy(z3, Y),
    }


def loss_trace(X: np.ndarray, Y: np.ndarray, parameters: Mapping[str, np.ndarray],
               num_iterations: int = 2000, learning_rate: float = 0.01,
               every: int = 20) -> dict:
    """Train the 3-layer network and record both losses every ``every`` steps.

    Same gradient descent as :func:`model.model` (the course's gradients),
    written with the plain building blocks so that ``z3`` is at hand.
    Returns ``{"iteration": (k,), "course": (k,), "stable": (k,)}`` arrays
    with ``k = ceil(num_iterations / every)``; ``course`` may hold inf.
    """
    params = {key: np.array(value, dtype=float) for key, value in parameters.items()}
    iterations, course, stable = [], [], []
    with np.errstate(over="ignore"):
        for i in range(num_iterations):
            a3, cache = model.forward_propagation(X, params)
            if i % every == 0:
                iterations.append(i)
                course.append(model.compute_loss(a3, Y))
                stable.append(stable_cross_entropy(cache[-1].Z, Y))
            grads = model.backward_propagation(X, Y, cache)
            params = model.update_parameters(params, grads, learning_rate)
    return {"iteration": np.array(iterations), "course": np.array(course),
            "stable": np.array(stable)}


def plot_output_preactivations(stats: Mapping[str, dict], axes=None):
    """Histograms of ``z3`` at iteration 0, one panel per start; returns the axes.

    ``stats`` maps a label to the dict of :func:`output_layer_stats`.  Each
    panel has its own x range (the starts differ by orders of magnitude) and
    shades where the sigmoid rounds to exactly 0.0 or 1.0.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, len(stats), figsize=(5 * len(stats), 3.6), squeeze=False)
        axes = axes[0]
    for ax, (name, s) in zip(axes, stats.items()):
        z = s["z3"].ravel()
        ax.hist(z, bins=40, color="#555555",
                label=f"{name}: {s['frac_saturated']:.0%} of outputs exactly 0.0 or 1.0")
        low, high = ax.get_xlim()
        if high > 36.7:
            ax.axvspan(36.7, high, color="#d62728", alpha=0.15,
                       label="sigmoid(z) = 1.0 exactly (z > 36.7)")
        if low < -709.8:
            ax.axvspan(low, -709.8, color="#1f77b4", alpha=0.15,
                       label="sigmoid(z) = 0.0 exactly (z < -709.8)")
        ax.set_xlim(low, high)
        ax.set_xlabel("output pre-activation $z^{[3]}$ at iteration 0")
        ax.set_ylabel("number of training examples")
        ax.set_title(f"{name}: $|z^{{[3]}}|$ up to {s['abs_max']:.3g}")
        # below the panel: inside, it covers the tallest bars
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2),
                  frameon=False)
    return axes


def plot_loss_trace(traces: Mapping[str, dict], ax=None,
                    title="Course loss and stable loss during training"):
    """Both losses of each trace of :func:`loss_trace` against the step, log scale.

    Infinite values of the course loss cannot be drawn; they are marked with
    crosses along the top edge and counted in the legend.
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.figure(figsize=(6.5, 4)).gca()
    top = max(float(np.max(t["stable"])) for t in traces.values()) * 3
    for name, t in traces.items():
        (line,) = ax.plot(t["iteration"], t["stable"], "-", label=f"{name}: stable loss")
        finite = np.isfinite(t["course"])
        label = f"{name}: course loss"
        if not finite.all():
            label += f" ({(~finite).sum()} inf, marked x at the top)"
            ax.plot(t["iteration"][~finite], np.full((~finite).sum(), top), "x",
                    color=line.get_color(), ms=7)
        ax.plot(t["iteration"][finite], t["course"][finite], ":", lw=2.5,
                color=line.get_color(), label=label)
    ax.set_yscale("log")
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("cost (log scale)")
    ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, which="both")
    return ax
