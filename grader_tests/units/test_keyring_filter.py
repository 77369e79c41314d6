"""The seccomp keyring filter as data, and the launcher's command line.

The filter is run here by a small interpreter of the few classic-BPF
instructions it uses, for every architecture and call that matters; then
once for real (no sandbox needed: the launcher installs it on itself).
"""

from __future__ import annotations

import errno
import struct
import subprocess
import sys

import pytest

from course_grader.sandbox import rlimits
from course_grader.sandbox.bubblewrap import JAIL

X86, ARM = rlimits.AUDIT_ARCH_X86_64, rlimits.AUDIT_ARCH_AARCH64
I386 = 0x40000003
KILL, ALLOW = rlimits.SECCOMP_RET_KILL_PROCESS, rlimits.SECCOMP_RET_ALLOW
EPERM = rlimits.SECCOMP_RET_ERRNO | errno.EPERM
ENOSYS = rlimits.SECCOMP_RET_ERRNO | errno.ENOSYS


def run_filter(program: list[tuple], arch: int, nr: int) -> int:
    """What the kernel would answer for a call ``nr`` of architecture ``arch``."""
    data = struct.pack("=iI", nr, arch)
    accumulator, pc = 0, 0
    for _ in range(len(program) + 1):  # classic BPF only jumps forward
        code, jt, jf, k = program[pc]
        if code == rlimits.BPF_LD_W_ABS:
            accumulator = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif code == rlimits.BPF_JEQ_K:
            pc += 1 + (jt if accumulator == k else jf)
        elif code == rlimits.BPF_JGE_K:
            pc += 1 + (jt if accumulator >= k else jf)
        elif code == rlimits.BPF_RET_K:
            return k
        else:
            raise AssertionError(f"unexpected instruction {code:#x}")
    raise AssertionError("the program ran off its end")


PROGRAM = rlimits.keyring_filter()


@pytest.mark.parametrize("arch, calls", [(X86, (248, 249, 250)), (ARM, (217, 218, 219))])
def test_keyring_calls_are_refused_on_each_architecture(arch, calls):
    for nr in calls:
        assert run_filter(PROGRAM, arch, nr) == EPERM


@pytest.mark.parametrize("arch, allowed", [
    (X86, (0, 1, 39, 56, 57, 59, 247, 251, 435)),  # read, write, getpid, clone, fork, ...
    (ARM, (63, 64, 172, 220, 216, 221, 435)),
])
def test_every_other_call_is_allowed(arch, allowed):
    for nr in allowed:
        assert run_filter(PROGRAM, arch, nr) == ALLOW


def test_x32_calls_are_refused_and_foreign_architectures_killed():
    for nr in (0, 248, 250, 512):
        assert run_filter(PROGRAM, X86, rlimits.X32_SYSCALL_BIT | nr) == ENOSYS
    for arch in (I386, 0x40000028, 0):  # i386 (keyctl is 288 there), arm, nonsense
        for nr in (0, 286, 287, 288):
            assert run_filter(PROGRAM, arch, nr) == KILL


def test_jumps_stay_inside_the_program():
    for position, (code, jt, jf, _k) in enumerate(PROGRAM):
        if code in (rlimits.BPF_JEQ_K, rlimits.BPF_JGE_K):
            assert position + 1 + max(jt, jf) < len(PROGRAM)
    assert PROGRAM[-1][0] == rlimits.BPF_RET_K


def test_the_launcher_really_shuts_the_keyrings():
    probe = ("import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
             "r = libc.syscall(248, b'user', b'cg-test', b'v', 1, -4); "
             "print(r, ctypes.get_errno(), open('/proc/self/status').read().count('Seccomp:\\t2'))")
    out = subprocess.run([sys.executable, "-I", "-S", str(JAIL), "--", sys.executable, "-c",
                          probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["-1", str(errno.EPERM), "1"]


@pytest.mark.parametrize("argv", [
    ["--memroy-mb", "10", "--", "true"],  # a misspelt limit would set no limit at all
    ["--memory-mb", "ten", "--", "true"],
    ["--memory", "10", "--", "true"],  # no abbreviations either
    ["--memory-mb", "10", "--"],
    ["--memory-mb", "10"],
])
def test_the_launcher_refuses_a_command_line_it_does_not_understand(argv):
    result = subprocess.run([sys.executable, "-I", "-S", str(JAIL), *argv],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "usage:" in result.stderr


def test_the_launcher_parses_every_option():
    opts, command = rlimits.parse(["--uid", "5", "--memory-mb", "1", "--cpu-seconds", "2",
                                   "--processes", "3", "--file-mb", "4", "--ignore-sigint",
                                   "--", "python", "--", "x"])
    assert (opts.uid, opts.memory_mb, opts.cpu_seconds, opts.processes, opts.file_mb,
            opts.ignore_sigint) == (5, 1, 2, 3, 4, True)
    assert command == ["python", "--", "x"]
