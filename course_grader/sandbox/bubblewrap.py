"""Start every student kernel inside a bubblewrap sandbox.

The kernel sees a fresh root holding only the system's /usr, the Python
installation and the course venv (all read-only), and sized private tmpfs
mounts: /tmp, /dev/shm and its working folder, which holds read-only binds of
the files nbgrader put there (the notebook's folder: the released files).
Nothing the kernel writes reaches the host's disk, and everything it wrote
is gone with the sandbox (nbgrader gets the outputs over the kernel protocol
and writes the graded notebook from its own process).  ``course_grader``, ``source/``,
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
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, HasTraits, Integer, Unicode

from ..untrusted_tree import TreeCaps, TreeRefused, remove_tree, scan_tree

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
    tmp_mb: int = _limit(64, "size of each sandbox's (and each graded submission's) private "
                               "/tmp and /dev/shm, MiB")
    workdir_mb: int = _limit(256, "size of the kernel's private working folder (a tmpfs), MiB")
    output_mb: int = _limit(128, "size of the grading child's private output folder per "
                                 "submission (a tmpfs), MiB")
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


# what nbgrader puts in a kernel's working folder: the notebook and the released files
WORKDIR_CAPS = TreeCaps(max_depth=6, max_entries=500)


def sealed_workdir(workdir: Path, limits: Limits) -> list[str]:
    """bubblewrap options that make ``workdir`` a sized private tmpfs holding read-only
    binds of the plain files nbgrader put there.

    The listing is bounded (``untrusted_tree``): links, special files, hard links
    and trees deeper or larger than ``WORKDIR_CAPS`` are refused, and then the
    kernel starts in an empty folder.  Files and folders are made world-readable
    (the kernel's uid must read the grader's copies; they are read-only inside).
    """
    argv = ["--perms", "0777", "--size", str(limits.workdir_mb * 1024 * 1024),
            "--tmpfs", str(workdir)]
    try:
        entries = scan_tree(workdir, WORKDIR_CAPS)
    except TreeRefused:
        return argv
    for entry in entries:
        path = workdir.joinpath(*entry.path.split("/"))
        if entry.is_dir:
            argv += ["--perms", "0777", "--dir", str(path)]
        else:
            os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) | 0o444)
            argv += ["--ro-bind", str(path), str(path)]
    return argv


def bwrap_argv(workdir: Path, kernel_dir: Path | None, limits: Limits, uid: int | None,
               extra_env: dict | None = None, switch_uids_inside: bool = False,
               read_only: list[Path] = (), seal_workdir: bool = False,
               job_namespaces: bool = False, inside: dict[Path, str] | None = None
               ) -> list[str]:
    """The bubblewrap command line that wraps a kernel (or grading child) command.

    With ``switch_uids_inside`` (root only) the command itself starts as root in
    the sandbox, keeps the right to change uid and to signal, and gives each
    piece of student code a uid of its own (the grading child does this).
    ``job_namespaces`` keeps CAP_SYS_ADMIN for the command (the grading child's
    runner): it puts every submission into new namespaces and tmpfs mounts of
    its own, and no student process keeps the capability.
    ``read_only`` folders are mounted before the writable ones, which may lie inside them.
    ``seal_workdir`` makes ``workdir`` a sized tmpfs (``sealed_workdir``) instead
    of a writable bind of the host's folder.  ``inside`` mounts a host folder (and
    what lies below it) at another path in the sandbox: the grading child's
    folder must not lie under /tmp, which each of its jobs replaces.
    """
    places = _Places(inside or {})
    return [bwrap_path() or "bwrap",
            *_namespaces_and_capabilities(uid, switch_uids_inside, job_namespaces),
            *_system_mounts(), *_scratch_mounts(limits),
            *_grading_mounts(places, workdir, kernel_dir, limits, read_only, seal_workdir),
            "--chdir", str(places.there(Path(workdir))), "--clearenv",
            *_environment(extra_env), "--",
            *_jail(uid, switch_uids_inside)]


class _Places:
    """Where a host path appears in the sandbox (``inside`` moves folders elsewhere)."""

    def __init__(self, inside: dict[Path, str]):
        self.inside = inside

    def there(self, path: Path) -> Path:
        for host, place in self.inside.items():
            if path == host or Path(host) in path.parents:
                return Path(place) / path.relative_to(host)
        return path


def _namespaces_and_capabilities(uid: int | None, switch_uids_inside: bool,
                                 job_namespaces: bool) -> list[str]:
    if uid is None:
        argv = ["--unshare-all"]
    else:
        # As root, bubblewrap sets up the namespaces itself; jail.py then drops to
        # the slot's uid inside, so the process cap counts that uid only.  (An
        # unprivileged bwrap could not even reach a Python under /root.)  Root
        # keeps every capability in bubblewrap unless told otherwise: drop them all.
        argv = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--cap-drop", "ALL",
                "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        if switch_uids_inside:
            # signal any uid, hand each exercise its folder, read what it wrote
            argv += ["--cap-add", "CAP_KILL", "--cap-add", "CAP_CHOWN",
                     "--cap-add", "CAP_DAC_READ_SEARCH"]
    if job_namespaces:
        argv += ["--cap-add", "CAP_SYS_ADMIN"]
    return argv


def _system_mounts() -> list[str]:
    """The system's programs and libraries, read-only, and the few files of /etc they read."""
    argv = ["--die-with-parent", "--hostname", "grading", "--ro-bind", "/usr", "/usr"]
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
    return argv + ["--chmod", "0755", "/etc"]


def _scratch_mounts(limits: Limits) -> list[str]:
    scratch = str(limits.tmp_mb * 1024 * 1024)
    # bubblewrap's /dev is an unsized tmpfs: /dev/shm gets a sized one of its own
    return ["--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", scratch, "--tmpfs", "/dev/shm",
            "--perms", "1777", "--size", scratch, "--tmpfs", "/tmp"]


def _grading_mounts(places: _Places, workdir: Path, kernel_dir: Path | None, limits: Limits,
                    read_only: list[Path], seal_workdir: bool) -> list[str]:
    """The interpreter, the jail, the read-only folders, then the working ones."""
    mounts = _read_only_roots()
    argv = []
    for root in mounts:
        argv += ["--ro-bind", str(root), str(root)]
    argv += ["--ro-bind", str(JAIL), JAIL_INSIDE]
    for folder in read_only:
        argv += ["--ro-bind", str(folder), str(places.there(Path(folder)))]
    writable = ([] if seal_workdir else [workdir]) + \
        ([kernel_dir] if kernel_dir is not None else [])
    if seal_workdir:
        argv += sealed_workdir(Path(workdir), limits)
    for folder in writable:
        argv += ["--bind", str(folder), str(places.there(Path(folder)))]
    # bubblewrap makes the folders leading to a mount point 0700 as root
    placed = [places.there(Path(f)) for f in [*read_only, *writable, workdir]]
    for folder in _ancestors([*mounts, *placed]):
        argv += ["--chmod", "0755", str(folder)]
    return argv


def _environment(extra_env: dict | None) -> list[str]:
    """``--setenv`` for what a kernel needs; nothing else of the grader's gets in."""
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
    argv = []
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return argv


def _jail(uid: int | None, switch_uids_inside: bool) -> list[str]:
    """The launcher that drops to ``uid`` inside (unless the command switches uids itself)."""
    if uid is not None and not switch_uids_inside:
        return [sys.executable, "-I", "-S", JAIL_INSIDE, "--uid", str(uid), "--"]
    return []


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


SCRUB_MAX_ENTRIES = 100_000


def scrub_workdir(path: Path) -> list[str]:
    """After an unsandboxed kernel is gone: drop links it made in its working folder.

    A symlink left in the folder could make the grader (which writes the
    autograded notebook there) write through it to any file it can reach.
    (A sandboxed kernel's folder is a tmpfs: it never writes the host's.)
    The walk is iterative, holds one folder at a time and follows no link;
    past ``SCRUB_MAX_ENTRIES`` the whole folder's content is removed instead.
    """
    removed, pending, seen = [], [""], 0
    while pending:
        rel = pending.pop()
        try:
            names = os.listdir(path / rel) if rel else os.listdir(path)
        except OSError:
            continue
        for name in names:
            seen += 1
            if seen > SCRUB_MAX_ENTRIES:
                for top in os.listdir(path):
                    remove_tree(path / top)
                return ["(everything: more than "
                        f"{SCRUB_MAX_ENTRIES} files and folders)"]
            inner = os.path.join(rel, name)
            info = os.lstat(path / inner)
            if stat.S_ISLNK(info.st_mode) or (stat.S_ISREG(info.st_mode) and info.st_nlink > 1):
                os.unlink(path / inner)  # a link, or a hard link to a file elsewhere
                removed.append(inner)
            elif stat.S_ISDIR(info.st_mode):
                pending.append(inner)
    return removed


class SandboxKernelManager(AsyncKernelManager,
                           limit_traits("memory_mb", "cpu_seconds", "processes", "file_mb",
                                        "tmp_mb", "workdir_mb")):
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
                # the kernel makes its sockets here; the folder holds nothing else
                os.chown(self._kernel_dir, self._uid(), self._uid())
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
            wrapper += bwrap_argv(self._workdir, self._kernel_dir, self.limits(), self._uid(),
                                  seal_workdir=True)
        return wrapper + cmd

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        self._remove_kernel_dir()

    def _remove_kernel_dir(self) -> None:
        kernel_dir = getattr(self, "_kernel_dir", None)
        if kernel_dir is not None:
            try:
                remove_tree(kernel_dir)
            except OSError:
                pass
