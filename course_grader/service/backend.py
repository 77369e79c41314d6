"""The grading backend of the grade-on-submit service: the class grader's trusted path, kept warm.

At start, per assignment the policy names: the grading set-up is read from
the course (``bundle.make_bundle``), the canaries are graded on this process
and then on every worker of a local Dask cluster, exactly as ``grade`` does
before its first student; a broken set-up stops the service before anyone is
graded. Then each submission is one ``task.grade`` on a warm worker (its
grading runner prepared once, kept in the worker's ``WorkerState``), and the
result is recorded by the coordinator's own ``coordinator.record_outcome``:
gradebook rows, ``autograded/``, ``feedback/``. The cluster and the canaries
are paid once for the service's life, not per submission.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..batch import task
from ..batch.bundle import make_bundle
from ..batch.coordinator import Refusal, configured_db_url, record_outcome
from ..batch.engine import Engine, task_bound
from ..batch.outcome import AssignmentSpec, failed_before_grading
from ..batch.preflight import check_submission, refusal_message
from ..batch.worker_state import WorkerState
from ..gradebook import driver_url
from ..sandbox.bubblewrap import Limits
from ..verdict.child import GraderBroken
from .loop import Finished
from .queue import Job


class ServiceBroken(RuntimeError):
    """The grading set-up cannot grade anyone; the message says why."""


@dataclass
class _Running:
    job: Job
    content_hash: str
    future: object
    started: float = field(default_factory=time.monotonic)


class ClassGraderBackend:
    def __init__(self, course: Path, assignments: list[str], workers: int = 1,
                 sandbox: bool = True, limits: Limits | None = None, out=None):
        self.course = Path(course).resolve()
        self.assignments = list(assignments)
        self.workers = workers
        self.sandbox = sandbox
        self.limits = limits or Limits()
        self.out = out or io.StringIO()
        self.db_url = driver_url(configured_db_url(self.course))
        self.bound = task_bound(self.limits)
        self.bundles: dict = {}
        self.specs: dict[str, AssignmentSpec] = {}
        self.shared: dict = {}
        self.running: list[_Running] = []
        self.engine: Engine | None = None

    def open(self) -> None:
        """Set-up, canaries here and on every worker; ServiceBroken if anything is wrong."""
        try:
            for assignment in self.assignments:
                bundle = make_bundle(self.course, assignment, self.db_url, self.limits,
                                     self.sandbox, False)
                with WorkerState() as here:  # this process grades nobody after them
                    task.run_canaries(bundle, here)
                self.bundles[assignment] = bundle
                self.specs[assignment] = AssignmentSpec.of(bundle,
                                                       self.course / "source" / assignment)
            self.engine = Engine(None, self.workers, self.out).__enter__()
            for assignment, bundle in self.bundles.items():
                self.shared[assignment] = self.engine.check_workers(bundle, self.bound)
        except GraderBroken as broken:
            self.close()
            raise ServiceBroken(f"the grading set-up is broken, nobody is graded: {broken}") \
                from None
        except Exception as error:  # a set-up that cannot even be read
            self.close()
            raise ServiceBroken(f"the grading set-up cannot be read: {error}") from None

    def close(self) -> None:
        if self.engine is not None:
            self.engine.__exit__(None, None, None)
            self.engine = None

    def room(self) -> bool:
        return len(self.running) < self.workers

    def submit(self, job: Job, folder: Path) -> None:
        content_hash, refused = check_submission(folder)
        if refused is not None:  # graded as failed at once, with the reason
            self.running.append(_Running(job, content_hash, refusal_message(refused)))
            return
        from ..batch.dask_worker import grade_on_worker  # imports Dask: only when grading

        sub = task.read_submission(folder, job.student, content_hash)
        future = self.engine.client.submit(grade_on_worker, self.shared[job.assignment], sub,
                                           pure=False)
        self.running.append(_Running(job, content_hash, future))

    def finished(self) -> list[Finished]:
        done, still = [], []
        for run in self.running:
            outcome = self._outcome(run)
            if outcome is None:
                still.append(run)
                continue
            spec = self.specs[run.job.assignment]
            if isinstance(outcome, str):
                result = failed_before_grading(spec, run.job.student, run.content_hash,
                                               outcome)
            else:
                try:
                    result = record_outcome(self.course, self.db_url,
                                            self.bundles[run.job.assignment], spec,
                                            run.job.student, run.content_hash, outcome)
                except Refusal as broken:  # the set-up broke (a canary of a new worker)
                    raise ServiceBroken(str(broken)) from None
            html = getattr(outcome, "feedback", None) if result.gradable else None
            done.append(Finished(run.job, result, spec, html))
        self.running = still
        return done

    def _outcome(self, run: _Running):
        """The task's outcome, a refusal text, or None while it runs."""
        if isinstance(run.future, str):
            return run.future
        if run.future.done():
            if run.future.status == "finished":
                return run.future.result()
            return run.future.exception()
        if time.monotonic() - run.started > self.bound:
            run.future.cancel()
            return f"no result within {self.bound:.0f} s; submit again"
        return None
