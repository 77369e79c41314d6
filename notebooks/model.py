"""The provided 3-layer network for the Initialization assignment.

Shapes follow the course convention: examples are columns, so an input
batch ``X`` has shape ``(n_features, m)`` and labels ``Y`` have shape
``(1, m)``.  Parameters live in a dict with keys ``"W1", "b1", ...``, where
``W[l]`` has shape ``(n[l], n[l-1])`` and ``b[l]`` has shape ``(n[l], 1)``.

The network is LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID.
Nothing here keeps state between calls; the only printing is the cost log
of :func:`model` and the accuracy line of :func:`predict`.
"""

from __future__ import annotations

from typing import Callable, Mapping, NamedTuple

import numpy as np

LAYERS_DIMS_HIDDEN = (10, 5)
LOG_EVERY = 1000

Initializer = Callable[[list], dict]


# ----------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------

def make_rings(n_samples: int, noise: float, rng: np.random.RandomState,
               factor: float = 0.8):
    """Two noisy concentric rings, as scikit-learn's ``make_circles`` draws them.

    Returns ``X`` of shape ``(n_samples, 2)`` and integer labels of shape
    ``(n_samples,)``: label 0 is the outer ring (radius 1), label 1 the inner
    ring (radius ``factor``).  The random draws (one shuffle, then Gaussian
    noise) are taken from ``rng`` in the same order as scikit-learn takes
    them, so the same seed gives the same array, bit for bit.
    """
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    angles_outer = np.linspace(0.0, 2.0 * np.pi, n_outer, endpoint=False)
    angles_inner = np.linspace(0.0, 2.0 * np.pi, n_inner, endpoint=False)
    xs = np.concatenate([np.cos(angles_outer), np.cos(angles_inner) * factor])
    ys = np.concatenate([np.sin(angles_outer), np.sin(angles_inner) * factor])
    points = np.stack([xs, ys], axis=1)
    labels = np.concatenate([np.zeros(n_outer, dtype=np.intp),
                             np.ones(n_inner, dtype=np.intp)])
    order = np.arange(n_samples)
    rng.shuffle(order)
    points = points[order]
    labels = labels[order]
    points = points + rng.normal(scale=noise, size=points.shape)
    return points, labels


def load_dataset():
    """The assignment's data: 300 training and 100 test points on two rings.

    Training points come from seed 1 and test points from seed 2, each with
    noise 0.05.  Returns ``train_X (2, 300), train_Y (1, 300), test_X (2, 100),
    test_Y (1, 100)``; labels are integers 0 (outer, blue) and 1 (inner, red).
    """
    train_points, train_labels = make_rings(300, 0.05, np.random.RandomState(1))
    test_points, test_labels = make_rings(100, 0.05, np.random.RandomState(2))
    return (train_points.T, train_labels.reshape(1, -1),
            test_points.T, test_labels.reshape(1, -1))


# ----------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------

def relu(z: np.ndarray) -> np.ndarray:
    """Elementwise max(0, z); same shape as ``z``."""
    return np.maximum(0, z)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Elementwise 1 / (1 + exp(-z)); same shape as ``z``.

    For z below about -709, exp(-z) overflows to inf and the result is an
    exact 0.0; that is the arithmetic the course relies on, so the overflow
    is silenced rather than avoided.
    """
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-z))


class LayerRecord(NamedTuple):
    """What one layer's forward step leaves behind for the backward pass.

    ``inputs`` is A[l-1] (n[l-1], m), ``W`` the layer's weights, ``Z`` its
    pre-activation (n[l], m) and ``A`` its output (n[l], m).
    """

    inputs: np.ndarray
    W: np.ndarray
    Z: np.ndarray
    A: np.ndarray


def forward_propagation(X: np.ndarray, parameters: Mapping[str, np.ndarray]):
    """Run the network on ``X`` of shape (n_x, m), one layer at a time.

    Every layer but the last applies a ReLU, the last a sigmoid.  Returns
    ``(output, records)``: ``output`` of shape (1, m) holds the predicted
    probability of label 1, and ``records`` is a list with one
    :class:`LayerRecord` per layer, first layer first.
    """
    depth = len(parameters) // 2
    records = []
    A = X
    for l in range(1, depth + 1):
        W = parameters[f"W{l}"]
        Z = np.dot(W, A) + parameters[f"b{l}"]
        out = sigmoid(Z) if l == depth else relu(Z)
        records.append(LayerRecord(A, W, Z, out))
        A = out
    return A, records


def compute_loss(a3: np.ndarray, Y: np.ndarray) -> float:
    """The course's cross-entropy cost, averaged over the m examples.

    ``a3`` and ``Y`` have shape (1, m).  Terms of the form 0 * log(0) come
    out as NaN and are skipped, as the course's ``nansum`` does; a confident
    wrong prediction (a3 exactly 0.0 or 1.0 on the wrong side) contributes
    +inf, which is why a badly saturated network reports an infinite cost.
    """
    m = Y.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_terms = (np.multiply(-np.log(a3), Y)
                     + np.multiply(-np.log(1 - a3), 1 - Y))
    return float(1.0 / m * np.nansum(log_terms))


def backward_propagation(X: np.ndarray, Y: np.ndarray, records) -> dict:
    """Gradients of :func:`compute_loss` with respect to every parameter.

    ``records`` is the list :func:`forward_propagation` returned.  Returns a
    dict with ``dW1, db1, ..., dWL, dbL``, each shaped like its parameter.
    The walk goes from the output back to the input; ``delta`` is always the
    gradient with respect to the current layer's pre-activation Z.
    """
    m = X.shape[1]
    # sigmoid followed by cross-entropy: dJ/dZ of the output is (A - Y) / m
    delta = 1.0 / m * (records[-1].A - Y)
    grads = {}
    for l in range(len(records), 0, -1):
        record = records[l - 1]
        grads[f"dW{l}"] = np.dot(delta, record.inputs.T)
        grads[f"db{l}"] = np.sum(delta, axis=1, keepdims=True)
        if l > 1:
            # through W back to the previous layer's output, then through its
            # ReLU, whose slope is 1 where that output is positive, else 0
            delta = np.multiply(np.dot(record.W.T, delta), record.inputs > 0)
    return grads


def update_parameters(parameters: Mapping[str, np.ndarray], grads: Mapping,
                      learning_rate: float) -> dict:
    """One gradient-descent step; returns a new dict, the input is untouched."""
    layers = len(parameters) // 2
    updated = {}
    for l in range(1, layers + 1):
        for name in ("W", "b"):
            key = f"{name}{l}"
            updated[key] = parameters[key] - learning_rate * grads["d" + key]
    return updated


def predict_labels(X: np.ndarray, parameters: Mapping[str, np.ndarray]):
    """Integer labels of shape (1, m): 1 where the network's output is > 0.5."""
    a3, _ = forward_propagation(X, parameters)
    return (a3 > 0.5).astype(int)


def predict(X: np.ndarray, Y: np.ndarray, parameters: Mapping[str, np.ndarray]):
    """Predict labels for ``X`` and print the accuracy against ``Y``.

    Returns the integer labels, shape (1, m).  Prints ``Accuracy: <fraction>``
    as the course does.
    """
    labels = predict_labels(X, parameters)
    print("Accuracy: " + str(accuracy(labels, Y)))
    return labels


def accuracy(labels: np.ndarray, Y: np.ndarray) -> float:
    """Fraction of positions where ``labels`` equals ``Y`` (both (1, m))."""
    return float(np.mean(labels[0, :] == Y[0, :]))


# ----------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------

def resolve_initializer(initialization, initializers: Mapping | None = None):
    """Turn ``initialization`` (a function, or a name in ``initializers``) into a function.

    Raises ``ValueError`` naming the choices when the name is unknown, and
    ``TypeError`` when it is neither a name nor a function.
    """
    if callable(initialization):
        return initialization
    if isinstance(initialization, str):
        choices = dict(initializers or {})
        if initialization in choices:
            return choices[initialization]
        known = ", ".join(repr(name) for name in choices) or "none were given"
        raise ValueError(
            f"Unknown initialization {initialization!r}. Known names: {known}. "
            "Pass one of those names, or pass the initialization function itself."
        )
    raise TypeError(
        "initialization must be a function such as initialize_parameters_he "
        f"or the name of one, not {type(initialization).__name__}"
    )


class _FlatNetwork:
    """Parameters and gradients of the network packed in two flat buffers.

    Why: the arrays are tiny (at most 10 x 300), so training time is mostly
    per-call overhead in numpy.  Keeping every W and b as a view into one
    buffer lets a whole gradient step be a single vectorised update, and
    preallocated work arrays avoid building new arrays each iteration.  The
    arithmetic is the same, operation for operation, as
    :func:`forward_propagation` and :func:`backward_propagation`, so the
    costs come out identical to the last digit.
    """

    def __init__(self, parameters: Mapping[str, np.ndarray], m: int):
        depth = len(parameters) // 2
        keys = [f"{name}{l}" for l in range(1, depth + 1) for name in ("W", "b")]
        shapes = [np.shape(parameters[key]) for key in keys]
        sizes = [int(np.prod(shape)) for shape in shapes]
        self.theta = np.empty(sum(sizes))
        self.grad = np.empty(sum(sizes))
        views, grads = {}, {}
        start = 0
        for key, shape, size in zip(keys, shapes, sizes):
            views[key] = self.theta[start:start + size].reshape(shape)
            grads[key] = self.grad[start:start + size].reshape(shape)
            views[key][...] = parameters[key]
            start += size
        self.params = views
        layers = range(1, depth + 1)
        self.W, self.b = [views[f"W{l}"] for l in layers], [views[f"b{l}"] for l in layers]
        self.dW, self.db = [grads[f"W{l}"] for l in layers], [grads[f"b{l}"] for l in layers]
        units = [W.shape[0] for W in self.W]
        self.Z = [np.empty((n, m)) for n in units]
        self.A = [np.empty((n, m)) for n in units]
        # hidden layers only: the output layer's delta lives in its Z buffer
        self.delta = [np.empty((n, m)) for n in units[:-1]]
        self.positive = [np.empty((n, m), bool) for n in units[:-1]]

    def forward(self, X):
        A = X
        last = len(self.W) - 1
        for l, (W, b, Z, out) in enumerate(zip(self.W, self.b, self.Z, self.A)):
            np.dot(W, A, out=Z)
            Z += b
            if l < last:
                np.maximum(0, Z, out=out)
            else:  # sigmoid, written into out step by step: 1 / (1 + exp(-Z))
                np.negative(Z, out=out)
                np.exp(out, out=out)  # may overflow to inf: see model()
                out += 1
                np.divide(1, out, out=out)
            A = out
        return A

    def backward(self, X, Y):
        m = X.shape[1]
        delta = self.Z[-1]  # the output's Z is not needed any more: reuse its storage
        np.subtract(self.A[-1], Y, out=delta)
        delta *= 1.0 / m
        for l in range(len(self.W) - 1, -1, -1):
            inputs = self.A[l - 1] if l > 0 else X
            np.dot(delta, inputs.T, out=self.dW[l])
            # np.add.reduce is what np.sum calls, minus its Python-level dispatch
            np.add.reduce(delta, axis=1, keepdims=True, out=self.db[l])
            if l > 0:
                np.dot(self.W[l].T, delta, out=self.delta[l - 1])
                np.greater(inputs, 0, out=self.positive[l - 1])
                delta = np.multiply(self.delta[l - 1], self.positive[l - 1],
                                    out=self.delta[l - 1])

    def step(self, learning_rate):
        self.grad *= learning_rate
        self.theta -= self.grad

    def export(self) -> dict:
        return {key: value.copy() for key, value in self.params.items()}


def model(X: np.ndarray, Y: np.ndarray, initialization, learning_rate: float = 0.01,
          num_iterations: int = 15000, print_cost: bool = True,
          initializers: Mapping | None = None):
    """Train the 3-layer network with full-batch gradient descent.

    ``initialization`` is an initialization function (``layers_dims -> dict``)
    or the name of one in ``initializers``.  The layer sizes are
    ``[n_x, 10, 5, 1]``.  Every ``LOG_EVERY`` iterations (0, 1000, ...) the
    cost is recorded and, with ``print_cost``, printed as
    ``Cost after iteration 1000: 0.69...``.

    Returns ``(parameters, costs)``: the trained parameters and the list of
    recorded costs, one per thousand iterations.
    """
    init = resolve_initializer(initialization, initializers)
    layers_dims = [X.shape[0], *LAYERS_DIMS_HIDDEN, 1]
    start = init(list(layers_dims))
    check_parameters(start, layers_dims)
    net = _FlatNetwork(start, X.shape[1])
    # float labels: a3 - Y then needs no int-to-float cast on every iteration
    Y_float = np.asarray(Y, dtype=float)
    costs = []
    # exp(-z) overflowing to inf is expected with huge weights (the sigmoid
    # is then exactly 0.0); one errstate around the loop keeps it quiet
    # without paying for a context manager on every iteration
    with np.errstate(over="ignore"):
        for i in range(num_iterations):
            a3 = net.forward(X)
            if i % LOG_EVERY == 0:
                # the cost is only needed where it is recorded: computing it
                # every iteration would cost more than the gradient step
                cost = compute_loss(a3, Y)
                costs.append(cost)
                if print_cost:
                    print(f"Cost after iteration {i}: {cost}")
            net.backward(X, Y_float)
            net.step(learning_rate)
    return net.export(), costs


def check_parameters(parameters, layers_dims) -> None:
    """Raise a readable ``ValueError`` if ``parameters`` cannot drive the network."""
    if not isinstance(parameters, Mapping):
        raise ValueError(
            "The initialization function must return a dict of parameters, "
            f"but it returned {type(parameters).__name__}.")
    for l in range(1, len(layers_dims)):
        expected = {f"W{l}": (layers_dims[l], layers_dims[l - 1]),
                    f"b{l}": (layers_dims[l], 1)}
        for key, shape in expected.items():
            if key not in parameters:
                raise ValueError(f"The parameters have no {key!r}; the network "
                                 f"needs W1, b1, ... up to W{len(layers_dims) - 1}.")
            if np.shape(parameters[key]) != shape:
                raise ValueError(f"{key} has shape {np.shape(parameters[key])}; "
                                 f"the network needs {shape}.")


# ----------------------------------------------------------------------------
# Plots
# ----------------------------------------------------------------------------

RING_COLORS = ("#1f77b4", "#d62728")  # label 0 blue, label 1 red


def plot_dataset(X, Y, ax=None, title="Training data"):
    """Scatter the points of ``X`` (2, m) coloured by ``Y`` (1, m); returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.figure(figsize=(4.5, 4.5)).gca()
    for label, color in enumerate(RING_COLORS):
        chosen = Y[0] == label
        ring = "outer ring" if label == 0 else "inner ring"
        ax.scatter(X[0, chosen], X[1, chosen], s=14, c=color,
                   label=f"label {label} ({ring})", edgecolors="none")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    ax.set_title(title)
    # below the axes: inside, it would hide the points of the outer ring
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize="small",
              frameon=False)
    return ax


def plot_costs(costs, ax=None, title="Cost during training", label=None,
               log_every=LOG_EVERY):
    """Plot recorded costs against iterations in thousands; returns the axes.

    Infinite costs (a saturated network) cannot be drawn; they are left out
    and marked in the legend so the gap is explained rather than hidden.
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.figure(figsize=(5.5, 3.5)).gca()
    costs = np.asarray(costs, dtype=float)
    thousands = np.arange(len(costs)) * log_every / 1000
    finite = np.isfinite(costs)
    line_label = label or "cost"
    if not finite.all():
        line_label += f" ({(~finite).sum()} infinite value(s) not drawn)"
    ax.plot(thousands[finite], costs[finite], marker="o", ms=3, label=line_label)
    ax.set_xlabel("iteration (thousands)")
    ax.set_ylabel("cost")
    ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def plot_decision_boundary(parameters, X, Y, ax=None, title="Decision boundary",
                           step=0.01):
    """Shade the regions the network labels 0 and 1 and overlay the points."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    ax = ax or plt.figure(figsize=(4.5, 4.5)).gca()
    x_min, x_max = X[0].min() - 0.25, X[0].max() + 0.25
    y_min, y_max = X[1].min() - 0.25, X[1].max() + 0.25
    grid_x, grid_y = np.meshgrid(np.arange(x_min, x_max, step),
                                 np.arange(y_min, y_max, step))
    grid = np.stack([grid_x.ravel(), grid_y.ravel()])
    regions = predict_labels(grid, parameters).reshape(grid_x.shape)
    ax.contourf(grid_x, grid_y, regions, levels=[-0.5, 0.5, 1.5],
                cmap=ListedColormap(["#c6dbef", "#fcbba1"]))
    plot_dataset(X, Y, ax=ax, title=title)
    return ax
