"""The grade-on-submit loop: take, queue, grade, record, release.

One round, every ``poll_seconds``:

1. **take**: every new inbound folder of each assignment the policy names
   goes through the trusted intake at once (``at_arrival``: the service's
   clock is the submission time); refusals are told to the student there;
2. **queue**: accepted arrivals are offered to the queue (``queue.py``);
3. **grade**: while the grading backend has room, the queue's next job is
   copied from the intake store to ``submitted/<student>/<assignment>/``
   (with the trusted time, as Collect does) and handed to the backend;
4. **release**: each finished grading is recorded by the backend, and the
   student's page goes where ``nbgrader fetch_feedback`` finds it for that
   submission; only then is the job closed in the queue.

The grading backend is anything with ``room() -> bool``, ``submit(job,
folder)`` and ``finished() -> list[Finished]``; ``backend.py`` is the class
grader's trusted path on warm workers. Nothing here reads what a student
wrote except through the intake.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path

from ..batch.outcome import AssignmentSpec, StudentResult
from ..exchange.arrival import FILES, Arrival, utc
from ..exchange.collect import deliver
from ..exchange.intake import SETTLE_SECONDS, store_of, take_inbound
from ..exchange.notice import publish, read_secret
from .page import diagnosis_page
from .policy import GradeOnSubmit
from .queue import DONE, FAILED, GradingQueue, Job

log = logging.getLogger("course_grader.service")


@dataclass
class Finished:
    job: Job
    result: StudentResult
    spec: AssignmentSpec
    feedback_html: str | None  # the full feedback page, when the backend made one


@dataclass
class ServicePlaces:
    course: Path  # the instructor's course folder
    exchange: Path  # the exchange root
    course_id: str

    @property
    def inbound(self) -> Path:
        return self.exchange / self.course_id / "inbound"

    @property
    def feedback(self) -> Path:
        return self.exchange / self.course_id / "feedback"

    @property
    def queue_file(self) -> Path:
        return self.course / "build" / "service" / "queue.sqlite"


class GradeOnSubmitService:
    def __init__(self, places: ServicePlaces, policy: GradeOnSubmit, backend, dues=None,
                 clock=time.time, settle: float = SETTLE_SECONDS):
        self.places, self.policy, self.backend, self.clock = places, policy, backend, clock
        self.settle = settle  # a folder changed more recently may still be half written
        self.dues = dues or (lambda: {})
        self.store = store_of(places.course)
        self.queue = GradingQueue(places.queue_file)
        self.arrivals: dict[str, Arrival] = {}

    def start(self) -> None:
        for arrival in self.queue.recover():
            log.warning("grading of arrival %s was interrupted; it is graded again", arrival)

    def close(self) -> None:
        self.queue.close()

    def take(self) -> int:
        """Step 1 and 2; the number of new accepted arrivals."""
        new = 0
        for assignment in self.policy.assignments:
            round_ = take_inbound(self.places.inbound, assignment, self.store, at_arrival=True,
                                  settle=self.settle, feedback=self.places.feedback,
                                  course_id=self.places.course_id)
            for arrival in round_.taken:
                if not arrival.accepted:
                    log.warning("REFUSED %s (names %s, account %s): %s",
                                arrival.notes.get("folder name", "?"), arrival.claimed,
                                arrival.student or "?", arrival.reason)
                    continue
                self.arrivals[arrival.key] = arrival
                new += self.queue.offer(arrival.key, arrival.student, assignment, arrival.time)
            for message in round_.waiting:
                log.info("not taken yet: %s", message)
        return new

    def dispatch(self) -> int:
        """Step 3; the number of gradings started."""
        started = 0
        dues = self.dues()
        while self.backend.room():
            job = self.queue.take(self.clock(), self.policy, dues)
            if job is None:
                break
            arrival = self._arrival(job)
            folder = self.places.course / "submitted" / job.student / job.assignment
            try:
                deliver(self.store, arrival, folder)
                self.backend.submit(job, folder)
            except Exception as error:  # one broken job never stops the service
                log.exception("could not start grading %s", job)
                self.queue.finish(job.arrival, FAILED, self.clock(),
                                  f"could not start grading: {error}"[:300])
                continue
            started += 1
        return started

    def release(self) -> int:
        """Step 4; the number of gradings closed."""
        closed = 0
        for done in self.backend.finished():
            job, result = done.job, done.result
            state = DONE if result.gradable else FAILED
            try:
                self._publish(done)
            except OSError as error:
                log.error("feedback of %s could not be released: %s", job, error)
                state, result.status = FAILED, f"{result.status}; feedback not released"
            if self.queue.finish(job.arrival, state, self.clock(), result.status[:300]):
                closed += 1
            log.info("graded %s of %s: %s", job.assignment, job.student, result.status)
        return closed

    def run(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        self.start()
        while not stop.is_set():
            self.round()
            stop.wait(poll_seconds)

    def round(self) -> None:
        self.take()
        self.release()
        self.dispatch()

    def _arrival(self, job: Job) -> Arrival:
        arrival = self.arrivals.get(job.arrival)
        if arrival is None:  # after a restart: read it back from the store
            path = self.store / job.assignment / job.arrival / "record.json"
            arrival = Arrival.from_json(path.read_text(encoding="utf-8"))
            self.arrivals[job.arrival] = arrival
        return arrival

    def _publish(self, done: Finished) -> None:
        job = done.job
        files = self.store / job.assignment / job.arrival / FILES
        secret = read_secret(files)
        if secret is None:
            raise OSError("the submission has no readable submission_secret.txt")
        when = utc(job.arrived).astimezone(timezone.utc)
        if self.policy.show_score and done.feedback_html is not None:
            page = done.feedback_html
        else:
            page = diagnosis_page(done.result, done.spec, when, self.policy.show_score)
        publish(self.places.feedback, secret, done.spec.notebook, page, replace=True)
