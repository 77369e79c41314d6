"""What one grading worker keeps between its tasks, and the one place it is kept.

A worker (a Dask worker process, a forked worker, the coordinator grading its
canaries) grades many students with the same set-up.  Three things are worth
keeping from one task to the next, and all three live in its ``WorkerState``:

- prepared set-ups: per bundle, a folder with the source and a seeded gradebook
  (``task.prepare``), the few used last; an older one is removed once no
  grading uses it;
- which bundles' canaries this worker has passed (each worker proves the
  set-up itself before its first student);
- the prepared grading runners (``verdict.child.RunnerPool``).

Whoever starts the worker makes its state and closes it when the worker ends
(``forked._serve``, ``engine.WorkerStatePlugin``); ``close`` removes every
folder and stops every runner.  Nothing of it is a module global: a forked
worker starts with a state of its own, never with a copy of its parent's.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

from ..untrusted_tree import remove_tree
from ..verdict.child import RunnerPool

KEEP_PREPARED = 4  # set-ups kept per worker: a service grades a few assignments at once


class Prepared(Protocol):
    root: Path  # everything of the set-up lies below it; removed with it


P = TypeVar("P", bound=Prepared)


def remove_folder(folder: Path) -> None:
    """Delete a folder at any depth (a kernel may have built a chain there that
    ``shutil.rmtree`` cannot delete); a leftover is logged, never raised."""
    try:
        remove_tree(folder)
    except OSError as error:
        logging.getLogger(__name__).warning("could not remove %s: %s", folder, error)


class _Entry:
    def __init__(self, prepared):
        self.prepared = prepared
        self.users = 0
        self.evicted = False


class WorkerState:
    def __init__(self, keep: int = KEEP_PREPARED):
        self.keep = keep
        self.runners = RunnerPool()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # oldest use first
        self._passed: set[str] = set()
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _remove_all, self._entries, self._lock,
                                           os.getpid())

    def __enter__(self) -> WorkerState:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def prepared(self, key: str, prepare: Callable[[], P]) -> Iterator[P]:
        """The set-up of ``key``, made by ``prepare`` on first use, held while in use.

        Past ``keep`` set-ups the least recently used one goes; while a grading
        holds it, it goes only when that grading lets it go."""
        entry = self._hold(key, prepare)
        try:
            yield entry.prepared
        finally:
            with self._lock:
                entry.users -= 1
                gone = entry.evicted and entry.users == 0
            if gone:
                remove_folder(entry.prepared.root)

    def _hold(self, key: str, prepare: Callable[[], P]) -> _Entry:
        with self._lock:  # one set-up at a time: two threads must not prepare the same key
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(prepare())
            self._entries.move_to_end(key)
            entry.users += 1
            idle = self._evict()
        for old in idle:
            remove_folder(old.prepared.root)
        return entry

    def _evict(self) -> list[_Entry]:
        """Drop the oldest entries past ``keep``; those no grading holds, to be removed."""
        idle = []
        while len(self._entries) > self.keep:
            _, old = self._entries.popitem(last=False)
            old.evicted = True
            if old.users == 0:
                idle.append(old)
        return idle

    def prepared_keys(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def canaries_passed(self, key: str) -> bool:
        with self._lock:
            return key in self._passed

    def mark_canaries_passed(self, key: str) -> None:
        with self._lock:
            self._passed.add(key)

    def close(self) -> None:
        """Remove every prepared folder and stop every runner."""
        self.runners.close()
        self._finalizer()


def _remove_all(entries: OrderedDict[str, _Entry], lock: threading.Lock, owner: int) -> None:
    if os.getpid() != owner:
        return  # a forked copy: the folders are its parent's
    with lock:
        doomed = list(entries.values())
        entries.clear()
    for entry in doomed:
        remove_folder(entry.prepared.root)
