"""The numbers behind the notebook's "why" sections: symmetry, saturation, depth.

Every assertion is on a number the modules compute, with a band wide enough
for another seed or BLAS, and narrow enough that a wrong scale or a broken
backward pass fails.
"""

from __future__ import annotations

import deep_relu
import numpy as np
import pytest
import saturation
import symmetry

import model
import self_check
from course_grader.assignments.initialization import EXERCISES
from course_grader.assignments.initialization.reference import (
    glorot_scale,
    initializer,
    xavier_scale,
)

# The reference initializers (seed 3) come from the grader: the shipped modules
# must not contain the exercises' answers.
zeros_init = EXERCISES["zeros"].reference
large_init = EXERCISES["random"].reference
he_init = EXERCISES["he"].reference
xavier_init = initializer(xavier_scale)
glorot_init = initializer(glorot_scale)

DIMS = [2, 10, 5, 1]


@pytest.fixture(scope="module")
def data():
    return model.load_dataset()


@pytest.fixture
def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


# ----------------------------------------------------------------------------
# Symmetry
# ----------------------------------------------------------------------------


def test_distinct_rows_counts_rows_up_to_rounding():
    W = np.array([[1.0, 2.0], [1.0, 2.0 + 1e-14], [3.0, 4.0], [1.0, 2.0]])
    assert symmetry.distinct_rows(W) == 2
    assert symmetry.distinct_rows(np.zeros((7, 3))) == 1
    assert symmetry.distinct_rows(np.eye(4)) == 4
    assert symmetry.distinct_rows(W[:, :1] + np.array([[0.0], [1e-3], [0.0], [0.0]])) == 3
    assert symmetry.row_spread(np.ones((3, 2))) == 0.0
    assert symmetry.row_spread(np.zeros((3, 2))) == 0.0
    assert symmetry.row_spread(np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(1.0)


def test_constant_parameters_are_constant_and_refuse_zero():
    params = symmetry.constant_parameters([3, 4, 1], 0.5)
    assert params["W1"].shape == (4, 3) and params["b1"].shape == (4, 1)
    assert np.all(params["W1"] == 0.5) and np.all(params["W2"] == 0.5)
    assert np.all(params["b2"] == 0)
    with pytest.raises(ValueError):
        symmetry.constant_parameters([3, 4, 1], 0)


@pytest.mark.parametrize("start", ["zeros", "constant"])
def test_a_symmetric_start_trains_into_one_unit_per_layer(data, start):
    X, Y, _, _ = data
    init = zeros_init if start == "zeros" else (lambda d: symmetry.constant_parameters(d, 0.5))
    trained, _ = model.model(X, Y, init, num_iterations=3000, print_cost=False)
    assert symmetry.distinct_units(trained) == {"W1": 1, "W2": 1}
    if start == "constant":  # the weights did move, they just moved together
        assert not np.allclose(trained["W1"], 0.5)


def test_a_random_start_keeps_every_unit_distinct(data):
    X, Y, _, _ = data
    trained, _ = model.model(X, Y, he_init, num_iterations=3000, print_cost=False)
    assert symmetry.distinct_units(trained) == {"W1": 10, "W2": 5}
    assert symmetry.distinct_units(large_init(DIMS)) == {"W1": 10, "W2": 5}


def test_unit_gradients_are_equal_at_every_step_for_symmetric_starts(data):
    X, Y, _, _ = data
    zeros = symmetry.gradient_spread_trace(X, Y, zeros_init(DIMS), num_iterations=200)
    assert zeros["spread"].shape == (200, 2)
    assert np.all(zeros["spread"] == 0.0)
    assert np.all(zeros["grad_norm"] == 0.0)  # ReLU of 0 is 0: no gradient reaches W1, W2

    constant = symmetry.gradient_spread_trace(
        X, Y, symmetry.constant_parameters(DIMS, 0.5), num_iterations=200)
    assert np.all(constant["grad_norm"] > 0)  # non-zero gradients ...
    assert constant["spread"].max() < 1e-9    # ... but the same for every unit
    assert symmetry.distinct_units(constant["parameters"]) == {"W1": 1, "W2": 1}

    random = symmetry.gradient_spread_trace(X, Y, he_init(DIMS), num_iterations=200)
    assert random["spread"].min() > 0.05


# ----------------------------------------------------------------------------
# Saturation
# ----------------------------------------------------------------------------


def test_stable_loss_agrees_with_the_course_loss_where_both_are_finite():
    z = np.random.RandomState(0).uniform(-8, 8, size=(1, 400))
    Y = (np.random.RandomState(1).rand(1, 400) > 0.5).astype(int)
    assert saturation.stable_cross_entropy(z, Y) == pytest.approx(
        model.compute_loss(model.sigmoid(z), Y), rel=1e-10)


def test_stable_loss_stays_finite_and_grows_like_the_margin():
    Y = np.array([[1, 0, 1, 0]])
    wrong = np.array([[-1000.0, 1000.0, -800.0, 800.0]])
    right = -wrong
    assert model.compute_loss(model.sigmoid(wrong), Y) == np.inf
    assert saturation.stable_cross_entropy(wrong, Y) == pytest.approx(900.0)
    assert saturation.stable_cross_entropy(right, Y) < 1e-300
    assert saturation.stable_cross_entropy(np.zeros((1, 4)), Y) == pytest.approx(np.log(2))


def test_large_random_start_saturates_the_output_and_makes_the_first_cost_infinite(data):
    X, Y, _, _ = data
    big = saturation.output_layer_stats(X, Y, large_init(DIMS))
    assert big["z3"].shape == (1, 300)
    assert big["abs_mean"] > 100
    assert big["frac_saturated"] >= 0.9
    assert big["frac_saturated"] == pytest.approx(big["frac_zero"] + big["frac_one"])
    assert big["frac_wrong_saturated"] > 0
    assert big["course_loss"] == np.inf
    assert np.isfinite(big["stable_loss"]) and big["stable_loss"] > 100

    he = saturation.output_layer_stats(X, Y, he_init(DIMS))
    assert he["abs_max"] < 10
    assert he["frac_saturated"] == 0.0
    assert he["course_loss"] == pytest.approx(he["stable_loss"], rel=1e-9)
    assert he["course_loss"] < 1.5


def test_loss_trace_shows_inf_only_in_the_course_loss(data):
    X, Y, _, _ = data
    big = saturation.loss_trace(X, Y, large_init(DIMS), num_iterations=200, every=10)
    assert big["iteration"].tolist() == list(range(0, 200, 10))
    assert big["course"][0] == np.inf
    assert np.all(np.isfinite(big["stable"]))
    finite = np.isfinite(big["course"])
    assert np.allclose(big["course"][finite], big["stable"][finite], rtol=1e-6)
    he = saturation.loss_trace(X, Y, he_init(DIMS), num_iterations=200, every=10)
    assert np.all(np.isfinite(he["course"]))
    assert he["stable"][-1] < he["stable"][0]


# ----------------------------------------------------------------------------
# Depth: 30 ReLU layers of 300 units
# ----------------------------------------------------------------------------

LAYER_NUMBERS = np.arange(1, deep_relu.DEPTH + 1)


@pytest.fixture(scope="module")
def depth_results():
    inits = {"x0.01": lambda d: deep_relu.scaled_gaussian(d, 0.01),
             "x10": lambda d: deep_relu.scaled_gaussian(d, 10.0),
             "xavier": xavier_init, "he": he_init}
    return deep_relu.depth_experiment(inits, keep_layers=(1, 30))


def test_xavier_activation_std_halves_in_variance_per_layer(depth_results):
    std = depth_results["xavier"]["std"]
    assert std.shape == (30,)
    ratio = std / 2.0 ** (-LAYER_NUMBERS / 2)
    assert np.all((ratio > 0.3) & (ratio < 3)), ratio
    assert 3e-6 < std[29] < 1e-4
    assert np.all(np.diff(std) < 0)


def test_he_activation_std_stays_of_order_one(depth_results):
    std = depth_results["he"]["std"]
    assert np.all((std > 0.2) & (std < 5)), std


def test_small_weights_vanish_and_large_weights_explode(depth_results):
    small, large = depth_results["x0.01"]["std"], depth_results["x10"]["std"]
    assert small[29] < 1e-20 and np.all(np.diff(small) < 0)
    assert large[29] > 1e50 and np.all(np.diff(large) > 0)
    assert np.all(np.isfinite(large))


def test_gradients_vanish_or_explode_on_the_way_back_except_with_he(depth_results):
    he = depth_results["he"]["grad_A_norm"]
    assert he.max() / he.min() < 10
    xavier = depth_results["xavier"]["grad_A_norm"]
    assert xavier[0] < 1e-3 * xavier[-1]
    large = depth_results["x10"]["grad_A_norm"]
    assert large[0] > 1e40 * large[-1]
    small = depth_results["x0.01"]["grad_A_norm"]
    assert small[0] < 1e-20 * small[-1]
    # the weight gradients of every layer are tiny with Xavier compared with He
    assert np.all(depth_results["he"]["grad_W_norm"] > 1e3 * depth_results["xavier"]["grad_W_norm"])


def test_depth_experiment_keeps_the_layers_asked_for(depth_results):
    kept = depth_results["he"]["activations"]
    assert sorted(kept) == [1, 30]
    assert kept[30].shape == (deep_relu.WIDTH, deep_relu.BATCH)
    assert kept[30].std() == pytest.approx(depth_results["he"]["std"][29])


def test_forward_backward_gradient_matches_finite_differences():
    rng = np.random.RandomState(5)
    dims = [4, 6, 5, 3]
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = rng.randn(dims[l], dims[l - 1])
        params[f"b{l}"] = rng.randn(dims[l], 1) * 0.1
    X = rng.randn(4, 7)
    result = deep_relu.forward_backward(X, params, seed=2)
    G = np.random.default_rng(2).standard_normal((3, 7))

    def loss(p):
        A = X
        for l in range(1, len(dims)):
            A = np.maximum(p[f"W{l}"] @ A + p[f"b{l}"], 0)
        return float(np.sum(G * A) / X.shape[1])

    eps = 1e-6
    for l in range(1, len(dims)):
        numeric = np.zeros_like(params[f"W{l}"])
        for idx in np.ndindex(numeric.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[f"W{l}"][idx] += eps
            minus[f"W{l}"][idx] -= eps
            numeric[idx] = (loss(plus) - loss(minus)) / (2 * eps)
        assert result["grad_W_norm"][l - 1] == pytest.approx(np.linalg.norm(numeric), rel=1e-5)


def test_experiments_neither_use_nor_change_the_global_random_state():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = deep_relu.depth_experiment(
        {"x0.01": lambda d: deep_relu.scaled_gaussian(d, 0.01)}, depth=3, width=8, m=5)
    assert np.array_equal(np.random.get_state()[1], before)
    np.random.seed(7)
    second = deep_relu.depth_experiment(
        {"x0.01": lambda d: deep_relu.scaled_gaussian(d, 0.01)}, depth=3, width=8, m=5)
    assert np.array_equal(first["x0.01"]["std"], second["x0.01"]["std"])


def test_scaled_gaussian_is_not_the_large_random_exercise():
    ours = deep_relu.scaled_gaussian([3, 2, 1], 10.0, seed=3)
    assert ours["W1"].shape == (2, 3) and np.all(ours["b1"] == 0)
    expected = np.array(self_check.EXAMPLES["random"]["W1"])
    assert not np.allclose(ours["W1"], expected, atol=1e-3)


def test_usable_skips_unwritten_initializers(capsys):
    def initialize_parameters_xavier(layers_dims):
        raise NotImplementedError()

    ready = deep_relu.usable({"Xavier": initialize_parameters_xavier, "He": he_init})
    assert list(ready) == ["He"]
    assert "initialize_parameters_xavier is not written yet" in capsys.readouterr().out


# ----------------------------------------------------------------------------
# Training a deeper network on the rings: He gets going, Xavier stalls
# ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deep_runs(data):
    X, Y, _, _ = data
    return {name: deep_relu.train_deep(X, Y, init)
            for name, init in (("xavier", xavier_init), ("he", he_init))}


def test_deep_training_he_learns_where_xavier_stalls(deep_runs):
    he, xavier = deep_runs["he"], deep_runs["xavier"]
    assert he["layers_dims"] == [2] + [20] * 10 + [1]
    assert len(he["parameters"]) == 22
    # every step recorded, and the cost after the last one: "after 2000 steps" has a number
    assert he["iteration"].shape == he["cost"].shape == (2001,)
    assert he["iteration"][-1] == 2000 and he["iteration"][-2] == 1999
    assert he["cost"][-1] < 0.1 and he["train_accuracy"] > 0.95
    assert xavier["cost"][-1] > 0.6 and xavier["train_accuracy"] < 0.8
    assert deep_relu.first_iteration_below(he, 0.6) is not None
    assert deep_relu.first_iteration_below(xavier, 0.6) is None
    # both start near log 2: the difference is made by training, not by the start
    assert abs(he["cost"][0] - np.log(2)) < 0.2 and abs(xavier["cost"][0] - np.log(2)) < 0.2


def test_deep_training_gradient_is_the_true_gradient(data):
    """One step of train_deep moves the cost as its own gradient predicts."""
    X, Y, _, _ = data
    start = he_init([2] + [20] * 10 + [1])
    lr = 1e-4
    one = deep_relu.train_deep(X, Y, lambda d: start, learning_rate=lr, num_iterations=1)

    def cost(p):
        z, _ = deep_relu.deep_forward(X, p)
        return saturation.stable_cross_entropy(z, Y)

    moved = {k: start[k] - one["parameters"][k] for k in start}  # = lr * gradient
    predicted_drop = sum(float(np.sum(v * v)) for v in moved.values()) / lr
    actual_drop = cost(start) - cost(one["parameters"])
    assert actual_drop == pytest.approx(predicted_drop, rel=1e-2)


def test_deep_training_leaves_the_start_untouched(data):
    X, Y, _, _ = data
    start = he_init([2] + [20] * 10 + [1])
    copy = {k: v.copy() for k, v in start.items()}
    deep_relu.train_deep(X, Y, lambda d: start, num_iterations=3)
    assert all(np.array_equal(start[k], copy[k]) for k in start)


# ----------------------------------------------------------------------------
# Plots: titles, labelled axes, legends, log scale where the numbers span decades
# ----------------------------------------------------------------------------


def _assert_labelled(ax, log=False):
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_legend() is not None and ax.get_legend().get_texts()
    if log:
        assert ax.get_yscale() == "log"


def test_plots_are_titled_labelled_and_have_legends(pyplot, data, depth_results, deep_runs):
    X, Y, _, _ = data
    _assert_labelled(deep_relu.plot_layer_std(depth_results), log=True)
    _assert_labelled(deep_relu.plot_gradient_norms(depth_results, which="W"), log=True)
    _assert_labelled(deep_relu.plot_gradient_norms(depth_results, which="A"), log=True)
    _assert_labelled(deep_relu.plot_deep_costs(deep_runs))
    fig = deep_relu.plot_activation_histograms(
        {k: depth_results[k] for k in ("xavier", "he")}, layers=(1, 30))
    # the printed first-bin shares describe this figure: Xavier's layer 30 is one spike at 0
    shares = deep_relu.first_bin_share({k: depth_results[k] for k in ("xavier", "he")},
                                       layers=(1, 30))
    assert shares["xavier"][30] == 1.0 and shares["he"][30] < 0.2 and shares["he"][1] < 0.2
    first_bar = max(ax.patches[0].get_height() for ax in fig.axes[1:2])
    assert first_bar == int(np.sum(depth_results["xavier"]["activations"][30] > 0))
    assert len(fig.axes) == 4 and fig.get_suptitle()
    for ax in fig.axes:
        assert ax.get_title() and ax.get_legend() is not None
    stats = {"large": saturation.output_layer_stats(X, Y, large_init(DIMS)),
             "He": saturation.output_layer_stats(X, Y, he_init(DIMS))}
    for ax in saturation.plot_output_preactivations(stats):
        _assert_labelled(ax)
    trace = saturation.loss_trace(X, Y, large_init(DIMS), num_iterations=50, every=10)
    _assert_labelled(saturation.plot_loss_trace({"large": trace}), log=True)
    spread = symmetry.gradient_spread_trace(X, Y, he_init(DIMS), num_iterations=5)
    _assert_labelled(symmetry.plot_gradient_spread({"He": spread}))


# ----------------------------------------------------------------------------
# The optional Xavier exercise's visible check
# ----------------------------------------------------------------------------


def test_xavier_visible_check_passes_xavier_and_names_other_conventions(capsys):
    self_check.xavier(xavier_init)
    out = capsys.readouterr().out
    assert "Visible checks passed" in out and "more checks run at grading" in out
    for init, name in ((he_init, "He's"), (glorot_init, "Glorot's")):
        with pytest.raises(self_check.CheckFailed, match=name):
            self_check.xavier(init)


def test_xavier_visible_check_treats_an_unwritten_function_as_optional(capsys):
    def initialize_parameters_xavier(layers_dims):
        raise NotImplementedError()

    self_check.xavier(initialize_parameters_xavier)
    assert "optional" in capsys.readouterr().out

    def unseeded(layers_dims):  # draws from whatever state the generator is in
        params = {}
        for l in range(1, len(layers_dims)):
            fan_in = layers_dims[l - 1]
            params[f"W{l}"] = np.random.randn(layers_dims[l], fan_in) * np.sqrt(1.0 / fan_in)
            params[f"b{l}"] = np.zeros((layers_dims[l], 1))
        return params

    np.random.seed(3)
    with pytest.raises(self_check.CheckFailed):
        self_check.xavier(unseeded)
