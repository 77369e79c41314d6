"""A sandboxed kernel writes nothing to the host: its working folder is a sized tmpfs.

A real kernel is started by ``SandboxKernelManager`` in a folder holding a
released file; its code fills its working folder, /tmp and /dev/shm, builds a
3,000-level chain, tries to change the released file and reports what it
found, its capabilities and the keyrings.  Afterwards the host's folder holds
exactly what it held before.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil

import pytest

from course_grader.pipeline import SANDBOX_UID
from course_grader.sandbox.bubblewrap import Limits, SandboxKernelManager

pytestmark = [pytest.mark.sandbox,
              pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap missing: apt-get install bubblewrap")]

LIMITS = Limits(tmp_mb=8, workdir_mb=16)
CODE = r'''
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
report = {"listing": sorted(os.listdir(".")), "model": open("model.py").read()}
try:
    open("model.py", "a").write("PLANTED = True\n")
except OSError as error:
    report["model_write"] = error.errno
def fill(folder):
    written = 0
    try:
        for n in range(64):
            with open(os.path.join(folder, "fill%d" % n), "wb") as fh:
                fh.write(b"x" * (1 << 20))
            written += 1
    except OSError:
        pass
    return written
report["filled"] = {where: fill(where) for where in (".", "/tmp", "/dev/shm")}
for where in (".", "/tmp"):
    for n in range(64):
        try:
            os.unlink(os.path.join(where, "fill%d" % n))
        except OSError:
            pass
fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
for _ in range(3000):
    os.mkdir("d", dir_fd=fd)
    inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = inner
os.fchmod(fd, 0o500)
os.symlink("/etc/passwd", "escape")
report["keyring"] = [libc.syscall(248, b"user", b"k", b"v", 1, -4), ctypes.get_errno()]
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
report["caps"] = [status["CapEff"].strip(), status["NoNewPrivs"].strip()]
print(json.dumps(report))
'''


async def run_in_kernel(workdir, code: str) -> dict:
    manager = SandboxKernelManager(kernel_name="python3", memory_mb=LIMITS.memory_mb,
                                   tmp_mb=LIMITS.tmp_mb, workdir_mb=LIMITS.workdir_mb)
    manager.uid = SANDBOX_UID
    await manager.start_kernel(cwd=str(workdir))
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        msg_id = client.execute(code)
        printed = ""
        while True:
            msg = await client.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                printed += msg["content"]["text"]
            if msg["msg_type"] == "error":
                raise AssertionError(msg["content"]["evalue"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                assert printed, "the kernel went idle without printing its report"
                return json.loads(printed)
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)


def test_the_kernel_writes_only_into_a_sized_folder_of_its_own(tmp_path):
    workdir = tmp_path / "autograded" / "ada" / "initialization"
    workdir.mkdir(parents=True)
    (workdir / "model.py").write_text("X = 1\n")
    os.chmod(workdir / "model.py", 0o600)  # the kernel's uid may read it all the same
    report = _in_own_loop(run_in_kernel(workdir, CODE))
    assert report["listing"] == ["model.py"] and report["model"] == "X = 1\n"
    assert "model_write" in report  # released files are read-only inside
    # every place stopped the ballast at its tmpfs size, give or take what the kernel keeps
    # there itself (IPython's files in /tmp); 64 MiB files would be allowed by the file cap
    sizes = {".": LIMITS.workdir_mb, "/tmp": LIMITS.tmp_mb, "/dev/shm": LIMITS.tmp_mb}
    for where, size in sizes.items():
        assert size - 2 <= report["filled"][where] <= size, report["filled"]
    assert report["keyring"] == [-1, 1]  # EPERM
    assert report["caps"] == ["0000000000000000", "1"]
    # the host's folder: exactly what it held before, nothing the kernel made
    assert sorted(os.listdir(workdir)) == ["model.py"]
    assert (workdir / "model.py").read_text() == "X = 1\n"


def _in_own_loop(coroutine):
    """Run ``coroutine`` in a thread of its own: an earlier test may leave an event loop
    running in this one, where asyncio.run refuses to start."""
    import threading

    outcome = {}

    def run():
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # raised again in the test's own thread, whole
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
