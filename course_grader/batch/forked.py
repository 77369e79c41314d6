"""A light local engine for small classes: worker processes forked from the coordinator.

Dask's ``LocalCluster`` costs seconds before the first student (a scheduler,
nannies, and worker processes that import nbgrader again); for a small class
that start-up is most of the batch.  Here the coordinator imports the grading
code once (``warm_imports``) and forks its workers, which inherit the imports
and the bundle, so no worker re-imports or unpickles anything.

The canaries keep their rule: every worker grades them (the master notebook's
solutions to full marks, the untouched release to 0) before its first student,
and no student is handed to any worker until every worker has passed them, so
a broken set-up stops the batch before anyone is graded.  The fork happens
before this process grades anything, so no worker inherits another's grading
child (``verdict.child``) or sandbox slot, and each worker keeps a ``WorkerState``
of its own.

The interface is ``engine.Engine``'s (``check_workers``, ``grade``); Dask stays
the engine for ``--scheduler`` and for large classes, where it also hands a
dead worker's task to another.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from multiprocessing.connection import wait

from ..verdict.child import GraderBroken
from . import task
from .engine import EngineError, TaskOverdue
from .task import Bundle, SubmissionFiles
from .worker_state import WorkerState

POLL_SECONDS = 0.5


def warm_imports() -> None:
    """Import what grading imports lazily, once, in the process the workers fork from."""
    import nbconvert.exporters  # noqa: F401
    import nbgrader.converters  # noqa: F401

    from . import execute, feedback  # noqa: F401


def _serve(bundle: Bundle, conn, coordinator: int) -> None:
    """A worker: the canaries, then one submission at a time until told to stop."""
    from ..sandbox.rlimits import _die_with_parent

    _die_with_parent(coordinator)  # a killed coordinator leaves no worker grading on

    # a state of its own: what the coordinator may hold (canaries it passed, its grading
    # runners and folders) is not this worker's, which proves the set-up itself
    state = WorkerState()
    try:
        try:
            where = task.canaries_on_worker(bundle, state)
        except GraderBroken as broken:
            conn.send(("broken", str(broken)))
            return
        conn.send(("ready", where))
        while True:
            sub = conn.recv()
            if sub is None:
                return
            try:
                outcome = task.grade(bundle, sub, state)
            except GraderBroken as broken:
                outcome = GraderBroken(str(broken))
            except Exception as error:  # noqa: BLE001 - never leave the coordinator waiting
                outcome = RuntimeError(f"{type(error).__name__}: {error}"[:300])
            conn.send(("done", outcome))
    except (EOFError, OSError):  # the coordinator went away
        return
    finally:
        state.close()  # a forked process leaves without running finalizers or atexit


class ForkedEngine:
    def __init__(self, workers: int, out):
        self.workers = workers or os.cpu_count() or 1
        self.out = out
        self.procs: list = []  # (process, connection)

    def __enter__(self) -> ForkedEngine:
        return self

    def __exit__(self, *exc) -> None:
        for _proc, conn in self.procs:
            try:
                conn.send(None)
            except OSError:
                pass
        for proc, conn in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()
            conn.close()
        self.procs = []

    def check_workers(self, bundle: Bundle, bound: float) -> Bundle:
        """Fork the workers and wait until every one has passed the canaries."""
        warm_imports()
        ctx = multiprocessing.get_context("fork")
        for _ in range(self.workers):
            here, there = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(bundle, there, os.getpid()),
                               daemon=True)
            proc.start()
            there.close()
            self.procs.append((proc, here))
        print(f"Engine: {self.workers} local worker processes forked from this one",
              file=self.out, flush=True)
        deadline = time.monotonic() + bound
        waiting = {conn for _, conn in self.procs}
        while waiting:
            ready = wait(list(waiting), timeout=max(0.0, deadline - time.monotonic()))
            if not ready:
                raise EngineError(f"the canaries did not finish within {bound:.0f} s on every "
                                  "worker: a worker hangs")
            for conn in ready:
                waiting.discard(conn)
                try:
                    kind, detail = conn.recv()
                except EOFError:
                    raise EngineError("a worker process died while grading the canaries") \
                        from None
                if kind == "broken":
                    raise GraderBroken(detail)
        print(f"Canaries passed on {len(self.procs)} workers", file=self.out, flush=True)
        return bundle

    def grade(self, shared: Bundle, submissions: Iterator[SubmissionFiles],
              bound: float) -> Iterator[tuple[str, object]]:
        """(student, Graded or the exception of its task, or ``TaskOverdue``) as they finish.

        A worker that dies or passes ``bound`` seconds on one student is stopped and
        that student reported; the others go on with the rest of the class."""
        pending = iter(submissions)
        busy: dict = {}  # connection -> (process, student, started)
        idle = list(self.procs)
        exhausted = False
        while True:
            while idle and not exhausted:
                sub = next(pending, None)
                if sub is None:
                    exhausted = True
                    break
                proc, conn = idle.pop()
                conn.send(sub)
                busy[conn] = (proc, sub.student, time.monotonic())
            if not busy:
                if not exhausted:  # every worker is gone: the rest cannot be graded here
                    for sub in pending:
                        yield sub.student, RuntimeError("no worker process left")
                return
            for conn in wait(list(busy), timeout=POLL_SECONDS):
                proc, student, _ = busy.pop(conn)
                try:
                    _, outcome = conn.recv()
                except (EOFError, OSError):
                    self._drop(proc, conn)
                    yield student, RuntimeError("the worker process grading it died")
                    continue
                idle.append((proc, conn))
                yield student, outcome
            now = time.monotonic()
            for conn, (proc, student, started) in list(busy.items()):
                if now - started > bound:
                    del busy[conn]
                    self._drop(proc, conn)
                    yield student, TaskOverdue(bound)

    def _drop(self, proc, conn) -> None:
        proc.kill()
        proc.join()
        conn.close()
        self.procs = [(p, c) for p, c in self.procs if p is not proc]
