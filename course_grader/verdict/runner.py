"""Run a student's answer cells in a fresh interpreter and save what their functions return.

This file is the *untrusted* side of grading: it is copied into a throw-away
folder and run there, inside the sandbox, as

    python -I grading_runner.py job.json

It decides nothing.  It runs the course's setup cell (text chosen by the
grader), then each answer cell in a forked copy of that namespace, calls the
student's function on the layer sizes the job names, and writes plain data:
``result.json`` (numbers, strings) and ``.npy`` files without pickles.  The
process that runs this file never executes student code itself; each fork
does, under a uid of its own when the grader runs as root, so one exercise's
code cannot write another's results.  The grader still treats every byte
written here as a claim to be validated.

Standard library and numpy only: nothing of the grader is importable here.
"""

import json
import os
import resource
import signal
import sys
import time

MAX_MESSAGE = 300


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


def _run_forked(exercise, namespace, job):
    folder = os.path.join(job["out"], exercise["name"])
    pid = _fork()
    if pid == 0:
        try:
            os.setpgid(0, 0)
            if exercise.get("uid") is not None:
                _become(exercise["uid"], job["processes"])
            _exercise(exercise, namespace, folder)
        finally:
            os._exit(0)
    deadline = time.monotonic() + job["exercise_seconds"]
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    else:
        _kill(-pid)
        os.waitpid(pid, 0)
    if job["sweep"]:
        # alone in the sandbox's pid namespace: whatever the student started dies here
        _kill(-1)


def _kill(target):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError:
        pass


def main(job_path):
    with open(job_path) as fh:
        job = json.load(fh)
    report = os.dup(1)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # nothing printed below reaches the grader
    namespace = {"__name__": "__main__", "get_ipython": lambda: _Shell()}
    sys.path.insert(0, os.getcwd())  # the provided modules the setup cell imports
    try:
        exec(compile(job["setup"], "<setup cell>", "exec"), namespace)  # noqa: S102
    except BaseException as error:  # noqa: BLE001 - a broken grading set-up, said loudly
        os.write(report, f"setup-failed {type(error).__name__}: {error}\n".encode())
        raise
    # the only line the grader reads from us, written before any student code runs
    os.write(report, b"setup-ok\n")
    os.close(report)
    os.dup2(quiet, 2)
    for exercise in job["exercises"]:
        _run_forked(exercise, namespace, job)


if __name__ == "__main__":
    main(sys.argv[1])
