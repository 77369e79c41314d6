"""Start every student kernel inside a bubblewrap sandbox.

The kernel sees a fresh root holding only the system's /usr, the Python
installation and the course venv (all read-only), its own working folder
(read-write) and a small private /tmp.  ``course_grader``, ``source/``,
``release/``, the gradebook, the grade export and every other student's
folders are simply not there.  It has no network (only its own loopback),
runs as an unprivileged user id of its own worker slot, and carries rlimits
for memory, CPU time, processes and file size.  The grading child of
``course_grader.verdict`` runs in the same sandbox, without kernel sockets.

The grader talks to the kernel over ``ipc`` (Unix sockets) in a private
folder bound into the sandbox, since a separate network namespace cannot
reach the grader's TCP ports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, HasTraits, Integer, Unicode

JAIL = Path(__file__).with_name("rlimits.py")
# where the jail appears inside the sandbox: the one file of the grader's that is
# mounted there (it holds nothing secret), away from the package's real path
JAIL_INSIDE = "/opt/grading/rlimits.py"
INSTALL_HINT = "sudo apt-get install bubblewrap"
# environment a kernel needs; everything else of the grader's is dropped
PASS_THROUGH_ENV = ("LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "TZ")


def _limit(default: int, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Limits:
    """Caps for one student's notebook run: the one definition of each limit.

    Every field is a command-line option of ``grade`` (``--memory-mb``...,
    see ``batch/cli.py``) and, through ``limit_traits``, a config trait of the
    classes that apply it (``SandboxKernelManager``, ``GuardedExecute``,
    ``TrustedVerdict``), with this default and help.
    """

    memory_mb: int = _limit(3072, "address-space cap per sandboxed process, MiB")
    cpu_seconds: int = _limit(600, "CPU-time cap per sandboxed process, seconds")
    processes: int = _limit(96, "process and thread cap per sandbox")
    file_mb: int = _limit(64, "largest file a sandboxed process may write, MiB")
    tmp_mb: int = _limit(64, "size of the sandbox's private /tmp, MiB")
    cell_timeout: int = _limit(120, "seconds per cell")
    notebook_timeout: int = _limit(900, "wall-clock seconds per notebook")

    @staticmethod
    def names() -> list[str]:
        return [f.name for f in fields(Limits)]

    @staticmethod
    def help(name: str) -> str:
        return next(f.metadata["help"] for f in fields(Limits) if f.name == name)


def limit_traits(*names: str, **defaults: int) -> type:
    """A mixin with one configurable ``Integer`` trait per named ``Limits`` field.

    The trait has the field's default (or one of ``defaults``) and help, and
    the mixin's ``limits()`` gives a ``Limits`` with the configured values.
    """
    unknown = set(names) - set(Limits.names())
    if unknown:
        raise ValueError(f"not a field of Limits: {sorted(unknown)}")
    traits = {name: Integer(defaults.get(name, getattr(Limits, name)),
                            help=Limits.help(name)).tag(config=True) for name in names}

    def limits(self) -> Limits:
        return Limits(**{name: getattr(self, name) for name in names})

    return type("LimitTraits", (HasTraits,), {**traits, "limits": limits})


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def refuse_without_bwrap() -> str | None:
    """An error message when bubblewrap is missing, else None."""
    if bwrap_path():
        return None
    return ("bubblewrap (bwrap) is not installed, and grading runs every student kernel "
            f"inside it.\nInstall it with:  {INSTALL_HINT}\n"
            "or pass --no-sandbox for a trusted run (student code then runs with your rights).")


def _read_only_roots() -> list[Path]:
    """Folders the kernel must read: the interpreter and the venv (never the grader)."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix)}
    return sorted(p for p in roots if not str(p).startswith("/usr"))


def bwrap_argv(workdir: Path, kernel_dir: Path | None, limits: Limits, uid: int | None,
               extra_env: dict | None = None, switch_uids_inside: bool = False,
               read_only: list[Path] = ()) -> list[str]:
    """The bubblewrap command line that wraps a kernel (or grading child) command.

    With ``switch_uids_inside`` (root only) the command itself starts as root in
    the sandbox, keeps the right to change uid and to signal, and gives each
    piece of student code a uid of its own (the grading child does this).
    ``read_only`` folders are mounted before the writable ones, which may lie inside them.
    """
    argv = [bwrap_path() or "bwrap"]
    if uid is not None:
        # As root, bubblewrap sets up the namespaces itself; jail.py then drops to
        # the slot's uid inside, so the process cap counts that uid only.  (An
        # unprivileged bwrap could not even reach a Python under /root.)
        argv += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                 "--unshare-cgroup-try", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        if switch_uids_inside:
            argv += ["--cap-add", "CAP_KILL"]
    else:
        argv += ["--unshare-all"]
    argv += ["--die-with-parent", "--hostname", "grading", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        host = Path("/", name)
        if host.is_symlink():  # merged /usr: keep the same links
            argv += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            argv += ["--ro-bind", str(host), str(host)]
    for etc in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime",
                "fonts", "mime.types", "nsswitch.conf"):
        argv += ["--ro-bind-try", f"/etc/{etc}", f"/etc/{etc}"]
    # made 0700 by bubblewrap: the kernel's own uid could not read /etc/fonts
    # (matplotlib's fc-list call then printed a Fontconfig error into every notebook)
    argv += ["--chmod", "0755", "/etc"]
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777",
             "--size", str(limits.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp"]
    mounts = _read_only_roots()
    for root in mounts:
        argv += ["--ro-bind", str(root), str(root)]
    argv += ["--ro-bind", str(JAIL), JAIL_INSIDE]
    for folder in read_only:
        argv += ["--ro-bind", str(folder), str(folder)]
    writable = [workdir] + ([kernel_dir] if kernel_dir is not None else [])
    for folder in writable:
        argv += ["--bind", str(folder), str(folder)]
    # bubblewrap makes the folders leading to a mount point 0700 as root
    for folder in _ancestors([*mounts, *read_only, *writable]):
        argv += ["--chmod", "0755", str(folder)]
    argv += ["--chdir", str(workdir), "--clearenv"]
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": "/tmp", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib",
        "IPYTHONDIR": "/tmp/ipython", "NBGRADER_EXECUTION": "autograde",
        # one BLAS thread: parallel workers already use every core
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    env.update({k: os.environ[k] for k in PASS_THROUGH_ENV if k in os.environ})
    env.update(extra_env or {})
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += ["--"]
    if uid is not None and not switch_uids_inside:
        argv += [sys.executable, "-I", "-S", JAIL_INSIDE, "--uid", str(uid), "--"]
    return argv


def _ancestors(paths: list[Path]) -> list[Path]:
    mounted = {Path(p) for p in paths}
    found = set()
    for path in paths:
        for parent in Path(path).parents:
            if parent in (Path("/"), Path("/tmp")) or parent in mounted:
                continue
            found.add(parent)
    return sorted(found, key=lambda p: len(p.parts))


def rlimits_argv(limits: Limits) -> list[str]:
    return [sys.executable, "-I", "-S", str(JAIL),
            "--memory-mb", str(limits.memory_mb), "--cpu-seconds", str(limits.cpu_seconds),
            "--processes", str(limits.processes), "--file-mb", str(limits.file_mb), "--"]


def _chown_tree(path: Path, uid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, uid, uid, follow_symlinks=False)
        for name in filenames + dirnames:
            os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)


def scrub_workdir(path: Path) -> list[str]:
    """After the kernel is gone: drop links it made, give files back to the grader.

    A symlink left in the folder could make the grader (which writes the
    autograded notebook there) write through it to any file it can reach.
    """
    removed = []
    for dirpath, dirnames, filenames in os.walk(path):
        for name in filenames + dirnames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                os.unlink(full)
                removed.append(os.path.relpath(full, path))
            elif os.path.isfile(full) and os.stat(full).st_nlink > 1:
                os.unlink(full)  # a hard link the kernel made to a file elsewhere
                removed.append(os.path.relpath(full, path))
    if os.geteuid() == 0 and path.exists():
        _chown_tree(path, 0)
    return removed


class SandboxKernelManager(AsyncKernelManager,
                           limit_traits("memory_mb", "cpu_seconds", "processes", "file_mb",
                                        "tmp_mb")):
    """A kernel manager whose kernels run under rlimits.py + bubblewrap."""

    sandboxed = Bool(True, help="wrap the kernel in bubblewrap").tag(config=True)
    uid = Integer(-1, help="unprivileged uid for the kernel (-1: keep ours)").tag(config=True)
    kernel_root = Unicode("", help="where private socket folders are made").tag(config=True)

    async def _async_pre_start_kernel(self, **kw):
        self._workdir = Path(kw.get("cwd") or os.getcwd()).resolve()
        if self.sandboxed:
            root = self.kernel_root or None
            self._kernel_dir = Path(tempfile.mkdtemp(prefix="cg-kernel-", dir=root))
            self.transport = "ipc"
            self.connection_file = str(self._kernel_dir / "kernel.json")
            self.ip = str(self._kernel_dir / "ipc")
            if self._uid() is not None:
                for path in (self._kernel_dir, self._workdir):
                    _chown_tree(path, self._uid())
        env = dict(kw.get("env") or os.environ)
        env.pop("JPY_PARENT_PID", None)  # a pid outside the sandbox's pid namespace
        kw["env"] = env
        # what the kernel process itself prints (its banner, anything student code writes
        # to the real fd 1/2) belongs nowhere: not in the grading worker's own output
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        return await super()._async_pre_start_kernel(**kw)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        # written 0600 by the grader: the kernel's own uid must read it
        if self.sandboxed and self._uid() is not None and os.path.exists(self.connection_file):
            os.chown(self.connection_file, self._uid(), self._uid())

    def _uid(self) -> int | None:
        return self.uid if self.uid >= 0 and os.geteuid() == 0 else None

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        wrapper = rlimits_argv(self.limits())
        if self.sandboxed:
            wrapper.insert(-1, "--ignore-sigint")
        if self.sandboxed:
            wrapper += bwrap_argv(self._workdir, self._kernel_dir, self.limits(), self._uid())
        return wrapper + cmd

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        self._remove_kernel_dir()

    def _remove_kernel_dir(self) -> None:
        kernel_dir = getattr(self, "_kernel_dir", None)
        if kernel_dir is not None:
            shutil.rmtree(kernel_dir, ignore_errors=True)
