"""Read, copy, hash and remove folders that a student built, without trusting them.

Every walk here is iterative and bounded: it never recurses on the depth a
student chose, never follows a link, and opens each entry relative to its
parent's descriptor with ``O_NOFOLLOW`` (a name swapped for a link between
two steps is refused, not followed). Reading refuses what an honest
submission never holds: links, FIFOs, sockets, devices, a file with more than
one hard link, anything deeper, larger or more numerous than ``TreeCaps``,
and, when an owner is named, any entry another account owns. A refusal is a
``TreeRefused`` whose text a student may read.

``remove_tree`` deletes a tree of any depth while holding one descriptor at a
time (``shutil.rmtree`` recurses and fails past about a thousand levels).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_CHUNK = 1 << 16


class TreeRefused(ValueError):
    """The folder is not something an honest submission looks like; the text says why."""


@dataclass(frozen=True)
class TreeCaps:
    """What an honest submission never exceeds (the released files, checkpoints, a few plots)."""

    max_depth: int = 6
    max_entries: int = 200
    max_file_bytes: int = 32 * 1024 * 1024
    max_total_bytes: int = 96 * 1024 * 1024


@dataclass(frozen=True)
class TreeEntry:
    path: str  # relative, "/"-separated
    is_dir: bool
    size: int
    uid: int
    ctime: float


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def show(name: str, limit: int = 60) -> str:
    """A student-chosen name as plain printable text, shortened (callers escape it for HTML)."""
    text = "".join(ch if ch.isprintable() else "?" for ch in name)
    return repr(text if len(text) <= limit else text[:limit] + "...")


class _Walk:
    """One bounded walk; ``visit`` is called for each regular file with an open descriptor."""

    def __init__(self, caps: TreeCaps, owner: int | None, skip: frozenset[str]):
        self.caps, self.owner, self.skip = caps, owner, skip
        self.entries: list[TreeEntry] = []
        self.total = 0

    def _check(self, rel: str, st: os.stat_result, count: bool = True) -> None:
        if self.owner is not None and st.st_uid != self.owner:
            raise TreeRefused(f"{show(rel)} belongs to another account (uid {st.st_uid}), "
                              "not to the student who handed it in")
        if stat.S_ISDIR(st.st_mode):
            return
        if not stat.S_ISREG(st.st_mode):
            raise TreeRefused(f"{show(rel)} is {_kind(st.st_mode)}; only plain files and "
                              "folders are accepted")
        if st.st_nlink > 1:
            raise TreeRefused(f"{show(rel)} is a hard link to a file elsewhere; hand in a "
                              "copy instead")
        if st.st_size > self.caps.max_file_bytes:
            raise TreeRefused(f"{show(rel)} is larger than "
                              f"{self.caps.max_file_bytes // 2**20} MiB")
        self.total += st.st_size if count else 0
        if self.total > self.caps.max_total_bytes:
            raise TreeRefused(f"the files add up to more than "
                              f"{self.caps.max_total_bytes // 2**20} MiB")

    def run(self, root: Path, visit) -> list[TreeEntry]:
        try:
            top = os.open(root, _DIR_FLAGS)
        except OSError as error:
            raise TreeRefused(f"the folder cannot be opened as a plain folder ({error.strerror})"
                              ) from None
        pending = [(top, "", 1)]
        try:
            self._check(".", os.fstat(top))
            while pending:
                fd, prefix, depth = pending.pop()
                try:
                    self._one_folder(fd, prefix, depth, pending, visit)
                finally:
                    os.close(fd)
        except BaseException:
            for fd, _prefix, _depth in pending:
                os.close(fd)
            raise
        return self.entries

    def _one_folder(self, fd: int, prefix: str, depth: int, pending: list, visit) -> None:
        names = sorted(os.listdir(fd))
        for name in names:
            if name in self.skip:
                continue
            rel = f"{prefix}{name}"
            if len(self.entries) >= self.caps.max_entries:
                raise TreeRefused(f"more than {self.caps.max_entries} files and folders")
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            self._check(rel, st)
            is_dir = stat.S_ISDIR(st.st_mode)
            self.entries.append(TreeEntry(rel, is_dir, 0 if is_dir else st.st_size,
                                          st.st_uid, st.st_ctime))
            if is_dir:
                if depth >= self.caps.max_depth:
                    raise TreeRefused(f"folders nested more than {self.caps.max_depth} deep "
                                      f"(at {show(rel)})")
                sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
                pending.append((sub, rel + "/", depth + 1))
                if visit is not None:
                    visit(rel, None, st)
                continue
            if visit is not None:
                child = os.open(name, _FILE_FLAGS, dir_fd=fd)
                try:
                    opened = os.fstat(child)
                    if (opened.st_ino, opened.st_dev) != (st.st_ino, st.st_dev):
                        raise TreeRefused(f"{show(rel)} changed while it was read")
                    self._check(rel, opened, count=False)
                    visit(rel, child, opened)
                finally:
                    os.close(child)


def scan_tree(root: Path, caps: TreeCaps = TreeCaps(), owner: int | None = None,
              skip: frozenset[str] = frozenset()) -> list[TreeEntry]:
    """Every entry below ``root`` (sorted walk), or ``TreeRefused``; reads no file content."""
    return _Walk(caps, owner, skip).run(Path(root), None)


def _read_all(fd: int, limit: int, sink) -> None:
    left = limit + 1
    while True:
        chunk = os.read(fd, min(_CHUNK, left))
        if not chunk:
            return
        left -= len(chunk)
        if left <= 0:
            raise TreeRefused("a file grew past its size limit while it was read")
        sink(chunk)


def hash_tree(root: Path, caps: TreeCaps = TreeCaps(), owner: int | None = None,
              skip: frozenset[str] = frozenset()) -> str:
    """SHA-256 of the names and contents of every file below ``root``, or ``TreeRefused``."""
    digest = hashlib.sha256()

    def visit(rel: str, fd: int | None, st: os.stat_result) -> None:
        digest.update(("D:" if fd is None else "F:").encode() + rel.encode(
            errors="surrogateescape") + b"\0")
        if fd is not None:
            digest.update(f"{st.st_size}\0".encode())
            _read_all(fd, caps.max_file_bytes, digest.update)

    _Walk(caps, owner, skip).run(Path(root), visit)
    return digest.hexdigest()


def read_tree(root: Path, caps: TreeCaps = TreeCaps(), owner: int | None = None,
              skip: frozenset[str] = frozenset()) -> tuple[dict[str, bytes], list[str], str]:
    """The plain files below ``root`` as bytes (relative path -> content), its folders,
    and the digest ``hash_tree`` gives; or ``TreeRefused``. Holds at most the caps in memory."""
    files: dict[str, bytes] = {}
    folders: list[str] = []
    digest = hashlib.sha256()

    def visit(rel: str, fd: int | None, st: os.stat_result) -> None:
        digest.update(("D:" if fd is None else "F:").encode() + rel.encode(
            errors="surrogateescape") + b"\0")
        if fd is None:
            folders.append(rel)
            return
        digest.update(f"{st.st_size}\0".encode())
        chunks: list[bytes] = []

        def sink(chunk: bytes) -> None:
            digest.update(chunk)
            chunks.append(chunk)
        _read_all(fd, caps.max_file_bytes, sink)
        files[rel] = b"".join(chunks)

    _Walk(caps, owner, skip).run(Path(root), visit)
    return files, folders, digest.hexdigest()


def copy_tree(root: Path, dest: Path, caps: TreeCaps = TreeCaps(), owner: int | None = None,
              skip: frozenset[str] = frozenset()) -> tuple[list[TreeEntry], str]:
    """Copy the plain files and folders below ``root`` into the new folder ``dest``.

    Returns the entries and the same digest ``hash_tree`` gives for the copy.
    On refusal ``dest`` is removed again and ``TreeRefused`` raised. Files are
    written with the caller's ownership and 0644/0755: nothing of the
    student's modes, owners or times is kept.
    """
    dest = Path(dest)
    dest.mkdir(mode=0o755)
    digest = hashlib.sha256()

    def visit(rel: str, fd: int | None, st: os.stat_result) -> None:
        target = dest.joinpath(*rel.split("/"))
        digest.update(("D:" if fd is None else "F:").encode() + rel.encode(
            errors="surrogateescape") + b"\0")
        if fd is None:
            target.mkdir(mode=0o755)
            return
        digest.update(f"{st.st_size}\0".encode())
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            def sink(chunk: bytes) -> None:
                digest.update(chunk)
                os.write(out, chunk)
            _read_all(fd, caps.max_file_bytes, sink)
        finally:
            os.close(out)

    try:
        entries = _Walk(caps, owner, skip).run(Path(root), visit)
    except BaseException:
        remove_tree(dest)
        raise
    return entries, digest.hexdigest()


def remove_tree(path: Path) -> None:
    """Delete ``path`` and everything below it, at any depth, following no link.

    Holds one directory descriptor at a time and climbs back with ``..``; call
    it when nothing else writes into the tree (the student's processes are gone).
    Folders the caller owns are made writable first (a student may leave 0500 ones).
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(path)
        return
    fd = os.open(path.parent, _DIR_FLAGS)
    names: list[str] = []
    try:
        _open_below(fd, path.name)  # refuses a link in place of the folder
        names.append(path.name)
        fd = _descend(fd, path.name)
        while names:
            sub = _clear_files(fd)
            if sub is not None:
                names.append(sub)
                fd = _descend(fd, sub)
                continue
            up = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = up
            os.rmdir(names.pop(), dir_fd=fd)
    finally:
        os.close(fd)


def _open_below(fd: int, name: str) -> None:
    os.close(os.open(name, _DIR_FLAGS, dir_fd=fd))


def _descend(fd: int, name: str) -> int:
    sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
    os.close(fd)
    try:
        if os.fstat(sub).st_uid == os.geteuid():
            os.fchmod(sub, 0o700)
    except OSError:
        pass
    return sub


def _clear_files(fd: int) -> str | None:
    """Unlink every non-folder in ``fd``; the name of one subfolder left, or None."""
    folder = None
    for name in os.listdir(fd):
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            folder = folder or name
        else:
            os.unlink(name, dir_fd=fd)
    return folder
