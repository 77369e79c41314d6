"""Set rlimits, shut the kernel keyrings, drop to an unprivileged uid, then exec a command.

Runs between jupyter_client and bubblewrap for every student kernel and every
grading child (and, with ``--uid`` only, inside the sandbox before the kernel):

    python -I -S rlimits.py --uid 61001 --memory-mb 2048 --cpu-seconds 300 \
        --processes 64 --file-mb 64 [--ignore-sigint] -- bwrap ... -- python ...

Standard library only, because it runs with ``-I -S`` (no site-packages), so a
student cannot influence it and it starts in a few milliseconds.

The kernel keyrings are not namespaced: a key added in one sandbox is
readable from the next one run by the same uid.  So every process started
from here carries a seccomp filter (inherited across fork and exec, never
removable) that answers ``add_key``, ``keyctl`` and ``request_key`` with
EPERM, answers every x32 call with ENOSYS, and kills a process that makes a
system call of any other architecture than x86_64 or aarch64 (a 32-bit
``int 0x80`` call would otherwise reach the keyrings under other numbers).
"""

import argparse
import ctypes
import errno
import os
import resource
import signal
import struct
import sys

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

# classic BPF, as seccomp reads it: struct sock_filter {u16 code; u8 jt, jf; u32 k}
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_RET_K = 0x06
# struct seccomp_data: int nr; u32 arch; ...
NR_OFFSET, ARCH_OFFSET = 0, 4
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_AARCH64 = 0xC00000B7
X32_SYSCALL_BIT = 0x40000000
# add_key, request_key, keyctl
KEYRING_CALLS = {AUDIT_ARCH_X86_64: (248, 249, 250), AUDIT_ARCH_AARCH64: (217, 218, 219)}


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> tuple:
    return (code, jt, jf, k)


def _arch_block(arch: int) -> list[tuple]:
    """Deny the keyring calls of one architecture (and x32 calls on x86_64), allow the rest."""
    calls = KEYRING_CALLS[arch]
    block = [_op(BPF_LD_W_ABS, NR_OFFSET)]
    if arch == AUDIT_ARCH_X86_64:
        # jump over the keyring tests straight to "ENOSYS"
        block.append(_op(BPF_JGE_K, X32_SYSCALL_BIT, jt=len(calls) + 2))
    for position, number in enumerate(calls):
        # on a match, jump to the "EPERM" at the end of the tests
        block.append(_op(BPF_JEQ_K, number, jt=len(calls) - position))
    block.append(_op(BPF_RET_K, SECCOMP_RET_ALLOW))
    block.append(_op(BPF_RET_K, SECCOMP_RET_ERRNO | errno.EPERM))
    if arch == AUDIT_ARCH_X86_64:
        block.append(_op(BPF_RET_K, SECCOMP_RET_ERRNO | errno.ENOSYS))
    return block


def keyring_filter() -> list[tuple]:
    """The filter as (code, jt, jf, k) instructions."""
    x86, arm = _arch_block(AUDIT_ARCH_X86_64), _arch_block(AUDIT_ARCH_AARCH64)
    head = [_op(BPF_LD_W_ABS, ARCH_OFFSET),
            _op(BPF_JEQ_K, AUDIT_ARCH_X86_64, jt=2),  # to the x86_64 block
            _op(BPF_JEQ_K, AUDIT_ARCH_AARCH64, jt=1 + len(x86)),  # to the aarch64 block
            _op(BPF_RET_K, SECCOMP_RET_KILL_PROCESS)]
    return head + x86 + arm


def deny_keyrings() -> None:
    """Install ``keyring_filter`` for this process and everything it starts; raise if refused."""
    program = b"".join(struct.pack("=HBBI", *op) for op in keyring_filter())
    count = len(program) // 8
    buffer = ctypes.create_string_buffer(program, len(program))

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = Prog(count, ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                      ctypes.c_ulong]
    # no_new_privs: a setuid program can never regain what the sandbox took away
    if prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0 or \
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"the seccomp keyring filter was refused: {os.strerror(code)}")


def _die_with_parent(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rlimits.py", allow_abbrev=False,
                                     usage="rlimits.py [options] -- command ...")
    for flag in ("--uid", "--memory-mb", "--cpu-seconds", "--processes", "--file-mb"):
        parser.add_argument(flag, type=int)
    parser.add_argument("--ignore-sigint", action="store_true")
    return parser


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """Options and command; an unknown or misspelt option is an error (exit status 2)."""
    parser = _parser()
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        parser.error("a command is required after --")
    split = argv.index("--")
    return parser.parse_args(argv[:split]), argv[split + 1:]


def main(argv: list[str]) -> None:
    opts, command = parse(argv)
    parent = os.getppid()
    mib = 1024 * 1024
    if opts.memory_mb is not None:
        limit = opts.memory_mb * mib
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if opts.cpu_seconds is not None:
        # SIGXCPU at the soft limit, SIGKILL a little later if it is caught
        resource.setrlimit(resource.RLIMIT_CPU, (opts.cpu_seconds, opts.cpu_seconds + 5))
    if opts.file_mb is not None:
        limit = opts.file_mb * mib
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if opts.processes is not None:
        # counted per real uid, so it only bites after the switch below
        resource.setrlimit(resource.RLIMIT_NPROC, (opts.processes, opts.processes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if opts.ignore_sigint:
        # bubblewrap shares the kernel's process group, and an interrupt is
        # sent to that group: it must reach the kernel, not end the sandbox
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    deny_keyrings()
    if opts.uid is not None:
        os.setgroups([])
        os.setgid(opts.uid)
        os.setuid(opts.uid)
    # set after setuid: a credential change clears the parent-death signal
    _die_with_parent(parent)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
