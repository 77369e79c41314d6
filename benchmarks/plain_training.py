"""A straightforward training loop, kept only as the benchmark's yardstick.

It does what a first implementation would: recompute the loss on every
iteration and build every intermediate array anew at each step, using the
plain building blocks of the provided model.  The benchmark checks that the
optimised ``model.model`` prints exactly the same costs, only faster.
"""

from __future__ import annotations

import model as net


def train_plainly(X, Y, initialize, learning_rate=0.01, num_iterations=15000,
                  print_cost=True):
    """Same contract as ``model.model``; returns ``(parameters, costs)``."""
    parameters = initialize([X.shape[0], *net.LAYERS_DIMS_HIDDEN, 1])
    costs = []
    for i in range(num_iterations):
        a3, cache = net.forward_propagation(X, parameters)
        cost = net.compute_loss(a3, Y)
        grads = net.backward_propagation(X, Y, cache)
        parameters = net.update_parameters(parameters, grads, learning_rate)
        if i % net.LOG_EVERY == 0:
            costs.append(cost)
            if print_cost:
                print(f"Cost after iteration {i}: {cost}")
    return parameters, costs
