"""Deep ReLU networks: where the scale of the initial weights decides everything.

Two experiments, both driven by initialization functions you pass in
(``layers_dims -> {"W1": ..., "b1": ..., ...}``, the same contract as the
functions you write in the notebook):

1. :func:`depth_experiment` sends a batch of random inputs through a deep
   stack of ReLU layers (30 layers of 300 units by default), measures the
   standard deviation of the activations layer by layer, and sends one
   gradient back to measure the size of every layer's gradient.
2. :func:`train_deep` trains a deeper ReLU network (10 hidden layers) on the
   rings with full-batch gradient descent, for a fixed number of steps.

Shapes follow the course: examples are columns, ``A[l]`` has shape
``(n[l], m)``, ``W[l]`` has shape ``(n[l], n[l-1])``.  Random numbers come
from ``numpy.random.default_rng(seed)`` created inside each call, so results
depend only on the arguments and never on, or change, numpy's global state.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

import numpy as np
from saturation import stable_cross_entropy

DEPTH, WIDTH, BATCH = 30, 300, 100
HIDDEN_LAYERS, HIDDEN_WIDTH = 10, 20


# ----------------------------------------------------------------------------
# Starting points that are not exercises
# ----------------------------------------------------------------------------

def scaled_gaussian(layers_dims, scale: float, seed: int = 0) -> dict:
    """Weights ``scale * N(0, 1)`` with the same ``scale`` in every layer, biases 0.

    ``layers_dims`` is ``[n_0, n_1, ..., n_L]``; returns ``W[l]`` of shape
    ``(n_l, n_{l-1})`` and ``b[l]`` of shape ``(n_l, 1)``.  The scale does
    not depend on the layer sizes (that is the point of the comparison), and
    the numbers come from ``default_rng(seed)``, not from ``np.random.seed``.
    """
    rng = np.random.default_rng(seed)
    parameters = {}
    for l in range(1, len(layers_dims)):
        parameters[f"W{l}"] = scale * rng.standard_normal((layers_dims[l], layers_dims[l - 1]))
        parameters[f"b{l}"] = np.zeros((layers_dims[l], 1))
    return parameters


def usable(initializers: Mapping[str, Callable], probe_dims=(2, 3, 1)) -> dict:
    """The initializers that are written: those not raising ``NotImplementedError``.

    Each function is called once on ``probe_dims``; for each one skipped a
    line says so, so an unfinished optional exercise leaves a note instead of
    an error.  Returns a dict with the same order, without the skipped ones.
    """
    ready = {}
    for name, init in initializers.items():
        try:
            init(list(probe_dims))
        except NotImplementedError:
            print(f"Skipping {name}: {getattr(init, '__name__', name)} is not written yet.")
            continue
        ready[name] = init
    return ready


# ----------------------------------------------------------------------------
# Experiment 1: one pass forward and back through 30 layers
# ----------------------------------------------------------------------------

def random_batch(n_features: int = WIDTH, m: int = BATCH, seed: int = 0) -> np.ndarray:
    """Standard normal inputs of shape (n_features, m), one example per column."""
    return np.random.default_rng(seed).standard_normal((n_features, m))


def forward_backward(X: np.ndarray, parameters: Mapping[str, np.ndarray],
                     keep_layers: Iterable[int] = (), seed: int = 1) -> dict:
    """One forward and one backward pass through a stack of ReLU layers.

    ``X`` is (n_0, m); ``parameters`` holds ``W1, b1, ..., WL, bL``.  Every
    layer is ``A[l] = relu(W[l] A[l-1] + b[l])``.  For the backward pass the
    network's loss is taken to be ``sum(G * A[L]) / m`` with ``G`` a fixed
    standard normal array (drawn from ``default_rng(seed)``): a stand-in for
    whatever loss sits on top, sending back a gradient of ordinary size.
    Returns arrays of shape (L,), entry ``l - 1`` for layer ``l``:

    - ``"std"``: standard deviation of ``A[l]`` over all units and examples;
    - ``"grad_W_norm"``: Frobenius norm of ``dJ/dW[l]``;
    - ``"grad_A_norm"``: Frobenius norm of ``dJ/dA[l]``, the gradient that
      reaches layer ``l`` from above;

    and ``"activations"``: ``{l: A[l]}`` for the layers in ``keep_layers``.
    """
    layers = len(parameters) // 2
    m = X.shape[1]
    inputs, masks = [], []  # A[l-1] and (Z[l] > 0) for every layer, for the backward pass
    std = np.empty(layers)
    keep = set(keep_layers)
    kept = {}
    A = np.asarray(X, dtype=float)
    for l in range(1, layers + 1):
        inputs.append(A)
        Z = parameters[f"W{l}"] @ A + parameters[f"b{l}"]
        masks.append(Z > 0)
        A = np.maximum(Z, 0.0)
        std[l - 1] = A.std()
        if l in keep:
            kept[l] = A
    G = np.random.default_rng(seed).standard_normal(A.shape)
    dA = G / m
    grad_W_norm = np.empty(layers)
    grad_A_norm = np.empty(layers)
    for l in range(layers, 0, -1):
        grad_A_norm[l - 1] = np.linalg.norm(dA)
        dZ = dA * masks[l - 1]
        grad_W_norm[l - 1] = np.linalg.norm(dZ @ inputs[l - 1].T)
        dA = parameters[f"W{l}"].T @ dZ
    return {"std": std, "grad_W_norm": grad_W_norm, "grad_A_norm": grad_A_norm,
            "activations": kept}


def depth_experiment(initializers: Mapping[str, Callable], depth: int = DEPTH,
                     width: int = WIDTH, m: int = BATCH, seed: int = 0,
                     keep_layers: Iterable[int] = ()) -> dict:
    """:func:`forward_backward` for each initializer on a ``depth``-layer, ``width``-wide stack.

    Every initializer gets ``layers_dims = [width] * (depth + 1)`` and the
    same input batch ``random_batch(width, m, seed)``.  Returns
    ``{name: result of forward_backward}`` in the order given.
    """
    X = random_batch(width, m, seed)
    dims = [width] * (depth + 1)
    return {name: forward_backward(X, init(list(dims)), keep_layers=keep_layers)
            for name, init in initializers.items()}


# ----------------------------------------------------------------------------
# Experiment 2: train a deeper network on the rings
# ----------------------------------------------------------------------------

def deep_forward(X: np.ndarray, parameters: Mapping[str, np.ndarray]):
    """ReLU hidden layers, sigmoid output.  ``X`` (n_x, m) -> ``(z_out (1, m), cache)``."""
    layers = len(parameters) // 2
    A = X
    cache = []
    for l in range(1, layers):
        Z = parameters[f"W{l}"] @ A + parameters[f"b{l}"]
        cache.append((A, Z > 0))
        A = np.maximum(Z, 0.0)
    cache.append((A, None))
    z_out = parameters[f"W{layers}"] @ A + parameters[f"b{layers}"]
    return z_out, cache


def deep_predict_labels(X: np.ndarray, parameters: Mapping[str, np.ndarray]) -> np.ndarray:
    """Integer labels (1, m): 1 where the deep network's output is above 0.5."""
    z_out, _ = deep_forward(X, parameters)
    return (z_out > 0).astype(int)


def train_deep(X: np.ndarray, Y: np.ndarray, initializer: Callable,
               hidden_layers: int = HIDDEN_LAYERS, width: int = HIDDEN_WIDTH,
               learning_rate: float = 0.01, num_iterations: int = 2000,
               every: int = 1) -> dict:
    """Full-batch gradient descent on a deep ReLU network with a sigmoid output.

    ``X`` is (n_x, m), ``Y`` is (1, m).  The layer sizes are
    ``[n_x] + [width] * hidden_layers + [1]`` and ``initializer`` receives
    that list.  The cost is the cross-entropy (computed stably from the
    output pre-activation, so it is always finite), recorded every
    ``every`` steps (by default every step, so a short spike shows) and once
    more after the last step, at ``num_iterations``.  Returns a dict with
    ``"iteration"`` and ``"cost"``
    (arrays of the same length), ``"parameters"`` (after training),
    ``"train_accuracy"`` (float) and ``"layers_dims"``.
    """
    dims = [X.shape[0]] + [width] * hidden_layers + [1]
    start = initializer(list(dims))
    layers = len(dims) - 1
    m = X.shape[1]
    # All weights and biases live in one flat buffer (and their gradients in
    # another), so a gradient step is one vectorised update; the arrays are
    # small, so per-call overhead, not arithmetic, is what costs time.
    shapes = [shape for l in range(1, layers + 1)
              for shape in ((dims[l], dims[l - 1]), (dims[l], 1))]
    sizes = [rows * cols for rows, cols in shapes]
    theta, grad = np.empty(sum(sizes)), np.empty(sum(sizes))
    offsets = np.cumsum([0] + sizes)
    views = [(theta[a:z].reshape(shape), grad[a:z].reshape(shape))
             for a, z, shape in zip(offsets[:-1], offsets[1:], shapes)]
    W, dW = [v[0] for v in views[0::2]], [v[1] for v in views[0::2]]
    b, db = [v[0] for v in views[1::2]], [v[1] for v in views[1::2]]
    for l in range(layers):
        W[l][...] = start[f"W{l + 1}"]
        b[l][...] = start[f"b{l + 1}"]
    Z = [np.empty((n, m)) for n in dims[1:]]
    A = [X] + [np.empty((n, m)) for n in dims[1:-1]]
    masks = [np.empty((n, m), dtype=bool) for n in dims[1:-1]]
    ones = np.ones((m, 1))  # db = dZ @ ones: the row sums, faster than np.sum here
    iterations, costs = [], []
    for i in range(num_iterations):
        for l in range(layers - 1):
            np.matmul(W[l], A[l], out=Z[l])
            Z[l] += b[l]
            np.greater(Z[l], 0.0, out=masks[l])
            np.maximum(Z[l], 0.0, out=A[l + 1])
        z_out = np.matmul(W[-1], A[-1], out=Z[-1])
        z_out += b[-1]
        if i % every == 0:
            iterations.append(i)
            costs.append(stable_cross_entropy(z_out, Y))
        # d cost / d z_out = (sigmoid(z_out) - Y) / m; tanh form never overflows
        dZ = 0.5 * (1.0 + np.tanh(0.5 * z_out)) - Y
        dZ /= m
        for l in range(layers - 1, -1, -1):
            np.matmul(dZ, A[l].T, out=dW[l])
            np.matmul(dZ, ones, out=db[l])
            if l > 0:
                dZ = np.matmul(W[l].T, dZ)
                dZ *= masks[l - 1]
        grad *= learning_rate
        theta -= grad
    parameters = {}
    for l in range(layers):
        parameters[f"W{l + 1}"], parameters[f"b{l + 1}"] = W[l].copy(), b[l].copy()
    # the cost the trained network ends with, so "after N steps" has its number
    iterations.append(num_iterations)
    costs.append(stable_cross_entropy(deep_forward(X, parameters)[0], Y))
    labels = deep_predict_labels(X, parameters)
    return {"iteration": np.array(iterations), "cost": np.array(costs),
            "parameters": parameters, "layers_dims": dims,
            "train_accuracy": float(np.mean(labels == Y))}


def first_iteration_below(run: Mapping, threshold: float) -> int | None:
    """First recorded iteration of ``run`` (from :func:`train_deep`) with cost below ``threshold``.

    ``None`` when the cost never got there.
    """
    below = np.flatnonzero(np.asarray(run["cost"]) < threshold)
    return int(run["iteration"][below[0]]) if below.size else None


def cost_spikes(run: Mapping, rise: float = 0.1) -> list[int]:
    """Steps of ``run`` (from :func:`train_deep`) where a spike starts: the recorded cost
    jumps up by more than ``rise`` from one record to the next.  Jumps a few records
    apart belong to the same spike, which is listed once, at its first jump."""
    jumps = np.flatnonzero(np.diff(np.asarray(run["cost"])) > rise)
    starts = [int(j) for k, j in enumerate(jumps) if k == 0 or j - jumps[k - 1] > 5]
    return [int(run["iteration"][j]) for j in starts]


# ----------------------------------------------------------------------------
# Plots
# ----------------------------------------------------------------------------

def plot_layer_std(results: Mapping[str, dict], ax=None, guide: bool = True,
                   title="Spread of the activations, layer by layer"):
    """Standard deviation of ``A[l]`` against ``l`` on a log scale, one line per start.

    ``results`` is the output of :func:`depth_experiment`.  With ``guide``, a
    dashed line shows ``2^{-l/2}`` (variance halving at every layer).
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.figure(figsize=(6.5, 4.2)).gca()
    for name, result in results.items():
        layers = np.arange(1, len(result["std"]) + 1)
        ax.plot(layers, result["std"], marker="o", ms=3, label=name)
    if guide and results:
        layers = np.arange(1, len(next(iter(results.values()))["std"]) + 1)
        ax.plot(layers, 2.0 ** (-layers / 2), "k--", lw=1, label="$2^{-l/2}$ (variance halves)")
    ax.set_yscale("log")
    ax.set_xlabel("layer $l$")
    ax.set_ylabel("std of activations $A^{[l]}$ (log scale)")
    ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, which="both")
    return ax


def plot_gradient_norms(results: Mapping[str, dict], ax=None, which: str = "W", title=None):
    """Per-layer gradient norms after one backward pass, log scale; returns the axes.

    ``which="W"`` draws ``||dJ/dW[l]||``, ``which="A"`` draws ``||dJ/dA[l]||``
    (the gradient arriving at layer ``l``).
    """
    import matplotlib.pyplot as plt

    key = {"W": "grad_W_norm", "A": "grad_A_norm"}[which]
    symbol = {"W": "W", "A": "A"}[which]
    ax = ax or plt.figure(figsize=(6.5, 4.2)).gca()
    for name, result in results.items():
        layers = np.arange(1, len(result[key]) + 1)
        ax.plot(layers, result[key], marker="o", ms=3, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("layer $l$")
    ax.set_ylabel(f"$\\|\\partial J / \\partial {symbol}^{{[l]}}\\|$ (log scale)")
    ax.set_title(title or f"Gradient with respect to ${symbol}^{{[l]}}$, one backward pass")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, which="both")
    return ax


def shared_range(results: Mapping[str, dict], layers: Iterable[int]) -> tuple[float, float]:
    """The x range the histograms share: 0 to the 99.9th percentile of all values shown."""
    return (0.0, max(float(np.percentile(results[n]["activations"][l], 99.9))
                     for n in results for l in layers))


def first_bin_share(results: Mapping[str, dict], layers: Iterable[int],
                    bins: int = 40) -> dict:
    """``{name: {layer: share}}``: the share of each layer's positive activations that fall
    in the first bin (next to 0) of :func:`plot_activation_histograms` with the same
    ``layers`` and ``bins``."""
    layers = list(layers)
    width = shared_range(results, layers)[1] / bins
    shares = {}
    for name, result in results.items():
        shares[name] = {}
        for l in layers:
            positive = result["activations"][l][result["activations"][l] > 0]
            shares[name][l] = float(np.mean(positive < width)) if positive.size else 1.0
    return shares


def plot_activation_histograms(results: Mapping[str, dict], layers: Iterable[int],
                               bins: int = 40, value_range=None):
    """A grid of histograms: one row per start in ``results``, one column per layer.

    Each ``results[name]["activations"]`` must hold the layers asked for
    (pass them as ``keep_layers`` to :func:`depth_experiment`).  Only the
    positive activations are counted (a ReLU sets about half to exactly 0 in
    every layer, whatever the start).  All panels share one x range (by
    default up to the 99.9th percentile of all the values shown; larger
    values are left out), so an activation that has shrunk shows up as a
    spike at 0.  Returns the figure.
    """
    import matplotlib.pyplot as plt

    layers = list(layers)
    names = list(results)
    if value_range is None:
        value_range = shared_range(results, layers)
    fig, axes = plt.subplots(len(names), len(layers), figsize=(2.7 * len(layers), 2.5 * len(names)),
                             sharex=True, squeeze=False)
    for row, name in enumerate(names):
        for col, l in enumerate(layers):
            ax = axes[row, col]
            values = results[name]["activations"][l]
            positive = values[values > 0]
            ax.hist(positive, bins=bins, range=value_range,
                    color=f"C{row}", label=f"std {values.std():.2g}")
            ax.set_title(f"{name}, layer {l}", fontsize="medium")
            ax.legend(fontsize="x-small", loc="upper right")
            if row == len(names) - 1:
                ax.set_xlabel("activation value")
            if col == 0:
                ax.set_ylabel("count (positive values)")
    fig.suptitle("Activations of the deep ReLU network, layer by layer")
    fig.tight_layout()
    return fig


def plot_deep_costs(runs: Mapping[str, dict], ax=None, title=None):
    """Cost against iteration for each run of :func:`train_deep`; returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.figure(figsize=(6.5, 4.2)).gca()
    for name, run in runs.items():
        ax.plot(run["iteration"], run["cost"],
                label=f"{name} (train accuracy {run['train_accuracy']:.0%})")
    if title is None and runs:
        dims = next(iter(runs.values()))["layers_dims"]
        title = (f"Training a deeper network: {len(dims) - 2} ReLU layers "
                 f"of {dims[1]} units")
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost (cross-entropy)")
    ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax
