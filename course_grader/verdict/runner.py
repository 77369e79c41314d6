"""Run students' answer cells in forks of one prepared interpreter; save what they return.

This file is the *untrusted* side of grading: it is copied into a throw-away
folder, with the course's provided modules, and run there inside the sandbox as

    python -I grading_runner.py setup.json

It decides nothing.  It runs the course's setup cell (text chosen by the
grader) once, says ``setup-ok``, then serves jobs: the grader writes
``jobs/<token>/job.json`` (one submission's answer cells and the layer sizes
to call each function on) and sends the token on stdin.  Each answer cell
runs in a fork of the prepared namespace, under a uid of its own when the
grader runs as root, and calls the student's function; the fork writes plain
data (``result.json`` and ``.npy`` files without pickles).  Then every
process a student started is killed, their files in /tmp are removed, and the
runner answers ``done <token>``.  The process that runs this file never
executes student code itself, and no fork can reach its stdin or stdout (they
are closed in the fork, and the runner cannot be traced).  The grader still
treats every byte written here as a claim to be validated.

Standard library and numpy only: nothing of the grader is importable here.
"""

import ctypes
import json
import os
import re
import resource
import shutil
import signal
import sys
import time

MAX_MESSAGE = 300
PR_SET_DUMPABLE = 4
TOKEN = re.compile(r"[0-9a-f]{16,64}")
SCRATCH = ("/tmp", "/dev/shm")


class _Shell:
    """Stands in for IPython's ``get_ipython()``: magics and shell escapes do nothing."""

    def run_line_magic(self, *args, **kwargs):
        return None

    def run_cell_magic(self, *args, **kwargs):
        return None

    def system(self, *args, **kwargs):
        return None

    getoutput = system


def _describe(error):
    text = str(error)
    return {"type": type(error).__name__, "message": text[:MAX_MESSAGE]}


def _save_value(folder, name, value, np):
    """Describe one dict value; arrays go to ``name`` as .npy (numbers only)."""
    if not isinstance(value, np.ndarray):
        return {"kind": type(value).__name__}
    plain = np.array(value, copy=True, subok=False)
    if plain.dtype.hasobject:
        return {"kind": "object array"}
    np.save(os.path.join(folder, name), plain, allow_pickle=False)
    return {"kind": "ndarray", "file": name + ".npy"}


def _call(function, call, folder, index, np):
    if call.get("disturb") is not None:  # the function must not rely on the caller's seed
        np.random.seed(call["disturb"])
        np.random.randn(7)
    given = list(call["dims"])
    record = {}
    try:
        value = function(given)
    except BaseException as error:  # noqa: BLE001 - the student's own failure is data
        record["raised"] = _describe(error)
        return record
    record["input_after"] = [n for n in given if isinstance(n, int)] \
        if len(given) <= 64 else None
    record["type"] = type(value).__name__
    if isinstance(value, dict):
        keys, values = [], {}
        for position, (key, item) in enumerate(list(value.items())[:64]):
            label = key if isinstance(key, str) else f"<{type(key).__name__}>"
            keys.append(label[:40])
            if isinstance(key, str):
                values[label[:40]] = _save_value(folder, f"c{index}_{position}", item, np)
        record["keys"] = keys
        record["values"] = values
    return record


def _exercise(exercise, namespace, folder):
    """In a forked child: define the answer cell, call the function, write results."""
    import numpy as np

    result = {"defined": False}
    try:
        exec(compile(exercise["answer"], "<answer cell>", "exec"), namespace)  # noqa: S102
    except BaseException as error:  # noqa: BLE001
        result["definition_error"] = _describe(error)
    function = namespace.get(exercise["function"])
    if callable(function):
        result["defined"] = True
        result["calls"] = [_call(function, call, folder, i, np)
                           for i, call in enumerate(exercise["calls"])]
    with open(os.path.join(folder, "result.tmp"), "w") as fh:
        json.dump(result, fh)
    os.replace(os.path.join(folder, "result.tmp"), os.path.join(folder, "result.json"))


def _become(uid, processes):
    """Drop to the exercise's own uid: no other exercise's files or processes are reachable."""
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def _fork(attempts=100):
    for _ in range(attempts):  # processes just killed may still count for a moment
        try:
            return os.fork()
        except BlockingIOError:
            time.sleep(0.02)
    return os.fork()


def _in_fork(private, work):
    """First steps of every fork: lose the runner's pipes before anything else runs."""
    os.setpgid(0, 0)
    quiet = os.open(os.devnull, os.O_RDWR)
    for fd in private:
        os.dup2(quiet, fd)
    os.chdir(work)


def _run_forked(exercise, namespace, setup, folder, private, work):
    pid = _fork()
    if pid == 0:
        try:
            _in_fork(private, work)
            if exercise.get("uid") is not None:
                _become(exercise["uid"], setup["processes"])
            _exercise(exercise, namespace, folder)
        finally:
            os._exit(0)
    deadline = time.monotonic() + setup["exercise_seconds"]
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    else:
        _kill(-pid)
        os.waitpid(pid, 0)
    if setup["sweep"]:
        # alone in the sandbox's pid namespace: whatever the student started dies here
        _kill(-1)
        _reap()


def _reap():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def _kill(target):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError:
        pass


def _scratch_entries():
    found = set()
    for folder in SCRATCH:
        try:
            found.update(os.path.join(folder, name) for name in os.listdir(folder))
        except OSError:
            pass
    return found


def _tidy(keep, uids, private, work):
    """Remove what students left in /tmp and /dev/shm, as the uid that owns it.

    The runner itself holds no right to other uids' files in the sticky /tmp,
    so a fork per uid does it; ``keep`` is what the setup cell made there.
    """
    for uid in uids:
        pid = _fork()
        if pid == 0:
            try:
                _in_fork(private, work)
                if uid is not None:
                    os.setgroups([])
                    os.setgid(uid)
                    os.setuid(uid)
                for path in _scratch_entries() - keep:
                    if os.path.isdir(path) and not os.path.islink(path):
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        try:
                            os.unlink(path)
                        except OSError:
                            pass
            finally:
                os._exit(0)
        os.waitpid(pid, 0)


def _grade(token, namespace, setup, keep, private):
    work = os.path.join(os.getcwd(), token)
    with open(os.path.join(work, "job.json")) as fh:
        job = json.load(fh)
    for exercise in job["exercises"]:
        folder = os.path.join(work, "out", exercise["name"])
        _run_forked(exercise, namespace, setup, folder, private, work)
    if setup["sweep"]:
        _tidy(keep, {e.get("uid") for e in job["exercises"]}, private, work)


def main(setup_path):
    with open(setup_path) as fh:
        setup = json.load(fh)
    commands = os.dup(0)
    report = os.dup(1)
    quiet = os.open(os.devnull, os.O_RDWR)
    os.dup2(quiet, 0)
    os.dup2(quiet, 1)  # nothing printed below reaches the grader
    # the students' forks run with our uid when the grader is not root: they must not
    # be able to trace this process or open its pipes through /proc
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    namespace = {"__name__": "__main__", "get_ipython": lambda: _Shell()}
    # the provided modules the setup cell imports sit beside this file (read-only)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        exec(compile(setup["setup"], "<setup cell>", "exec"), namespace)  # noqa: S102
    except BaseException as error:  # noqa: BLE001 - a broken grading set-up, said loudly
        os.write(report, f"setup-failed {type(error).__name__}: {error}\n".encode())
        raise
    keep = _scratch_entries()
    # the first line the grader reads from us, written before any student code runs
    os.write(report, b"setup-ok\n")
    os.dup2(quiet, 2)
    private = (commands, report)
    with os.fdopen(commands, "rb", buffering=0) as lines:
        for raw in iter(lambda: _line(lines), b""):
            token = raw.decode(errors="replace").strip()
            if not TOKEN.fullmatch(token):
                return
            _grade(token, namespace, setup, keep, private)
            os.write(report, f"done {token}\n".encode())


def _line(stream):
    """One line from the grader, read byte by byte (nothing is buffered past it)."""
    data = b""
    while not data.endswith(b"\n"):
        byte = stream.read(1)
        if not byte:
            return b""
        data += byte
    return data


if __name__ == "__main__":
    main(sys.argv[1])
