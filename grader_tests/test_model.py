"""The provided model: data, gradients, loss, predictions and published results."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pytest

import model
from course_grader.assignments.initialization import EXERCISES
from course_paths import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import plain_training  # noqa: E402

# The course's published He run (cost every 1000 iterations).  Published
# copies of the notebook disagree with each other in the last one or two
# digits, and so do machines (numpy's BLAS picks CPU-specific kernels: one
# prints ...366 at iteration 14000, another ...363).  Costs are therefore
# compared with a relative tolerance: 1e-9 is a million times what machines
# differ by and far below any digit the lesson quotes.
COST_RTOL = 1e-9
PUBLISHED_HE_COSTS = [
    0.8830537463419761, 0.6879825919728063, 0.6751286264523371, 0.6526117768893807,
    0.6082958970572938, 0.5304944491717495, 0.4138645817071794, 0.3117803464844441,
    0.23696215330322562, 0.18597287209206836, 0.1501555628037182, 0.12325079292273548,
    0.09917746546525937, 0.0845705595402428, 0.07357895962677366,
]


he_init = EXERCISES["he"].reference
large_init = EXERCISES["random"].reference
zeros_init = EXERCISES["zeros"].reference


@pytest.fixture(scope="module")
def data():
    return model.load_dataset()


def test_dataset_equals_scikit_learn(data):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    train_X, train_Y, test_X, test_Y = data
    np.random.seed(1)
    X, y = sklearn_datasets.make_circles(n_samples=300, noise=0.05)
    np.random.seed(2)
    tX, ty = sklearn_datasets.make_circles(n_samples=100, noise=0.05)
    np.testing.assert_array_equal(train_X, X.T)
    np.testing.assert_array_equal(train_Y, y.reshape(1, -1))
    np.testing.assert_array_equal(test_X, tX.T)
    np.testing.assert_array_equal(test_Y, ty.reshape(1, -1))
    assert train_X.shape == (2, 300) and test_Y.shape == (1, 100)


def test_load_dataset_leaves_global_random_state_alone():
    np.random.seed(42)
    before = np.random.get_state()[1].copy()
    model.load_dataset()
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_gradient_check_agrees_with_backpropagation(data):
    train_X, train_Y, _, _ = data
    X, Y = train_X[:, :40], train_Y[:, :40]
    params = he_init([2, 10, 5, 1])
    a3, cache = model.forward_propagation(X, params)
    grads = model.backward_propagation(X, Y, cache)
    eps = 1e-6
    for key in params:
        analytic = grads["d" + key]
        numeric = np.zeros_like(params[key])
        for index in np.ndindex(params[key].shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][index] += eps
            minus[key][index] -= eps
            cost_plus = model.compute_loss(model.forward_propagation(X, plus)[0], Y)
            cost_minus = model.compute_loss(model.forward_propagation(X, minus)[0], Y)
            numeric[index] = (cost_plus - cost_minus) / (2 * eps)
        difference = np.linalg.norm(analytic - numeric) / (
            np.linalg.norm(analytic) + np.linalg.norm(numeric) + 1e-12)
        assert difference < 1e-6, f"gradient of {key} is off by {difference:.2e}"


def test_loss_values():
    Y = np.array([[1, 0, 1, 0]])
    assert model.compute_loss(np.full((1, 4), 0.5), Y) == pytest.approx(math.log(2))
    a3 = np.array([[0.9, 0.2, 0.6, 0.1]])
    expected = -np.mean([math.log(0.9), math.log(0.8), math.log(0.6), math.log(0.9)])
    assert model.compute_loss(a3, Y) == pytest.approx(expected, rel=1e-12)
    # a confident wrong answer costs infinity, a confident right one nothing
    assert model.compute_loss(np.array([[0.0, 0.0]]), np.array([[1, 0]])) == math.inf
    assert model.compute_loss(np.array([[1.0, 0.0]]), np.array([[1, 0]])) == 0.0


def test_predict_thresholds_above_half_and_returns_integer_labels(capsys):
    params = zeros_init([2, 10, 5, 1])
    params["b3"] = np.array([[0.3]])  # sigmoid(0.3) > 0.5 everywhere
    X = np.zeros((2, 7))
    labels = model.predict(X, np.ones((1, 7), dtype=int), params)
    assert labels.shape == (1, 7)
    assert np.issubdtype(labels.dtype, np.integer)
    assert labels.tolist() == [[1] * 7]
    assert capsys.readouterr().out.strip() == "Accuracy: 1.0"
    params["b3"] = np.array([[0.0]])  # exactly 0.5 is not "> 0.5"
    assert model.predict_labels(X, params).tolist() == [[0] * 7]


def test_unknown_initialization_name_is_a_clear_value_error(data):
    train_X, train_Y, _, _ = data
    with pytest.raises(ValueError, match="Unknown initialization 'hee'.*'he'"):
        model.model(train_X, train_Y, "hee", initializers={"he": he_init})
    with pytest.raises(TypeError, match="initialization must be a function"):
        model.model(train_X, train_Y, 42)


def test_wrong_parameter_shapes_are_reported(data):
    train_X, train_Y, _, _ = data

    def transposed(dims):
        params = he_init(dims)
        params["W2"] = params["W2"].T
        return params

    with pytest.raises(ValueError, match=r"W2 has shape \(10, 5\); the network needs \(5, 10\)"):
        model.model(train_X, train_Y, transposed, num_iterations=1)


@pytest.mark.parametrize("init", [zeros_init, large_init, he_init])
def test_fast_training_prints_exactly_the_plain_loops_costs(data, init):
    train_X, train_Y, _, _ = data
    fast_params, fast_costs = model.model(train_X, train_Y, init, num_iterations=3001,
                                          print_cost=False)
    plain_params, plain_costs = plain_training.train_plainly(
        train_X, train_Y, init, num_iterations=3001, print_cost=False)
    assert fast_costs == plain_costs
    for key in plain_params:
        np.testing.assert_array_equal(fast_params[key], plain_params[key])


def test_published_results_are_reproduced(data, capsys):
    train_X, train_Y, test_X, test_Y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning may escape
        he_params, he_costs = model.model(train_X, train_Y, he_init)
        large_params, large_costs = model.model(train_X, train_Y, large_init)
        zero_params, zero_costs = model.model(train_X, train_Y, zeros_init)
    out = capsys.readouterr()
    assert out.err == ""
    printed = [float(line.split(": ")[1]) for line in out.out.splitlines()[:15]]
    assert printed == he_costs  # what is printed is what is returned
    assert len(he_costs) == 15
    for got, published in zip(he_costs, PUBLISHED_HE_COSTS):
        assert got == pytest.approx(published, rel=COST_RTOL)
    assert all(abs(c - math.log(2)) <= 2 * math.ulp(math.log(2)) for c in zero_costs)
    assert large_costs[0] == math.inf and all(math.isfinite(c) for c in large_costs[1:])
    accuracies = {
        name: (model.accuracy(model.predict_labels(train_X, p), train_Y),
               model.accuracy(model.predict_labels(test_X, p), test_Y))
        for name, p in (("zeros", zero_params), ("large", large_params), ("he", he_params))}
    assert accuracies == {"zeros": (0.5, 0.5), "large": (0.83, 0.86),
                          "he": (0.9933333333333333, 0.96)}


def test_cost_log_format(data, capsys):
    train_X, train_Y, _, _ = data
    _, costs = model.model(train_X, train_Y, zeros_init, num_iterations=2001)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Cost after iteration {i}: {c}" for i, c in zip((0, 1000, 2000), costs)]


def test_plots_label_axes_truthfully(data):
    import matplotlib

    matplotlib.use("Agg")
    train_X, train_Y, _, _ = data
    ax = model.plot_costs([math.inf, 0.6, 0.5])
    assert ax.get_xlabel() == "iteration (thousands)"
    assert "1 infinite value(s) not drawn" in ax.get_legend().get_texts()[0].get_text()
    ax = model.plot_decision_boundary(he_init([2, 10, 5, 1]), train_X, train_Y)
    assert ax.get_xlabel() == "$x_1$" and ax.get_title() == "Decision boundary"
