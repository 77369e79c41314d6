"""Dask distributed as the class grader's engine.

By default a ``LocalCluster`` with one single-threaded worker process per core,
started and stopped here; with ``scheduler`` an existing cluster, however it
was deployed.  Each task is ``task.grade(bundle, submission)``: bytes in,
plain data out, so workers need neither the course folder nor the gradebook.
The bundle is scattered to every worker once.  Before any student, every
worker grades the canaries (and a worker that joins later does so before its
first student, inside ``task.grade``).

When a worker dies, Dask's scheduler hands its unfinished tasks to another
worker; a result reaches the coordinator once per future, so nothing is
written twice.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator

from . import task
from .task import Bundle, Submission


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
        from distributed import Client, LocalCluster

        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout=60)
            except (OSError, TimeoutError) as error:
                raise EngineError(f"cannot reach the Dask scheduler {self.scheduler} "
                                  f"({error})") from None
            where = f"the Dask cluster at {self.scheduler}"
        else:
            # one student at a time per process: nbgrader changes the working folder
            # and environment while it converts, and the sandbox slot is per grading
            self.cluster = LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True,
                memory_limit=0, silence_logs=logging.ERROR,
                dashboard_address=":0" if _dashboard_available() else None)
            self.client = Client(self.cluster)
            where = f"a local Dask cluster of {self.workers} worker processes"
        link = self.client.dashboard_link if (self.scheduler or _dashboard_available()) else \
            "none (pip install bokeh for Dask's dashboard)"
        print(f"Engine: {where}; dashboard: {link}", file=self.out, flush=True)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()

    def check_workers(self, bundle: Bundle):
        """Scatter the bundle and run the canaries on every worker; the bundle's future."""
        try:
            self.client.wait_for_workers(1, timeout=300)
        except TimeoutError:
            raise EngineError("the Dask cluster has no workers (waited 300 s): start "
                              "`dask worker <scheduler address>` on the grading machines") \
                from None
        shared = self.client.scatter(bundle, broadcast=True, hash=False)
        workers = list(self.client.scheduler_info(n_workers=-1)["workers"])
        futures = [self.client.submit(task.canaries_on_worker, shared, workers=[addr],
                                      allow_other_workers=False, pure=False,
                                      key=f"canaries-{uuid.uuid4().hex[:8]}")
                   for addr in workers]
        places = self.client.gather(futures)  # a GraderBroken here stops the batch
        print(f"Canaries passed on {len(places)} workers", file=self.out, flush=True)
        return shared

    def grade(self, shared, submissions: Iterator[Submission]) -> Iterator[tuple[str, object]]:
        """(student, Graded or the exception its task raised), as tasks finish."""
        from distributed import as_completed

        futures = {}
        for sub in submissions:
            future = self.client.submit(task.grade, shared, sub, pure=False,
                                        key=f"grade-{sub.student}-{uuid.uuid4().hex[:8]}")
            futures[future] = sub.student
        try:
            for future in as_completed(futures):
                student = futures.pop(future)
                if future.status == "finished":
                    yield student, future.result()
                else:
                    yield student, future.exception()
                future.release()
        finally:
            if futures:
                self.client.cancel(list(futures))
