"""Run students' answer cells in forks of one prepared interpreter; save what they return.

This file is the *untrusted* side of grading: it is copied into a throw-away
folder, with the course's provided modules, and run there inside the sandbox as

    python -I grading_runner.py setup.json

It decides nothing.  It runs the course's setup cell (text chosen by the
grader) once, checks that it can seal a job, says ``setup-ok``, then serves
jobs: the grader writes ``jobs/<token>/job.json`` (one submission's answer
cells and, per function, the calls to make, arguments as data) and sends
the token on stdin.  Each job is sealed: a supervisor forked for it takes new mount, IPC
and pid namespaces, mounts fresh sized tmpfs over /tmp, /dev/shm and the
job's ``run`` folder, and forks the job's init, which runs each answer cell
in a fork of the prepared namespace (under a uid of its own when the grader
runs as root, with no capability) that calls the student's function and
writes plain data (``result.json`` and ``.npy`` files without pickles), and
kills every process of the job after each one.  The supervisor then copies
only those files into ``out`` and exits: the job's namespaces and tmpfs,
whatever students built there, go with it.  The runner answers
``done <token>``, or ``unclean <token>`` when it cannot prove the job gone
(then it must not serve again).  The process that runs this file never
executes student code itself, and no fork can reach its stdin or stdout
(they are closed in the fork, and the runner cannot be traced).  The grader
still treats every byte written here as a claim to be validated.

Standard library and numpy only: nothing of the grader is importable here.
"""

import copy
import ctypes
import json
import os
import re
import resource
import signal
import stat
import sys
import time

MAX_MESSAGE = 300
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
CAPABILITY_VERSION_3 = 0x20080522
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID = 0x00020000, 0x08000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
TOKEN = re.compile(r"[0-9a-f]{16,64}")
SCRATCH = ("/tmp", "/dev/shm")
SCRATCH_INODES = 4096  # files and folders per tmpfs of a job
ARRAY_FILE = re.compile(r"c\d{1,2}_\d{1,2}\.npy")
COPY_FILE = 16 << 20  # what intake accepts at most, per file and per exercise
COPY_TOTAL = 96 << 20


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


MAX_ITEMS = 64  # items of a returned dict, tuple or list that are described


def _number(value, np):
    """A plain float for a Python or numpy number (bool included), else None."""
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        try:
            number = float(value)  # a subclass's own __float__ may raise or lie about its type
        except Exception:  # noqa: BLE001 - past float's range, or the student's own failure
            return None
        return number if type(number) is float else None
    return None


def _item(folder, name, value, np):
    """Describe a value one level inside what was returned: an array (saved to
    ``name``.npy, numbers only), a number, or only its type's name."""
    record = {"type": type(value).__name__[:60]}
    if isinstance(value, np.ndarray):
        plain = np.array(value, copy=True, subok=False)
        if plain.dtype.hasobject:
            record["kind"] = "object array"
            return record
        np.save(os.path.join(folder, name), plain, allow_pickle=False)
        record.update(kind="ndarray", file=name + ".npy")
        return record
    number = _number(value, np)
    if number is not None:
        record.update(kind="number", value=number)
        return record
    record["kind"] = record["type"]
    return record


def _describe_value(folder, index, value, np):
    """What a call returned, as data: the top level, and containers one level deep."""
    if isinstance(value, dict):
        keys, values = [], {}
        for position, (key, item) in enumerate(list(value.items())[:MAX_ITEMS]):
            label = key if isinstance(key, str) else f"<{type(key).__name__}>"
            keys.append(label[:40])
            if isinstance(key, str):
                values[label[:40]] = _item(folder, f"c{index}_{position}", item, np)
        return {"kind": "dict", "keys": keys, "values": values}
    if isinstance(value, (tuple, list)):
        items = [_item(folder, f"c{index}_{position}", item, np)
                 for position, item in enumerate(list(value[:MAX_ITEMS]))]
        return {"kind": "tuple", "items": items, "length": len(value)}
    return _item(folder, f"c{index}_0", value, np)


def _argument(encoded, np):
    if "array" in encoded:
        return np.array(encoded["array"], dtype=encoded["dtype"])
    return encoded["data"]


def _same(before, after, np):
    """Whether an argument still equals the copy taken before the call."""
    try:
        if isinstance(before, np.ndarray):
            return isinstance(after, np.ndarray) and before.shape == after.shape and \
                before.dtype == after.dtype and \
                bool(np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"))
        return type(after) is type(before) and json.dumps(after) == json.dumps(before)
    except Exception:  # noqa: BLE001 - changed into something that cannot be compared
        return False


def _call(function, call, folder, index, np):
    if call.get("disturb") is not None:  # the function must not rely on the caller's seed
        np.random.seed(call["disturb"])
        np.random.randn(7)
    args = [_argument(encoded, np) for encoded in call["args"]]
    before = [copy.deepcopy(arg) for arg in args]
    record = {}
    try:
        value = function(*args)
    except BaseException as error:  # noqa: BLE001 - the student's own failure is data
        record["raised"] = _describe(error)
        return record
    record["changed"] = [not _same(old, new, np) for old, new in zip(before, args)]
    first = args[0] if args else None
    if isinstance(first, list):  # a list argument after the call, for the message
        record["input_after"] = [n for n in first if isinstance(n, int)] \
            if len(first) <= 64 else None
    record["type"] = type(value).__name__
    record["value"] = _describe_value(folder, index, value, np)
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


def _drop_capabilities():
    """No capability survives into student code, whatever uid it runs under.

    As root the uid switch already clears them; without root the runner holds
    CAP_SYS_ADMIN in bubblewrap's user namespace, and the fork keeps its uid.
    """
    libc = _libc()
    for cap in range(64):  # nor can an exec regain them from the bounding set
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    if libc.capset(header, (ctypes.c_uint32 * 6)()) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "no_new_privs")


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


def _wait(pid, seconds):
    """The wait status of ``pid``, or None if it was still running at the deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.02)
    return None


def _run_forked(exercise, namespace, setup, folder, private, work):
    pid = _fork()
    if pid == 0:
        try:
            _in_fork(private, work)
            if exercise.get("uid") is not None:
                _become(exercise["uid"], setup["processes"])
            if setup["isolate"]:
                _drop_capabilities()
            _exercise(exercise, namespace, folder)
        finally:
            os._exit(0)
    if _wait(pid, setup["exercise_seconds"]) is None:
        _kill(-pid)
        os.waitpid(pid, 0)
    if setup["isolate"]:
        # the init of the job's pid namespace: whatever the student started dies here
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


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                           ctypes.c_char_p]
    return libc


def _mount(source, target, kind, flags, options):
    def encode(text):
        return None if text is None else text.encode()

    if _libc().mount(encode(source), encode(target), encode(kind), flags, encode(options)):
        code = ctypes.get_errno()
        raise OSError(code, f"mount {kind or source} on {target}: {os.strerror(code)}")


def _tmpfs(target, megabytes, mode):
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={megabytes}m,nr_inodes={SCRATCH_INODES},mode={mode}")


def _seal(work, setup):
    """In the supervisor: new mount, IPC and pid namespaces and fresh tmpfs mounts.

    The jobs folder becomes read-only (student code can change nothing the
    grader reads there), /tmp and /dev/shm are empty sized tmpfs, and ``run``
    (the exercises' output folders) is one too.  The next fork is the job's init.
    """
    if _libc().unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)  # nothing leaks back to the sandbox
    jobs = os.path.dirname(work)
    _mount(jobs, jobs, None, MS_BIND | MS_REC, None)
    _mount(None, jobs, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
    for scratch in SCRATCH:
        _tmpfs(scratch, setup["tmp_mb"], "1777")
    _tmpfs(os.path.join(work, "run"), setup["output_mb"], "0755")


def _job_init(job, namespace, setup, work, private):
    """pid 1 of the job's namespace: run each exercise, kill everything after each one."""
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if setup["isolate"]:
        # a /proc of the job's own pid namespace: the runner is not in it
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    for exercise in job["exercises"]:
        folder = os.path.join(work, "run", exercise["name"])
        _run_forked(exercise, namespace, setup, folder, private, work)


def _copy_out(exercises, run, out_fd):
    """Only the expected result files, as plain bytes, into the grader's folder."""
    for exercise in exercises:
        name = exercise["name"]
        os.mkdir(name, 0o755, dir_fd=out_fd)
        target = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=out_fd)
        try:
            source = os.open(os.path.join(run, name),
                             os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            os.close(target)
            continue
        try:
            budget = COPY_TOTAL
            for entry in sorted(os.listdir(source)):  # at most SCRATCH_INODES names
                if entry == "result.json" or ARRAY_FILE.fullmatch(entry):
                    budget -= _copy_file(source, target, entry, min(budget, COPY_FILE))
                    if budget <= 0:
                        break
        finally:
            os.close(source)
            os.close(target)


def _copy_file(source, target, entry, limit):
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=source)
    except OSError:
        return 0
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or info.st_size > limit:
            return 0
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        return 0
    out = os.open(entry, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644,
                  dir_fd=target)
    try:
        os.write(out, data)
    finally:
        os.close(out)
    return len(data)


def _supervise(job, namespace, setup, work, private):
    """The job's supervisor (a fork of the runner); 0 only if everything went to plan.

    Its namespaces and tmpfs mounts exist only while it lives: once the job's
    init has ended (and with it every process of the job), it copies the
    expected result files out and exits, and everything else of the job is
    dropped with it, never walked.
    """
    out_fd = os.open(os.path.join(work, "out"), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    if setup["isolate"]:
        _seal(work, setup)
    run = os.path.join(work, "run")
    for exercise in job["exercises"]:
        folder = os.path.join(run, exercise["name"])
        os.mkdir(folder, 0o700)
        if exercise.get("uid") is not None:
            os.chown(folder, exercise["uid"], exercise["uid"])
    init = _fork()
    if init == 0:
        code = 1
        try:
            os.close(out_fd)  # the grader's folder is never within a student's reach
            _job_init(job, namespace, setup, work, private)
            code = 0
        finally:
            os._exit(code)
    status = _wait(init, setup["exercise_seconds"] * len(job["exercises"]) + 5)
    if status is None:
        _kill(init)  # the job's pid namespace, and every process in it, ends with its init
        os.waitpid(init, 0)
        return 1
    _copy_out(job["exercises"], run, out_fd)
    return 0 if os.waitstatus_to_exitcode(status) == 0 else 1


def _others_alive(attempts=50):
    """Processes of the sandbox besides its init and this runner (a sealed job leaves none;
    one just killed may take a moment to be reaped by the sandbox's init)."""
    mine = {1, os.getpid()}
    for _ in range(attempts):
        try:
            others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in mine]
        except OSError:
            return ["(no /proc)"]
        if not others:
            return []
        time.sleep(0.02)
    return others


def _can_seal():
    """Whether this sandbox lets a job be sealed (tried once, before any student code)."""
    probe = _fork()
    if probe == 0:
        code = 1
        try:
            if _libc().unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID) == 0:
                _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
                for scratch in SCRATCH:
                    _tmpfs(scratch, 1, "1777")
                init = os.fork()
                if init == 0:
                    try:
                        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
                    finally:
                        os._exit(0 if os.getpid() == 1 else 1)
                code = os.waitstatus_to_exitcode(os.waitpid(init, 0)[1])
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(probe, 0)[1]) == 0


def _grade(token, namespace, setup, private):
    """Run one job; True when its state is provably gone (the runner may serve again)."""
    work = os.path.join(os.getcwd(), token)
    with open(os.path.join(work, "job.json")) as fh:
        job = json.load(fh)
    supervisor = _fork()
    if supervisor == 0:
        code = 1
        try:
            _in_fork(private, work)
            code = _supervise(job, namespace, setup, work, private)
        finally:
            os._exit(code)
    status = _wait(supervisor, setup["exercise_seconds"] * len(job["exercises"]) + 30)
    if status is None:
        _kill(supervisor)
        os.waitpid(supervisor, 0)
    clean = status is not None and os.waitstatus_to_exitcode(status) == 0
    if setup["isolate"]:
        _kill(-1)  # nothing of the job may remain; if anything did, it is not clean
        _reap()
        clean = clean and not _others_alive()
    return clean


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
    _preload()
    if setup["isolate"] and not _can_seal():
        os.write(report, b"setup-failed the sandbox refuses the namespaces and tmpfs mounts "
                         b"that seal each submission (CAP_SYS_ADMIN in bubblewrap)\n")
        sys.exit(1)
    # the first line the grader reads from us, written before any student code runs
    os.write(report, b"setup-ok\n")
    os.dup2(quiet, 2)
    private = (commands, report)
    with os.fdopen(commands, "rb", buffering=0) as lines:
        for raw in iter(lambda: _line(lines), b""):
            token = raw.decode(errors="replace").strip()
            if not TOKEN.fullmatch(token):
                return
            clean = _grade(token, namespace, setup, private)
            os.write(report, f"{'done' if clean else 'unclean'} {token}\n".encode())


# numpy loads its subpackages on first use. A sealed job has a fresh /tmp, so with the
# grader installed under /tmp (a CI clone) a job could not load them, and an answer that
# uses np.random or imports numpy.testing would score differently there: every public
# subpackage is loaded once, before any job (about 0.1 s per runner)
PRELOAD = ("numpy.random", "numpy.linalg", "numpy.fft", "numpy.polynomial", "numpy.testing",
           "numpy.ma", "numpy.lib.format", "numpy.char", "numpy.rec", "numpy.strings",
           "numpy.ctypeslib")


def _preload():
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # an older numpy without one of them: the job may load it
            pass


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
