"""Submit-to-feedback latency of the grade-on-submit service, and the batch grader's fixed cost.

    sudo .venv/bin/python benchmarks/grade_on_submit_benchmark.py [--accounts 50]
        [--rush 100] [--rush-seconds 60] [--solo 5] [--workers 2] [--poll 1.0]
        [--batch-repeats 3] [--plain-sample 12] [--skip-service] [--skip-batch]

Service (needs root: the trusted intake takes a folder only from the Unix account
its name claims, so the benchmark creates ``bench-000`` .. accounts with
``useradd`` and removes them at the end):

* one student alone: ``--solo`` submissions of one account, one after another;
* a deadline rush: ``--rush`` submissions from ``--accounts`` accounts at random
  times within ``--rush-seconds``.

Each submission is written in a staging folder, handed to its account
(``chown``) and renamed into the exchange's inbound folder; its clock starts at
the rename and stops when this process sees the student's feedback page (the
hashed name ``exchange.notice.publish`` gives it) in the exchange's feedback
folder, polled every 0.05 s.  The service runs as it would under the hub (its
defaults: the intake's settle time, ``--poll`` between rounds), on ``--workers``
warm workers started before the clock.  A submission overtaken by its author's
newer one before grading is superseded (only the newest waiting one is graded)
and has no page: it is counted, not timed.

Batch: the class grader's fixed cost (from the start of ``run_batch`` to the
moment every worker has passed the canaries and the first student can be
handed out, and the whole batch of one submission), median of
``--batch-repeats`` runs; then 12 and 100 submissions beside plain ``nbgrader
autograde`` (serial) on ``--plain-sample`` of them (its rate per submission
times the class size when the sample is smaller than the class).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.utils import notebook_hash

from course_grader.assignments.initialization.sample_class import sample_class, write_submission
from course_grader.batch.coordinator import Options, run_batch
from course_grader.cli import make_course_copy
from course_grader.nbgrader_run import nbgrader

sys.path.insert(0, str(Path(__file__).parent))
from grading_benchmark import ASSIGNMENT, NOTEBOOK, new_class  # noqa: E402

COURSE_ID = "initialization-course"


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def quantiles(values: list[float]) -> str:
    if not values:
        return "no figures"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return (f"median {statistics.median(ordered):5.1f} s  p95 {p95:5.1f} s  "
            f"max {ordered[-1]:5.1f} s  ({len(ordered)} timed)")


# -- accounts ------------------------------------------------------------------

def make_accounts(count: int) -> list[str]:
    names = [f"bench-{i:03d}" for i in range(count)]
    taken = [n for n in names if subprocess.run(["id", n], capture_output=True).returncode == 0]
    if taken:
        raise SystemExit(f"accounts already exist ({', '.join(taken[:3])} ...): remove them "
                         "(userdel) or they would be taken over by the benchmark")
    made = []
    try:
        for name in names:
            subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                            name], check=True)
            made.append(name)
    except BaseException:
        remove_accounts(made)
        raise
    return made


def remove_accounts(names: list[str]) -> None:
    for name in names:
        subprocess.run(["userdel", name], capture_output=True)


# -- submissions and their clocks -------------------------------------------------

class Clocks:
    """Per submission: written (rename into inbound) and published (page seen)."""

    def __init__(self, feedback: Path):
        self.feedback = feedback
        self.written: dict[str, float] = {}  # page name -> monotonic time
        self.seen: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while not self.stop.is_set():
            try:
                present = set(os.listdir(self.feedback))
            except FileNotFoundError:
                present = set()
            now = time.monotonic()
            with self.lock:
                for page in self.written:
                    if page not in self.seen and page in present:
                        self.seen[page] = now
            self.stop.wait(0.05)

    def latencies(self, pages: list[str]) -> list[float]:
        with self.lock:
            return [self.seen[p] - self.written[p] for p in pages if p in self.seen]

    def wait(self, pages: list[str], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                if all(p in self.seen for p in pages):
                    return
            time.sleep(0.2)


def submit(course: Path, inbound: Path, account: str, which: int, clocks: Clocks) -> str:
    """One submission of ``account`` (a sample-class notebook); its feedback page's name."""
    sub = sample_class()[which % len(sample_class())]
    secret = os.urandom(16).hex()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    name = f"{account}+{ASSIGNMENT}+{stamp}+{secret[:6]}"
    staging = course / "build" / "bench-staging" / name
    write_submission(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", sub, staging)
    (staging / "submission_secret.txt").write_text(secret)
    (staging / "timestamp.txt").write_text(stamp)
    shutil.chown(staging, account, account if _has_group(account) else None)
    for path in staging.rglob("*"):
        shutil.chown(path, account, account if _has_group(account) else None)
    page = f"{notebook_hash(secret=secret, notebook_id=NOTEBOOK)}.html"
    with clocks.lock:
        os.rename(staging, inbound / name)
        clocks.written[page] = time.monotonic()
    return page


def _has_group(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def service_latency(args, tmp: Path) -> None:
    from course_grader.service.backend import ClassGraderBackend
    from course_grader.service.loop import GradeOnSubmitService, ServicePlaces
    from course_grader.service.policy import GradeOnSubmit
    from course_grader.service.queue import GRADING, SUPERSEDED, WAITING

    course = make_course_copy(tmp / "service")
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", quiet=True)
    places = ServicePlaces(course, course / "exchange", COURSE_ID)
    places.inbound.mkdir(parents=True)
    accounts = make_accounts(args.accounts)
    backend = ClassGraderBackend(course, [ASSIGNMENT], workers=args.workers)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, _interrupt)  # the accounts are removed on the way out
    try:
        started = time.monotonic()
        backend.open()
        print(f"service: backend warm in {time.monotonic() - started:.1f} s "
              f"({args.workers} workers; {load()})", flush=True)
        policy = GradeOnSubmit(assignments=[ASSIGNMENT], cooldown_seconds=0,
                               max_per_day=max(10, args.rush))
        service = GradeOnSubmitService(places, policy, backend)
        service.start()
        clocks = Clocks(places.feedback)

        def serve_until(done, seconds: float) -> None:
            """The service's own loop (``run``), here, until ``done()`` or ``seconds``."""
            deadline = time.monotonic() + seconds
            while not done() and time.monotonic() < deadline:
                service.round()
                stop.wait(args.poll)

        solo = []
        for i in range(args.solo):  # one student alone: each waits for its page
            page = submit(course, places.inbound, accounts[0], i, clocks)
            serve_until(lambda p=page: p in clocks.seen, 300)
            solo.append(page)
        print(f"one student alone ({args.solo} submissions, one after another): "
              f"{quantiles(clocks.latencies(solo))}  ({load()})", flush=True)

        rng = random.Random(19)
        times = sorted(rng.uniform(0, args.rush_seconds) for _ in range(args.rush))
        who = [accounts[i % len(accounts)] for i in range(args.rush)]
        rng.shuffle(who)
        rush, began = [], time.monotonic()

        def students():
            for at, account in zip(times, who):
                time.sleep(max(0.0, began + at - time.monotonic()))
                rush.append(submit(course, places.inbound, account, len(rush), clocks))

        writer = threading.Thread(target=students, daemon=True)
        writer.start()
        total = args.solo + args.rush

        def settled() -> bool:
            counts = service.queue.counts()
            return not writer.is_alive() and sum(counts.values()) >= total and \
                not counts.get(WAITING) and not counts.get(GRADING)

        serve_until(settled, 900)
        spread = times[-1] if times else 0.0
        counts = service.queue.counts()
        timed = clocks.latencies(rush)
        print(f"deadline rush: {len(rush)} submissions from {len(set(who))} accounts within "
              f"{spread:.0f} s: {quantiles(timed)}; superseded before grading "
              f"{counts.get(SUPERSEDED, 0)}, no page after 600 s "
              f"{len(rush) - len(timed) - counts.get(SUPERSEDED, 0)}  ({load()})", flush=True)
        print(f"  queue states: {counts}", flush=True)
        clocks.stop.set()
    finally:
        stop.set()
        backend.close()
        remove_accounts(accounts)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


# -- the batch grader ---------------------------------------------------------------

class _Stamps(io.StringIO):
    """The batch's printed lines with the time they came."""

    def __init__(self):
        super().__init__()
        self.started = time.monotonic()
        self.ready: float | None = None

    def write(self, text: str) -> int:
        if "Canaries passed" in text and self.ready is None:
            self.ready = time.monotonic() - self.started
        return super().write(text)


def batch_fixed_cost(tmp: Path, repeats: int, workers: int) -> None:
    course, students = new_class(tmp / "fixed", 1)
    ready, whole = [], []
    for _ in range(repeats):
        out = _Stamps()
        run_batch(Options(course, workers=workers, force=True, students=students,
                          progress=False), out=out)
        whole.append(time.monotonic() - out.started)
        ready.append(out.ready or float("nan"))
    print(f"batch fixed cost ({workers} workers, median of {repeats}): ready to grade the first "
          f"student after {statistics.median(ready):.1f} s (runs: "
          f"{', '.join(f'{r:.1f}' for r in ready)}); a class of one: "
          f"{statistics.median(whole):.1f} s  ({load()})", flush=True)


def batch_vs_plain(tmp: Path, sizes: list[int], plain_sample: int, workers: int) -> None:
    plain_course, _ = new_class(tmp / "plain", plain_sample)
    started = time.monotonic()
    nbgrader(plain_course, "autograde", ASSIGNMENT, "--force", quiet=True)
    plain_each = (time.monotonic() - started) / plain_sample
    print(f"plain nbgrader autograde (serial): {plain_sample} submissions in "
          f"{plain_each * plain_sample:.1f} s, {plain_each:.1f} s each  ({load()})", flush=True)
    course, students = new_class(tmp / "batch", max(sizes))
    for n in sizes:
        started = time.monotonic()
        batch = run_batch(Options(course, workers=workers, force=True, students=students[:n],
                                  progress=False), out=io.StringIO())
        wall = time.monotonic() - started
        assert not batch.problems, batch.problems
        plain = plain_each * n
        kind = "measured" if n <= plain_sample else f"rate of {plain_sample} x {n}"
        print(f"{n:4d} submissions: class grader {wall:6.1f} s, plain nbgrader {plain:7.1f} s "
              f"({kind}): {plain / wall:5.1f}x  ({load()})", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--rush", type=int, default=100)
    parser.add_argument("--rush-seconds", type=float, default=60)
    parser.add_argument("--solo", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--batch-repeats", type=int, default=3)
    parser.add_argument("--plain-sample", type=int, default=12)
    parser.add_argument("--sizes", default="12,100")
    parser.add_argument("--skip-service", action="store_true")
    parser.add_argument("--skip-batch", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_service and os.geteuid() != 0:
        parser.error("the service part creates Unix accounts: run as root, or --skip-service")
    print(f"{os.cpu_count()} cores, sandbox on, {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="gos-bench-") as tmp:
        if not args.skip_service:
            service_latency(args, Path(tmp))
        if not args.skip_batch:
            batch_fixed_cost(Path(tmp), args.batch_repeats, args.workers)
            batch_vs_plain(Path(tmp), [int(s) for s in args.sizes.split(",") if s],
                           args.plain_sample, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
