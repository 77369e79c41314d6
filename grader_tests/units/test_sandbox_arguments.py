"""The sandbox's promises, read off its command lines as data (no sandbox is started).

``bwrap_argv`` and ``rlimits_argv`` build the argv every student kernel and
grading child runs under; here they are parsed back into mounts, namespaces,
environment and caps, and checked against what ``sandbox/bubblewrap.py`` promises.
The rlimits launcher itself is run once, without bubblewrap, to see a cap bite.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from traitlets.config import Config

import course_grader
from course_grader.batch import cli as grade_cli
from course_grader.batch.execute import GuardedExecute
from course_grader.sandbox.bubblewrap import (
    JAIL,
    JAIL_INSIDE,
    Limits,
    SandboxKernelManager,
    bwrap_argv,
    limit_traits,
    rlimits_argv,
)
from course_grader.verdict.preprocessor import VERDICT_CPU_SECONDS, TrustedVerdict
from course_paths import ROOT

PACKAGE = Path(course_grader.__file__).resolve().parent
LIMITS = Limits(memory_mb=1000, cpu_seconds=30, processes=12, file_mb=5, tmp_mb=7)


def parse(argv: list[str]) -> dict:
    """Mounts, flags, environment and the wrapped command of a bubblewrap argv."""
    split = argv.index("--")
    opts, command = argv[1:split], argv[split + 1:]
    found = {"binds": [], "ro_binds": [], "env": {}, "flags": [], "caps": [], "command": command,
             "dropped": [], "dirs": [], "tmpfs": {}}
    i = 0
    while i < len(opts):
        opt = opts[i]
        if opt in ("--bind", "--ro-bind", "--ro-bind-try"):
            key = "binds" if opt == "--bind" else "ro_binds"
            found[key].append((opts[i + 1], opts[i + 2]))
            i += 3
        elif opt == "--setenv":
            found["env"][opts[i + 1]] = opts[i + 2]
            i += 3
        elif opt == "--cap-add":
            found["caps"].append(opts[i + 1])
            i += 2
        elif opt == "--cap-drop":
            found["dropped"].append(opts[i + 1])
            i += 2
        elif opt == "--dir":
            found["dirs"].append(opts[i + 1])
            i += 2
        elif opt == "--tmpfs":  # with the --size and --perms given just before it
            size = opts[i - 1] if i >= 2 and opts[i - 2] == "--size" else None
            found["tmpfs"][opts[i + 1]] = size
            i += 2
        elif opt in ("--symlink", "--chmod"):
            i += 3
        elif opt in ("--size", "--proc", "--dev", "--perms", "--hostname",
                     "--chdir"):
            found[opt] = opts[i + 1]
            if opt == "--size":
                found["tmpfs_after_size"] = opts[i + 2:i + 4]
            i += 2
        else:
            found["flags"].append(opt)
            i += 1
    return found


@pytest.fixture
def folders(tmp_path):
    work, kernel = tmp_path / "work", tmp_path / "kernel"
    work.mkdir()
    kernel.mkdir()
    return work, kernel


def test_the_grader_package_is_never_mounted_except_the_launcher(folders):
    argv = parse(bwrap_argv(*folders, LIMITS, uid=None))
    for source, _ in argv["binds"] + argv["ro_binds"]:
        inside = Path(source).resolve()
        if inside == JAIL.resolve():
            continue
        for secret in (PACKAGE, ROOT / "source", ROOT / "release", ROOT / "gradebook.db"):
            assert inside != secret and secret not in inside.parents, source
            # nor a folder that holds a secret, such as the course root
            assert inside not in secret.parents, (source, secret)
    assert (str(JAIL), JAIL_INSIDE) in argv["ro_binds"]
    assert not JAIL_INSIDE.startswith(str(PACKAGE))


def test_only_the_working_folder_and_the_socket_folder_are_writable(folders):
    work, kernel = folders
    argv = parse(bwrap_argv(work, kernel, LIMITS, uid=None))
    assert argv["binds"] == [(str(work), str(work)), (str(kernel), str(kernel))]
    assert argv["--chdir"] == str(work)
    assert parse(bwrap_argv(work, None, LIMITS, uid=None))["binds"] == [(str(work), str(work))]


def test_tmp_is_a_private_tmpfs_of_the_limit_size(folders):
    argv = parse(bwrap_argv(*folders, LIMITS, uid=None))
    assert argv["--size"] == str(7 * 1024 * 1024)
    assert argv["tmpfs_after_size"] == ["--tmpfs", "/tmp"]
    assert not any(dest == "/tmp" for _, dest in argv["binds"] + argv["ro_binds"])


def test_without_root_every_namespace_is_new(folders):
    argv = parse(bwrap_argv(*folders, LIMITS, uid=None))
    assert "--unshare-all" in argv["flags"] and argv["caps"] == []
    assert {"--die-with-parent", "--clearenv"} <= set(argv["flags"])
    assert "--share-net" not in argv["flags"]
    assert argv["command"] == []  # the caller appends its own command


def test_as_root_the_network_pid_ipc_and_uts_namespaces_are_new(folders):
    argv = parse(bwrap_argv(*folders, LIMITS, uid=61000))
    assert {"--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"} \
        <= set(argv["flags"])
    assert sorted(argv["caps"]) == ["CAP_SETGID", "CAP_SETUID"] and argv["dropped"] == ["ALL"]
    # inside, the launcher drops to the slot's uid before anything else runs
    assert argv["command"] == [sys.executable, "-I", "-S", JAIL_INSIDE, "--uid", "61000", "--"]


def test_only_the_grading_child_may_signal_and_switch_uids_itself(folders):
    argv = parse(bwrap_argv(*folders, LIMITS, uid=62000, switch_uids_inside=True))
    assert "CAP_KILL" in argv["caps"] and argv["command"] == []


def test_the_graders_environment_stays_outside(folders, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET", "s3cret")
    monkeypatch.setenv("LANG", "C.UTF-8")
    argv = bwrap_argv(*folders, LIMITS, uid=None, extra_env={"EXTRA": "1"})
    env = parse(argv)["env"]
    assert "s3cret" not in " ".join(argv) and "GRADER_SECRET" not in env
    assert env["LANG"] == "C.UTF-8" and env["EXTRA"] == "1"
    assert env["HOME"] == env["TMPDIR"] == "/tmp"
    assert env["NBGRADER_EXECUTION"] == "autograde"
    assert env["OPENBLAS_NUM_THREADS"] == "1"


def test_rlimits_argv_carries_every_cap():
    argv = rlimits_argv(LIMITS)
    assert argv[:4] == [sys.executable, "-I", "-S", str(JAIL)] and argv[-1] == "--"
    pairs = dict(zip(argv[4:-1:2], argv[5:-1:2]))
    assert pairs == {"--memory-mb": "1000", "--cpu-seconds": "30", "--processes": "12",
                     "--file-mb": "5"}


def test_the_launcher_really_caps_file_size(tmp_path):
    write = f"open({str(tmp_path / 'big')!r}, 'wb').write(b'x' * 3 * 1024 * 1024)"
    capped = subprocess.run(rlimits_argv(LIMITS)[:4] + ["--file-mb", "1", "--", sys.executable,
                                                      "-c", write], capture_output=True)
    assert capped.returncode != 0
    free = subprocess.run(rlimits_argv(LIMITS)[:4] + ["--file-mb", "8", "--", sys.executable,
                                                    "-c", write], capture_output=True)
    assert free.returncode == 0, free.stderr


def test_the_launcher_refuses_a_command_line_without_a_separator():
    result = subprocess.run(rlimits_argv(LIMITS)[:4] + ["--memory-mb", "10"],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "usage:" in result.stderr


# -- one definition of the limits ------------------------------------------------------------

def test_every_limit_is_an_option_of_the_grade_command_with_its_default():
    args = argparse.ArgumentParser()
    grade_cli.add_arguments(args)
    defaults = vars(args.parse_args(["initialization"]))
    for f in fields(Limits):
        assert defaults[f.name] == f.default
    parsed = args.parse_args(["initialization", "--tmp-mb", "9", "--memory-mb", "100"])
    assert grade_cli.Limits(**{n: getattr(parsed, n) for n in Limits.names()}) == \
        Limits(tmp_mb=9, memory_mb=100)


def test_configured_traits_become_the_limits_each_step_applies():
    config = Config({"SandboxKernelManager": {"memory_mb": 11, "tmp_mb": 3},
                     "TrustedVerdict": {"processes": 5},
                     "GuardedExecute": {"notebook_timeout": 60}})
    kernel = SandboxKernelManager(config=config).limits()
    assert (kernel.memory_mb, kernel.tmp_mb, kernel.cpu_seconds) == (11, 3, Limits.cpu_seconds)
    verdict = TrustedVerdict(config=config).options().limits
    assert (verdict.processes, verdict.cpu_seconds) == (5, VERDICT_CPU_SECONDS)
    assert GuardedExecute(config=config).notebook_timeout == 60


def test_a_limit_trait_must_name_a_field_of_limits():
    with pytest.raises(ValueError, match="memory_gb"):
        limit_traits("memory_gb")


# -- sealed: nothing a sandbox writes reaches the host's disk -------------------------------

def test_tmp_and_dev_shm_are_sized_tmpfs_and_the_sealed_workdir_one_too(folders):
    work, kernel = folders
    (work / "model.py").write_text("X = 1\n")
    (work / "data").mkdir()
    (work / "data" / "w.npy").write_bytes(b"x")
    argv = parse(bwrap_argv(work, kernel, LIMITS, uid=61000, seal_workdir=True))
    assert argv["tmpfs"] == {"/dev/shm": str(7 * 2**20), "/tmp": str(7 * 2**20),
                             str(work): str(LIMITS.workdir_mb * 2**20)}
    # the host's folder is never writable: its plain files are bound read-only
    assert argv["binds"] == [(str(kernel), str(kernel))]
    assert (str(work / "model.py"),) * 2 in argv["ro_binds"]
    assert (str(work / "data" / "w.npy"),) * 2 in argv["ro_binds"]
    assert argv["dirs"] == [str(work / "data")]
    assert argv["--chdir"] == str(work)


def test_a_sealed_workdir_binds_no_link_and_nothing_of_a_tree_it_refuses(folders, tmp_path):
    work, kernel = folders
    secret = tmp_path / "gradebook.db"
    secret.write_text("secret")
    (work / "model.py").write_text("X = 1\n")
    (work / "link.py").symlink_to(secret)
    argv = parse(bwrap_argv(work, kernel, LIMITS, uid=None, seal_workdir=True))
    sources = [source for source, _ in argv["ro_binds"] + argv["binds"]]
    assert str(work / "link.py") not in sources and str(secret) not in sources
    assert str(work / "model.py") not in sources  # a refused tree is not bound at all
    assert argv["tmpfs"][str(work)] == str(LIMITS.workdir_mb * 2**20)


def test_only_the_grading_child_keeps_the_right_to_mount_and_elsewhere_than_tmp(folders):
    work, kernel = folders
    assert "CAP_SYS_ADMIN" not in parse(bwrap_argv(work, kernel, LIMITS, uid=61000))["caps"]
    for uid in (62000, None):
        argv = parse(bwrap_argv(work / "jobs", None, LIMITS, uid=uid, read_only=[work],
                                switch_uids_inside=uid is not None, job_namespaces=True,
                                inside={work: "/grading"}))
        assert "CAP_SYS_ADMIN" in argv["caps"]
        assert argv["ro_binds"][-1] == (str(work), "/grading")
        assert argv["binds"] == [(str(work / "jobs"), "/grading/jobs")]
        assert argv["--chdir"] == "/grading/jobs"
