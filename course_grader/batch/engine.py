"""Dask distributed as the class grader's engine.

By default a ``LocalCluster`` with one single-threaded worker process per core,
started and stopped here; with ``scheduler`` an existing cluster, however it
was deployed.  Each task is ``task.grade(bundle, submission, state)``: bytes
in, plain data out, so workers need neither the course folder nor the
gradebook.  The bundle is scattered to every worker once.  Each worker keeps
its ``WorkerState`` in a worker plugin (``dask_worker.WorkerStatePlugin``:
made when the worker starts or joins, closed when it stops).  Before any
student, every worker grades the canaries (and a worker that joins later does
so before its first student, inside ``task.grade``).

When a worker dies, Dask's scheduler hands its unfinished tasks to another
worker; a result reaches the coordinator once per future, so nothing is
written twice.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator

from ..sandbox.bubblewrap import Limits
from ..verdict.preprocessor import VERDICT_CPU_SECONDS
from .task import Bundle, SubmissionFiles


class EngineError(RuntimeError):
    pass


def _dashboard_available() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


class Engine:
    def __init__(self, scheduler: str | None, workers: int, out):
        self.scheduler = scheduler
        self.workers = workers or os.cpu_count() or 1
        self.out = out
        self.cluster = None
        self.client = None

    def __enter__(self) -> Engine:
        from distributed import Client

        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout=60)
            except (OSError, TimeoutError) as error:
                raise EngineError(f"cannot reach the Dask scheduler {self.scheduler} "
                                  f"({error})") from None
            where = f"the Dask cluster at {self.scheduler}"
        else:
            self._start_private_cluster()
            where = (f"a private local Dask cluster (TLS, no dashboard) of {self.workers} "
                     "worker processes")
        link = self.client.dashboard_link if self.scheduler and _dashboard_available() else \
            "none"
        print(f"Engine: {where}; dashboard: {link}", file=self.out, flush=True)
        return self

    def _start_private_cluster(self) -> None:
        """A local cluster only this process can talk to.

        On a hub every student has a shell on this machine, and a Dask scheduler
        on 127.0.0.1 without security runs any task anyone sends it, as the
        account that started it (a student could run code as the instructor).
        So scheduler, workers and client speak TLS with certificates made in
        memory (``Security.temporary``, never written down): a connection
        without them is refused. No dashboard, and the HTTP routes of scheduler
        and workers (which list the tasks, hence the students) are off.
        """
        import dask
        from distributed import Client, LocalCluster
        from distributed.security import Security

        security = Security.temporary()
        # one student at a time per process: nbgrader changes the working folder
        # and environment while it converts, and the sandbox slot is per grading
        with dask.config.set({"distributed.scheduler.http.routes": [],
                              "distributed.worker.http.routes": []}):
            self.cluster = LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True,
                memory_limit=0, silence_logs=logging.ERROR, dashboard_address=None,
                security=security, protocol="tls://", host="127.0.0.1")
        self.client = Client(self.cluster, security=security)

    def __exit__(self, *exc) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()

    def check_workers(self, bundle: Bundle, bound: float):
        """Scatter the bundle and run the canaries on every worker; the bundle's future.

        Waits at most ``bound`` seconds (``task_bound``) for the canaries."""
        from distributed import wait

        from .dask_worker import WorkerStatePlugin, canaries_on_worker

        try:
            self.client.wait_for_workers(1, timeout=300)
        except TimeoutError:
            raise EngineError("the Dask cluster has no workers (waited 300 s): start "
                              "`dask worker <scheduler address>` on the grading machines") \
                from None
        self.client.register_plugin(WorkerStatePlugin())
        shared = self.client.scatter(bundle, broadcast=True, hash=False)
        workers = list(self.client.scheduler_info(n_workers=-1)["workers"])
        futures = [self.client.submit(canaries_on_worker, shared, workers=[addr],
                                      allow_other_workers=False, pure=False,
                                      key=f"canaries-{uuid.uuid4().hex[:8]}")
                   for addr in workers]
        try:
            wait(futures, timeout=bound)
        except TimeoutError:
            self.client.cancel(futures)
            raise EngineError(f"the canaries did not finish within {bound:.0f} s on every "
                              "worker: a worker hangs; restart the cluster") from None
        places = self.client.gather(futures)  # a GraderBroken here stops the batch
        print(f"Canaries passed on {len(places)} workers", file=self.out, flush=True)
        return shared

    def grade(self, shared, submissions: Iterator[SubmissionFiles], bound: float,
              run=None) -> Iterator[tuple[str, object]]:
        """(student, Graded, the exception its task raised, or ``TaskOverdue``), as tasks
        finish.

        Never waits for ever: when no task has finished for ``bound`` seconds
        (``task_bound``: longer than any grading may take), every task still
        running is overdue; it is cancelled and its student reported as such.
        """
        from distributed import as_completed

        from .dask_worker import grade_on_worker

        run = run or grade_on_worker
        futures = {}
        for sub in submissions:
            future = self.client.submit(run, shared, sub, pure=False,
                                        key=f"grade-{sub.student}-{uuid.uuid4().hex[:8]}")
            futures[future] = sub.student
        finished = as_completed(futures)
        progress = time.monotonic()
        try:
            while futures:
                ready = finished.next_batch(block=False) if finished.has_ready() else []
                for future in ready:
                    student = futures.pop(future, None)
                    if student is None:
                        continue  # cancelled as overdue
                    if future.status == "finished":
                        yield student, future.result()
                    else:
                        yield student, future.exception()
                    future.release()
                    progress = time.monotonic()
                if ready:
                    continue
                if time.monotonic() - progress > bound:
                    for future in self._running(futures):
                        student = futures.pop(future)
                        self.client.cancel([future])
                        yield student, TaskOverdue(bound)
                    progress = time.monotonic()
                time.sleep(POLL_SECONDS)
        finally:
            if futures:
                self.client.cancel(list(futures))

    def _running(self, futures: dict) -> list:
        """The futures a worker holds (a hung worker's queue too); all of them when no
        worker is left to run any, or the scheduler does not answer."""
        try:
            processing = self.client.processing()
        except Exception:  # noqa: BLE001 - a scheduler that does not answer: assume all
            return list(futures)
        if not processing:
            return list(futures)
        held = {key for keys in processing.values() for key in keys}
        return [f for f in futures if f.key in held]


POLL_SECONDS = 0.2


class TaskOverdue(Exception):
    """No result came back in time: the worker grading it hung or was lost."""

    def __init__(self, bound: float):
        super().__init__(f"no result within {bound:.0f} s (the worker grading it hung or was "
                         "lost); grade this student again")


def task_bound(limits: Limits) -> float:
    """Seconds after which a task that has not finished is overdue.

    A task grades at most three notebooks (a newly joined worker's two
    canaries and the student), each within the notebook's deadline plus the
    grading child's CPU cap; 300 s cover nbgrader's start-up and the feedback.
    """
    return 3 * (limits.notebook_timeout + VERDICT_CPU_SECONDS) + 300
