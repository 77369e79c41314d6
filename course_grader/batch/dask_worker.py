"""What a Dask worker runs: the worker's ``WorkerState`` as a plugin, and the tasks that use it.

The plugin is registered once per cluster (``idempotent``): every worker, one
that joins later too, makes its state when the plugin reaches it and closes it
(folders removed, runners stopped) when it stops.  A long-lived cluster keeps
each worker's prepared set-ups and passed canaries from one batch to the next.
"""

from __future__ import annotations

from distributed import WorkerPlugin, get_worker

from . import task
from .task import Bundle, Graded, SubmissionFiles
from .worker_state import WorkerState

PLUGIN = "course-grader-worker-state"


class WorkerStatePlugin(WorkerPlugin):
    name = PLUGIN
    idempotent = True

    def setup(self, worker) -> None:
        self.state = WorkerState()

    def teardown(self, worker) -> None:
        self.state.close()


def worker_state() -> WorkerState:
    """This worker's state; a worker without the plugin is a broken engine, said loudly."""
    plugin = get_worker().plugins.get(PLUGIN)
    if plugin is None:
        raise RuntimeError("this Dask worker has no course grader state: the engine "
                           "registers WorkerStatePlugin before any task")
    return plugin.state


def grade_on_worker(bundle: Bundle, sub: SubmissionFiles) -> Graded:
    """Dask task: ``task.grade`` with this worker's state."""
    return task.grade(bundle, sub, worker_state())


def canaries_on_worker(bundle: Bundle) -> str:
    """Dask task: ``task.canaries_on_worker`` with this worker's state."""
    return task.canaries_on_worker(bundle, worker_state())
