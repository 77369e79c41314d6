"""Answer cells that try to leave state behind for a later submission, and ones that look.

``attack_cell`` is a correct zeros answer whose cell first stashes that very
answer everywhere a later job might find it (files in /tmp, in a read-only
folder there and in /dev/shm, SysV shared memory, a semaphore, a message
queue, a POSIX queue, the kernel keyrings), builds folder chains thousands of
levels deep and a wide folder in /tmp, in its output folder and in its
working folder, and fills every writable place it finds with ballast.
``THIEF`` has no answer of its own: it runs whatever zeros answer it finds
left behind (it scores 0 unless something survived).  ``probe_cell`` is a
correct answer that returns the right arrays only while it finds nothing
left behind and runs without any capability.
"""

from __future__ import annotations

from course_grader.assignments.initialization.sample_class import ZEROS

# state every later job must not see; shared by the attack, the thief and the probe
COMMON = r'''
import ctypes, os
import numpy as np
_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.restype = ctypes.c_void_p
_libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
_libc.syscall.restype = ctypes.c_long
_KEYRINGS = (-4, -5, -3, -2)  # user, user session, session, process
_MIB = 1 << 20


class _Msg(ctypes.Structure):
    _fields_ = [("mtype", ctypes.c_long), ("mtext", ctypes.c_char * 4096)]


def _output_folder():
    here = os.path.join(os.getcwd(), "run", "zeros")
    return here if os.path.isdir(here) else os.getcwd()


def _found():
    """Everything an earlier job could have left for this one."""
    hits = []
    for path in ("/tmp/stash.py", "/tmp/locked/stash.py", "/dev/shm/stash.py"):
        try:
            with open(path) as fh:
                hits.append(fh.read())
        except OSError:
            pass
    for path in ("/tmp/deep", "/tmp/wide", "/tmp/locked", "/dev/shm/fill0"):
        if os.path.lexists(path):
            hits.append("left: " + path)
    shm = _libc.shmget(0x5157, 0, 0)
    if shm >= 0:
        address = _libc.shmat(shm, None, 0o10000)  # SHM_RDONLY
        hits.append(ctypes.string_at(address).decode() if address not in (None, 2**64 - 1)
                    else "sysv shm")
    if _libc.semget(0x5158, 0, 0) >= 0:
        hits.append("sysv semaphore")
    queue = _libc.msgget(0x5159, 0)
    if queue >= 0:
        message = _Msg()
        size = _libc.msgrcv(queue, ctypes.byref(message), 4096, 0, 0o4000 | 0o10000)
        hits.append(message.mtext.decode() if size > 0 else "sysv message queue")
    posix = _libc.mq_open(b"/stash", os.O_RDONLY | os.O_NONBLOCK)
    if posix >= 0:
        buffer = ctypes.create_string_buffer(8192)
        size = _libc.mq_receive(posix, buffer, 8192, None)
        hits.append(buffer.value.decode() if size > 0 else "posix message queue")
    for ring in _KEYRINGS:
        key = _libc.syscall(250, 10, ring, b"user", b"stash", 0)  # KEYCTL_SEARCH
        if key > 0:
            buffer = ctypes.create_string_buffer(8192)
            size = _libc.syscall(250, 11, key, buffer, 8192)  # KEYCTL_READ
            hits.append(buffer.value.decode() if size > 0 else "key")
    return hits


def _capabilities():
    with open("/proc/self/status") as fh:
        fields = dict(line.split(":", 1) for line in fh if ":" in line)
    return int(fields["CapEff"], 16), int(fields["CapPrm"], 16), fields["NoNewPrivs"].strip()
'''

STASH = r'''
_CODE = __CODE__


def _quietly(step, *args):
    try:
        return step(*args)
    except Exception:  # noqa: BLE001
        return None


def _write(path, text):
    with open(path, "w") as fh:
        fh.write(text)


def _locked():
    os.makedirs("/tmp/locked", exist_ok=True)
    _write("/tmp/locked/stash.py", _CODE)
    os.chmod("/tmp/locked", 0o500)


def _sysv():
    data = _CODE.encode() + b"\0"
    shm = _libc.shmget(0x5157, 8192, 0o1666)
    ctypes.memmove(_libc.shmat(shm, None, 0), data, len(data))
    _libc.semget(0x5158, 1, 0o1666)
    queue = _libc.msgget(0x5159, 0o1666)
    _libc.msgsnd(queue, ctypes.byref(_Msg(1, data)), len(data), 0o4000)


def _posix_queue():
    queue = _libc.mq_open(b"/stash", os.O_CREAT | os.O_WRONLY | os.O_NONBLOCK, 0o666, None)
    _libc.mq_send(queue, _CODE.encode(), len(_CODE), 0)


def _keys():
    for ring in _KEYRINGS:
        _libc.syscall(248, b"user", b"stash", _CODE.encode(), len(_CODE), ring)


def _deep(top, levels=3000):
    """A folder chain ``levels`` deep, made one step at a time (no path is that long)."""
    os.mkdir(top)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.close(os.open("bottom", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
        os.fchmod(fd, 0o500)
    finally:
        os.close(fd)


def _wide(top, count=3000):
    os.mkdir(top)
    for n in range(count):
        open(os.path.join(top, str(n)), "w").close()


def _fill(folder, ceiling, keep=True):
    """Bytes written into ``folder`` before it refused more (at most ``ceiling`` MiB);
    without ``keep`` the ballast is removed again (the answer needs room for its results)."""
    written, chunk, names = 0, b"x" * _MIB, []
    try:
        for n in range(ceiling):
            names.append(os.path.join(folder, "fill%d" % n))
            with open(names[-1], "wb") as fh:
                fh.write(chunk)
            written += _MIB
    except OSError:
        pass
    for name in names if not keep else ():
        _quietly(os.unlink, name)
    return written


for _step in (lambda: _write("/tmp/stash.py", _CODE), _locked,
              lambda: _write("/dev/shm/stash.py", _CODE), _sysv, _posix_queue, _keys,
              lambda: _deep("/tmp/deep"), lambda: _wide("/tmp/wide"),
              lambda: _deep(os.path.join(_output_folder(), "deep")),
              lambda: _wide(os.path.join(_output_folder(), "wide"), 500),
              lambda: _deep(os.path.join(os.getcwd(), "deep"))):
    _quietly(_step)
_FILLED = {where: _fill(where, __CEILING__) for where in ("/tmp", "/dev/shm")}
_FILLED["output"] = _fill(_output_folder(), __CEILING__, keep=False)
'''


def attack_cell(ceiling_mb: int = 24, bound_mb: int | None = None) -> str:
    """A correct zeros answer after every attack; with ``bound_mb`` it returns the right
    arrays only if no place took more than that much ballast."""
    condition = "True" if bound_mb is None else \
        f"all(n <= {bound_mb} * _MIB for n in _FILLED.values())"
    body = ZEROS.strip("\n").replace(
        "    return parameters", f"    if not ({condition}):\n        return {{}}\n"
        "    return parameters")
    return (COMMON + STASH.replace("__CODE__", repr("import numpy as np\n" + ZEROS))
            .replace("__CEILING__", str(ceiling_mb)) + "\n\n" + body + "\n")


THIEF = COMMON + r'''

def initialize_parameters_zeros(layers_dims):
    for found in _found():
        if "def initialize_parameters_zeros" in found:
            namespace = {}
            exec(found, namespace)
            return namespace["initialize_parameters_zeros"](layers_dims)
    return {}
'''


def probe_cell() -> str:
    """A correct zeros answer that returns the right arrays only in a clean, unprivileged job."""
    return COMMON + ZEROS.replace(
        "    return parameters",
        "    if _found() or _capabilities()[:2] != (0, 0) or _capabilities()[2] != '1':\n"
        "        return {}\n    return parameters")
