"""Set rlimits, drop to an unprivileged uid, die with the parent, then exec a command.

Runs between jupyter_client and bubblewrap for every student kernel (and, with
``--uid`` only, inside the sandbox before the kernel):

    python -I -S rlimits.py --uid 61001 --memory-mb 2048 --cpu-seconds 300 \
        --processes 64 --file-mb 64 [--ignore-sigint] -- bwrap ... -- python ...

Standard library only, because it runs with ``-I -S`` (no site-packages), so a
student cannot influence it and it starts in a few milliseconds.
"""

import ctypes
import os
import resource
import signal
import sys

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit("usage: rlimits.py [--uid N] [--memory-mb N] [--cpu-seconds N] "
                 "[--processes N] [--file-mb N] -- command ...")
    split = argv.index("--")
    opts, command = argv[:split], argv[split + 1:]
    values = dict(zip(*[iter(o for o in opts if o != "--ignore-sigint")] * 2))
    parent = os.getppid()
    mib = 1024 * 1024
    if "--memory-mb" in values:
        limit = int(values["--memory-mb"]) * mib
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if "--cpu-seconds" in values:
        soft = int(values["--cpu-seconds"])
        # SIGXCPU at the soft limit, SIGKILL a little later if it is caught
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 5))
    if "--file-mb" in values:
        limit = int(values["--file-mb"]) * mib
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if "--processes" in values:
        # counted per real uid, so it only bites after the switch below
        limit = int(values["--processes"])
        resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if "--ignore-sigint" in opts:
        # bubblewrap shares the kernel's process group, and an interrupt is
        # sent to that group: it must reach the kernel, not end the sandbox
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    if "--uid" in values:
        uid = int(values["--uid"])
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    # set after setuid: a credential change clears the parent-death signal
    _die_with_parent(parent)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
