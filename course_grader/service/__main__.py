"""Run the grade-on-submit service for a course (the hub starts it; see README).

    python -m course_grader.service --course ~/initialization-course [--workers 1]

Policy, course id and exchange come from the course's ``nbgrader_config.py``
(``c.GradeOnSubmit``, ``c.CourseDirectory.course_id``, ``c.Exchange.root``).
With no assignment named the service idles and says so. When the course
config changes (the instructor turns grading on, or changes the policy) the
service starts itself again with it (``exec``: the hub's service keeps its
process). A broken grading set-up grades nobody: the service logs why and
waits until the course config or a named assignment's ``source/`` folder
changes, then starts again (exiting instead would make the hub restart it
every few seconds, paying the set-up each time).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from datetime import timezone
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from ..batch.bundle import course_config
from ..batch.coordinator import configured_db_url
from ..gradebook import driver_url
from .backend import ClassGraderBackend, ServiceBroken
from .loop import GradeOnSubmitService, ServicePlaces
from .policy import GradeOnSubmit

log = logging.getLogger("course_grader.service")


def due_dates(db_url: str, assignments: list[str]):
    """A function giving each assignment's due date (seconds, UTC) from the gradebook."""

    def read() -> dict[str, float | None]:
        found = {}
        with Gradebook(db_url) as gb:
            for name in assignments:
                try:
                    due = gb.find_assignment(name).duedate
                except MissingEntry:
                    due = None
                found[name] = None if due is None else \
                    due.replace(tzinfo=due.tzinfo or timezone.utc).timestamp()
        return found

    return read


CONFIG_CHECK_SECONDS = 3.0


def _stamp(path: Path) -> tuple:
    try:
        st = path.stat()
    except OSError:
        return (path.name,)
    return (path.name, st.st_mtime_ns, st.st_size, st.st_ino)


def course_stamp(course: Path, assignments: list[str] = ()) -> tuple:
    """What the service's set-up is read from: the course config and the files of each
    named assignment's source folder (the instructor's; a shallow listing)."""
    stamps = [_stamp(course / "nbgrader_config.py")]
    for name in assignments:
        folder = course / "source" / name
        try:
            stamps += [_stamp(p) for p in sorted(folder.iterdir())]
        except OSError:
            stamps.append((name, "missing"))
    return tuple(stamps)


def watch_course(course: Path, assignments: list[str], stop: threading.Event,
                 changed: threading.Event) -> None:
    """Set ``changed`` and ``stop`` when the set-up's files change (checked every few s)."""
    first = course_stamp(course, assignments)

    def watch() -> None:
        while not stop.wait(CONFIG_CHECK_SECONDS):
            if course_stamp(course, assignments) != first:
                log.info("the course config or an assignment's source changed: "
                         "starting again with it")
                changed.set()
                stop.set()

    threading.Thread(target=watch, name="course-watch", daemon=True).start()


def wait_for_a_fix(broken: Exception, stop: threading.Event) -> int:
    log.error("%s", broken)
    log.error("grading nobody until the course config or the assignment's source/ folder "
              "changes; then the service starts again by itself")
    stop.wait()
    return 3


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    changed = threading.Event()
    status = serve(argv, changed)
    if changed.is_set():  # everything is closed: the same command, the new config
        logging.shutdown()
        os.execv(sys.executable, [sys.executable, "-m", "course_grader.service", *argv])
    return status


def serve(argv: list[str], changed: threading.Event) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=Path.cwd())
    parser.add_argument("--workers", type=int, default=1,
                        help="submissions graded at once (each a warm worker process)")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between rounds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s grade-on-submit %(levelname)s %(message)s")
    course = args.course.resolve()
    config = course_config(course)
    policy = GradeOnSubmit(config=config)
    course_id = config.CourseDirectory.get("course_id", "")
    exchange = config.Exchange.get("root") or os.environ.get("NBGRADER_EXCHANGE_ROOT")
    if not course_id or not exchange:
        log.error("the course config names no course id or exchange root: nothing to watch")
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    watch_course(course, policy.assignments, stop, changed)
    if not policy.assignments:
        log.info("grade on submit is off: c.GradeOnSubmit.assignments names no assignment "
                 "(the service starts grading when the course config names one)")
        stop.wait()
        return 0
    backend = ClassGraderBackend(course, policy.assignments, workers=args.workers)
    try:
        backend.open()
    except ServiceBroken as broken:
        return wait_for_a_fix(broken, stop)
    db_url = driver_url(configured_db_url(course))
    service = GradeOnSubmitService(ServicePlaces(course, Path(exchange), course_id), policy,
                                   backend, dues=due_dates(db_url, policy.assignments))
    log.info("grading %s on submit (scores %s, at most %d a day per student, %d s apart)",
             ", ".join(policy.assignments), "shown" if policy.show_score else "hidden",
             policy.max_per_day, policy.cooldown_seconds)
    try:
        service.run(stop, args.poll)
    except ServiceBroken as broken:
        service.close()
        backend.close()
        return wait_for_a_fix(broken, stop)
    finally:
        service.close()
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
