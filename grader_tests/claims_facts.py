"""The numbers behind the notebook's sentences, gathered in one shape from two sources.

``facts_from_notebook`` reads them from what the executed notebook printed;
``facts_from_runs`` recomputes them by running the same experiments directly,
optionally perturbed the way another machine perturbs them (starting weights
off by a relative 1e-12, another BLAS thread count, examples summed in another
order).  The claims ledger (``test_claims.py``) checks both with the same
predicates, so a sentence is tested against the printout *and* shown to hold
on machines that round differently.
"""

from __future__ import annotations

import re
from contextlib import nullcontext

import numpy as np

import course_paths  # noqa: F401  (puts source/initialization on the import path)
import model
from course_grader.assignments.initialization import EXERCISES
from course_grader.assignments.initialization.reference import initializer, xavier_scale

DIMS = [2, 10, 5, 1]
DEEP_RUNS = {"Xavier": ("Xavier", 0.01), "He": ("He", 0.01),
             "Xavier, learning rate 0.03": ("Xavier", 0.03)}
THREE_LAYER_CELLS = {"zeros": "afba7f33", "large random": "3b6a8ee8", "He": "9e95796f",
                     "Xavier": "why-xav-train"}
NUMBER = r"([-+0-9.eE]+|inf|None)"
HISTOGRAM_LAYERS = (1, 5, 10, 20, 30)


# ----------------------------------------------------------------------------
# Reference initializers (the grader's: the shipped modules must not hold the answers)
# ----------------------------------------------------------------------------

INITIALIZERS = {"zeros": EXERCISES["zeros"].reference,
                "large random": EXERCISES["random"].reference,
                "He": EXERCISES["he"].reference, "Xavier": initializer(xavier_scale)}


# ----------------------------------------------------------------------------
# From the executed notebook
# ----------------------------------------------------------------------------

def _num(text: str):
    return None if text == "None" else float(text)


def _stdout(nb) -> dict:
    return {cell.id: "".join(o.get("text", "") for o in cell.outputs
                             if o.output_type == "stream" and o.name == "stdout")
            for cell in nb.cells if cell.cell_type == "code"}


def facts_from_notebook(nb) -> dict:
    out = _stdout(nb)
    facts = {"shapes": re.findall(r"(train_X|test_X)\s+\(2, (\d+)\)", out["73a1ed33"]), "runs": {}}
    facts["n_train"], facts["n_test"] = (int(n) for _, n in facts["shapes"])
    for name, cell in THREE_LAYER_CELLS.items():
        text = out[cell]
        costs = [float(c) for c in re.findall(r"Cost after iteration \d+: (\S+)", text)]
        train, test = (float(a) for a in re.findall(r"Accuracy: (\S+)", text))
        facts["runs"][name] = {"costs": costs, "train": train, "test": test}
    text = out["why-sym-import"]
    facts["distinct"] = {name: (int(a), int(b)) for name, a, b in re.findall(
        r"(\S[^:\n]*): \{'W1': (\d+), 'W2': (\d+)\}", text)}
    facts["distinct"] = {k.strip(): v for k, v in facts["distinct"].items()}
    facts["constant_train"] = float(re.search(r"constant start: ([\d.]+)%", text)[1]) / 100
    facts["zeros_max_param"] = float(re.search(r"from zeros: (\S+)", text)[1])
    facts["spread"], facts["spread_min"], facts["grad_norm_W1"] = {}, {}, {}
    for name, low1, high1, low2, high2, norm in re.findall(
            r"\s*(.+?): layer 1 (\S+) to (\S+), layer 2 (\S+) to (\S+); gradient norm of W1 at "
            r"step 0 (\S+)", out["why-sym-plot"]):
        facts["spread"][name.strip()] = max(float(high1), float(high2))
        facts["spread_min"][name.strip()] = min(float(low1), float(low2))
        facts["grad_norm_W1"][name.strip()] = float(norm)
    facts["sat"] = {}
    for name, mean, top, zero, one, wrong, stable in re.findall(
            r"(.+?):\n  mean \|z3\| = (\S+), max \|z3\| = (\S+)\n  outputs exactly 0.0: (\d+)%, "
            r"exactly 1.0: (\d+)%, exactly 0 or 1 on the wrong side: (\d+)%\n"
            r"  course loss = \S+, stable loss = (\S+)", out["why-sat-plot"]):
        facts["sat"][name.split(" (")[0]] = {
            "abs_mean": float(mean), "abs_max": float(top), "frac_zero": int(zero) / 100,
            "frac_one": int(one) / 100, "frac_wrong": int(wrong) / 100, "stable": float(stable)}
    facts["trace"] = {}
    for name, steps, first, last in re.findall(
            r"(.+?): course loss infinite at steps \[(.*?)\]; stable loss (\S+) at step 0, "
            r"(\S+) at step \d+", out["why-sat-trace"]):
        facts["trace"][name.split(" (")[0]] = {
            "inf_steps": [int(s) for s in steps.split(",") if s.strip()],
            "stable_first": float(first), "stable_last": float(last)}
    facts["depth"] = {}
    for line in out["why-deep-std"].splitlines()[1:]:
        name, values = line.rsplit(None, 4)[0].strip(), line.split()[-4:]
        std = dict(zip((1, 10, 20, 30), map(float, values)))
        facts["depth"][name.split(" (")[0]] = {"std": std}
    for name, g1, g30, ratio in re.findall(
            r"\s*(.+?): \|dJ/dW\| at layer 1 (\S+), at layer 30 (\S+); \|dJ/dA\| at layer 1 is "
            r"(\S+) times", out["why-deep-grad"]):
        facts["depth"][name.split(" (")[0]].update(
            grad_W1=float(g1), grad_W30=float(g30), grad_A_ratio=float(ratio))
    facts["first_bin"] = {}
    for name, shares in re.findall(r"\s*(\S+): (layer 1 .*)", out["why-deep-hist"]):
        facts["first_bin"][name] = {
            int(l): 1.0 if share == "all" else float(share.rstrip("%")) / 100
            for l, share in re.findall(r"layer (\d+) (all|[\d.]+%)", shares)}
    facts["deep"] = {}
    for name, c0, c1, last, below, train, test, spikes in re.findall(
            rf"\s*(.+?): cost {NUMBER} at step 0, {NUMBER} at step (\d+); first below 0.6 at step "
            rf"{NUMBER}; train accuracy ([\d.]+)%, test accuracy ([\d.]+)%\n"
            r"\s+spikes \(the cost jumps up by more than 0.1\) start at steps \[(.*?)\]",
            out["why-deep-train"]):
        facts["deep"][name] = {"cost_first": float(c0), "cost_last": float(c1),
                               "last_step": int(last), "below": _num(below),
                               "train": float(train) / 100, "test": float(test) / 100,
                               "spikes": [int(x) for x in spikes.split(",") if x.strip()]}
    return facts


# ----------------------------------------------------------------------------
# From the experiments themselves, perturbed like another machine
# ----------------------------------------------------------------------------

def perturbed(init, noise_seed):
    """``init`` with every starting value multiplied by 1 + 1e-12 * N(0, 1) (seeded)."""
    if noise_seed is None:
        return init

    def wrapped(dims):
        rng = np.random.default_rng(noise_seed)
        return {k: v * (1.0 + 1e-12 * rng.standard_normal(np.shape(v)))
                for k, v in init(dims).items()}
    return wrapped


def facts_from_runs(noise_seed=None, threads=None, order_seed=None) -> dict:
    """The same facts, computed directly under one perturbation.

    ``threads`` caps the BLAS thread pool; ``order_seed`` shuffles the
    training examples, which changes the order of every sum over examples
    (gradients, costs) without changing the problem.
    """
    import deep_relu
    import saturation
    import symmetry

    limit = nullcontext()
    if threads is not None:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(limits=threads, user_api="blas")
    X, Y, tX, tY = model.load_dataset()
    order = (np.random.default_rng(order_seed).permutation(X.shape[1])
             if order_seed is not None else np.arange(X.shape[1]))
    Xo, Yo = X[:, order], Y[:, order]
    inits = {name: perturbed(init, noise_seed) for name, init in INITIALIZERS.items()}
    facts = {"n_train": X.shape[1], "n_test": tX.shape[1], "runs": {}}
    with limit:
        trained = {}
        for name, init in inits.items():
            params, costs = model.model(Xo, Yo, init, print_cost=False)
            trained[name] = params
            facts["runs"][name] = {
                "costs": costs,
                "train": model.accuracy(model.predict_labels(X, params), Y),
                "test": model.accuracy(model.predict_labels(tX, params), tY)}
        constant = perturbed(lambda d: symmetry.constant_parameters(d, 0.5), noise_seed)
        params_constant, _ = model.model(Xo, Yo, constant, print_cost=False)
        facts["distinct"] = {
            name: tuple(symmetry.distinct_units(params).values())
            for name, params in (("zeros", trained["zeros"]), ("constant 0.5", params_constant),
                                 ("He", trained["He"]))}
        facts["constant_train"] = model.accuracy(model.predict_labels(X, params_constant), Y)
        facts["zeros_max_param"] = max(float(np.abs(v).max()) for v in trained["zeros"].values())
        facts["spread"], facts["spread_min"], facts["grad_norm_W1"] = {}, {}, {}
        for name, init in (("zeros", inits["zeros"]), ("constant 0.5", constant),
                           ("He", inits["He"])):
            trace = symmetry.gradient_spread_trace(Xo, Yo, init(DIMS), num_iterations=500)
            facts["spread"][name] = float(trace["spread"].max())
            facts["spread_min"][name] = float(trace["spread"].min())
            facts["grad_norm_W1"][name] = float(trace["grad_norm"][0, 0])
        facts["sat"], facts["trace"] = {}, {}
        for name in ("large random", "He"):
            s = saturation.output_layer_stats(Xo, Yo, inits[name](DIMS))
            facts["sat"][name] = {"abs_mean": s["abs_mean"], "abs_max": s["abs_max"],
                                  "frac_zero": s["frac_zero"], "frac_one": s["frac_one"],
                                  "frac_wrong": s["frac_wrong_saturated"],
                                  "stable": s["stable_loss"]}
            t = saturation.loss_trace(Xo, Yo, inits[name](DIMS), num_iterations=1000, every=10)
            facts["trace"][name] = {
                "inf_steps": t["iteration"][~np.isfinite(t["course"])].tolist(),
                "stable_first": float(t["stable"][0]), "stable_last": float(t["stable"][-1])}
        starts = {"small random": perturbed(lambda d: deep_relu.scaled_gaussian(d, 0.01),
                                            noise_seed),
                  "large random": inits["large random"], "Xavier": inits["Xavier"],
                  "He": inits["He"]}
        batch = deep_relu.random_batch()
        if order_seed is not None:  # examples are columns: reorder the sums over them
            batch = batch[:, np.random.default_rng(order_seed).permutation(batch.shape[1])]
        dims = [deep_relu.WIDTH] * (deep_relu.DEPTH + 1)
        facts["depth"], kept = {}, {}
        for name, init in starts.items():
            r = deep_relu.forward_backward(batch, init(list(dims)), keep_layers=HISTOGRAM_LAYERS)
            kept[name] = r
            facts["depth"][name] = {"std": {l: float(r["std"][l - 1]) for l in (1, 10, 20, 30)},
                                    "grad_W1": float(r["grad_W_norm"][0]),
                                    "grad_W30": float(r["grad_W_norm"][-1]),
                                    "grad_A_ratio": float(r["grad_A_norm"][0]
                                                          / r["grad_A_norm"][-1])}
        facts["first_bin"] = deep_relu.first_bin_share(
            {name: kept[name] for name in ("Xavier", "He")}, HISTOGRAM_LAYERS)
        facts["deep"] = {}
        for label, (name, rate) in DEEP_RUNS.items():
            run = deep_relu.train_deep(Xo, Yo, inits[name], learning_rate=rate)
            facts["deep"][label] = {
                "cost_first": float(run["cost"][0]), "cost_last": float(run["cost"][-1]),
                "last_step": int(run["iteration"][-1]), "costs": run["cost"],
                "steps": run["iteration"], "spikes": deep_relu.cost_spikes(run, 0.1),
                "below": deep_relu.first_iteration_below(run, 0.6),
                "train": float(np.mean(deep_relu.deep_predict_labels(X, run["parameters"]) == Y)),
                "test": float(np.mean(deep_relu.deep_predict_labels(tX, run["parameters"]) == tY))}
    return facts
