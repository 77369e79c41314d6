"""Read what the untrusted child wrote, as data, with every size and type checked.

Nothing here imports, unpickles or executes anything the child produced.
A file that is missing, too large, a link, or not shaped like the runner's
output makes that exercise's result ``None`` ("no usable data"), which the
checks score as 0 with a message; it never passes.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAX_JSON_BYTES = 1 << 20
MAX_ARRAY_BYTES = 16 << 20
MAX_ARRAY_ELEMENTS = 1 << 21
MAX_TOTAL_BYTES = 96 << 20
MAX_CALLS = 16
MAX_KEYS = 64
NUMERIC_KINDS = "biufc"
FILE_NAME = re.compile(r"c\d{1,2}_\d{1,2}\.npy")


class Unusable(Exception):
    """The child's output does not have the runner's shape."""


@dataclass(frozen=True)
class Opaque:
    """A returned item that is neither an array nor a number: only its type's name."""

    type_name: str


@dataclass
class CallResult:
    """What one call of the student's function returned, as validated data.

    ``value`` is an array, a float (any Python or numpy number), a tuple (of a
    returned tuple or list) or a dict (string keys) whose items are arrays,
    floats or ``Opaque``; None for anything else (``type_name`` says what)."""

    raised: tuple[str, str] | None = None  # (exception type, message)
    type_name: str = ""
    value: np.ndarray | float | tuple | dict | None = None
    keys: list[str] = field(default_factory=list)  # a dict's keys, in order (labels too)
    others: dict[str, str] = field(default_factory=dict)  # key -> type name of a non-array
    length: int = 0  # a returned tuple's or list's length (``value`` holds its first items)
    input_after: list[int] | None = None  # the first argument after the call, if a list
    changed: list[bool] | None = None  # per argument: modified by the call

    @property
    def kind(self) -> str:
        """One of ``declaration.RETURN_KINDS`` for what came back, else ""."""
        if isinstance(self.value, np.ndarray):
            return "array"
        if isinstance(self.value, float):
            return "number"
        if isinstance(self.value, tuple):
            return "tuple"
        if isinstance(self.value, dict):
            return "dict of arrays"
        return ""

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """A returned dict's array items."""
        if not isinstance(self.value, dict):
            return {}
        return {k: v for k, v in self.value.items() if isinstance(v, np.ndarray)}


@dataclass
class ExerciseResult:
    defined: bool
    definition_error: tuple[str, str] | None
    calls: list[CallResult]


def _text(value, limit: int = 300) -> str:
    if not isinstance(value, str):
        raise Unusable("text expected")
    return "".join(ch if ch.isprintable() else " " for ch in value[:limit])


def _error(value) -> tuple[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Unusable("error record expected")
    return _text(value.get("type"), 60), _text(value.get("message", ""))


def _regular_file(path: Path, limit: int) -> int:
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
        raise Unusable(f"{path.name} is not a small regular file")
    return info.st_size


def load_array(path: Path) -> np.ndarray:
    """An .npy file as a plain numeric array, refused if it is anything else."""
    _regular_file(path, MAX_ARRAY_BYTES)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise Unusable("unknown .npy version")
        if dtype.hasobject or dtype.kind not in NUMERIC_KINDS or dtype.fields:
            raise Unusable("not a numeric array")
        # exact integers: a header may claim 2**70 elements, past any fixed-width product
        if len(shape) > 4 or math.prod(shape) > MAX_ARRAY_ELEMENTS:
            raise Unusable("array too large")
        fh.seek(0)
        array = np.load(fh, allow_pickle=False)
    if array.shape != tuple(shape) or array.dtype != dtype:
        raise Unusable("array does not match its header")
    return np.array(array, copy=True)  # a plain, owned ndarray


def _number(raw) -> float:
    if type(raw) not in (int, float):
        raise Unusable("number expected")
    return float(raw)  # an int past float's range raises OverflowError: no usable data


def _item(raw, folder: Path, budget: list[int]):
    """One described value: an array read from its file, a float, or an Opaque."""
    if not isinstance(raw, dict):
        raise Unusable("value record expected")
    kind = _text(raw.get("kind"), 40)
    if kind == "number":
        return _number(raw.get("value"))
    if kind != "ndarray":
        return Opaque(kind)
    name = raw.get("file")
    if not isinstance(name, str) or not FILE_NAME.fullmatch(name):
        raise Unusable("bad array file name")
    budget[0] -= _regular_file(folder / name, MAX_ARRAY_BYTES)
    if budget[0] < 0:
        raise Unusable("too much data")
    return load_array(folder / name)


def _type_of(raw, value) -> str:
    """The type name of a dict item, as the student's code had it."""
    return _text(raw.get("type", ""), 60) if not isinstance(value, Opaque) else value.type_name


def _value(result: CallResult, raw, folder: Path, budget: list[int]) -> None:
    if not isinstance(raw, dict):
        raise Unusable("value record expected")
    kind = raw.get("kind")
    if kind == "dict":
        keys, values = raw.get("keys"), raw.get("values")
        if not isinstance(keys, list) or not isinstance(values, dict) or len(keys) > MAX_KEYS:
            raise Unusable("keys and values expected")
        result.keys = [_text(k, 40) for k in keys]
        result.value = {}
        for key, info in values.items():
            if key not in result.keys:
                raise Unusable("value record expected")
            item = _item(info, folder, budget)
            if not isinstance(item, np.ndarray):
                result.others[key] = _type_of(info, item)
            if not isinstance(item, Opaque):
                result.value[key] = item
        return
    if kind == "tuple":
        items, length = raw.get("items"), raw.get("length")
        if not isinstance(items, list) or len(items) > MAX_KEYS or type(length) is not int \
                or not len(items) <= length <= 1 << 40:
            raise Unusable("items expected")
        result.value = tuple(_item(info, folder, budget) for info in items)
        result.length = length
        return
    item = _item(raw, folder, budget)
    result.value = None if isinstance(item, Opaque) else item


# the runner's word for what came back -> the declaration's ``returns``
RETURNED = {"dict": "dict of arrays", "tuple": "tuple", "ndarray": "array", "number": "number"}


def _call(raw, folder: Path, budget: list[int], returns: str | None) -> CallResult:
    if not isinstance(raw, dict):
        raise Unusable("call record expected")
    result = CallResult(raised=_error(raw.get("raised")))
    if result.raised is not None:
        return result
    result.type_name = _text(raw.get("type"), 60)
    after = raw.get("input_after")
    if after is not None:
        if not isinstance(after, list) or len(after) > 64 or \
                not all(type(n) is int for n in after):
            raise Unusable("input_after must be a list of integers")
        result.input_after = after
    changed = raw.get("changed")
    if changed is not None:
        if not isinstance(changed, list) or len(changed) > 64 or \
                not all(type(flag) is bool for flag in changed):
            raise Unusable("changed must be a list of booleans")
        result.changed = changed
    described = raw.get("value")
    # only what the declaration expects is read: anything else is the wrong type, and its
    # type name says which
    if isinstance(described, dict) and (returns is None or
                                        RETURNED.get(described.get("kind")) == returns):
        _value(result, described, folder, budget)
    return result


def read_exercise(out: Path, name: str, expected_calls: int,
                  returns: str | None = None) -> ExerciseResult | None:
    """The validated result of exercise ``name``, or None if there is no usable one.

    ``returns`` (one of ``declaration.RETURN_KINDS``) is what the calls should give
    back; a value of another kind keeps only its type name.  None reads any kind."""
    folder = out / name
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode) or \
                not os.path.lexists(folder / "result.json"):
            return None
        _regular_file(folder / "result.json", MAX_JSON_BYTES)
        raw = json.loads((folder / "result.json").read_text())
        if not isinstance(raw, dict) or type(raw.get("defined")) is not bool:
            return None
        calls_raw = raw.get("calls", [])
        if not isinstance(calls_raw, list) or len(calls_raw) > MAX_CALLS:
            return None
        if raw["defined"] and len(calls_raw) != expected_calls:
            return None
        budget = [MAX_TOTAL_BYTES]
        calls = [_call(c, folder, budget, returns) for c in calls_raw]
        return ExerciseResult(raw["defined"], _error(raw.get("definition_error")), calls)
    except (OSError, ValueError, Unusable, UnicodeDecodeError, RecursionError,
            ArithmeticError, MemoryError, TypeError):  # any header or record numpy chokes on
        return None
