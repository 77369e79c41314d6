"""Detect a kernel whose comparison helpers were replaced by student code.

Hidden checks run inside the student's kernel, after the student's cells.
A submission can rebind ``np.allclose``, ``np.testing.assert_allclose``,
``builtins.float`` and friends so that every comparison passes.  Before
checking anything the grader verifies that the helpers it relies on are
still the genuine ones; the checks themselves compare arrays with ndarray
operators and methods, which live on the C type and cannot be rebound.
"""

from __future__ import annotations

import builtins
import sys

import numpy

# Taken from literals with __class__, which no rebinding of a name can fake.
_BUILTIN_FUNCTION = [].append.__class__
_GENUINE_CLASSES = {
    "float": (0.0).__class__, "int": (0).__class__, "bool": True.__class__,
    "str": "".__class__, "dict": {}.__class__, "list": [].__class__,
    "tuple": ().__class__, "set": {0}.__class__, "type": (0).__class__.__class__,
}
_BUILTIN_FUNCTIONS = ("abs", "len", "isinstance", "issubclass", "getattr", "max",
                      "min", "sum", "all", "any", "sorted", "repr", "round", "print")
_NUMPY_NAMES = ("allclose", "array_equal", "array_equiv", "isclose", "asarray", "array",
                "zeros", "sqrt", "abs", "absolute", "all", "any", "isfinite",
                "count_nonzero", "issubdtype", "ndarray", "float64", "floating",
                "random.seed", "random.randn", "random.RandomState", "random.normal",
                "random.get_state", "random.set_state",
                "testing.assert_allclose", "testing.assert_array_equal",
                "testing.assert_array_almost_equal", "testing.assert_almost_equal",
                "testing.assert_equal")


def _numpy_dir() -> str:
    return numpy.__file__.rsplit("/", 1)[0]


def _resolve(module, dotted: str):
    obj = module
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
    return obj


def _genuine_numpy(obj, numpy_dir: str) -> bool:
    kind = obj.__class__.__name__
    if kind == "function":  # Python code: it must have been defined inside numpy
        wrapped = getattr(obj, "__wrapped__", None)
        target = wrapped if wrapped is not None else obj
        code = getattr(target, "__code__", None)
        return code is not None and code.co_filename.startswith(numpy_dir)
    if kind == "method":  # e.g. np.random.randn, bound to the global RandomState
        owner = getattr(obj, "__self__", None)
        return (owner.__class__.__module__ or "").startswith("numpy") and \
            _genuine_numpy(obj.__func__, numpy_dir)
    # compiled functions, ufuncs and classes cannot be written in a notebook
    module = getattr(obj, "__module__", None) or obj.__class__.__module__ or ""
    return module.startswith("numpy") and kind != "function"


def tampered() -> list[str]:
    """Names of replaced builtins or numpy helpers (empty when all are genuine)."""
    found = []
    for name, genuine in _GENUINE_CLASSES.items():
        if getattr(builtins, name, None) is not genuine:
            found.append(f"builtins.{name}")
    for name in _BUILTIN_FUNCTIONS:
        obj = getattr(builtins, name, None)
        if obj.__class__ is not _BUILTIN_FUNCTION or getattr(obj, "__self__", None) is not builtins:
            found.append(f"builtins.{name}")
    np_module = sys.modules.get("numpy")
    if np_module is not numpy:
        found.append("sys.modules['numpy']")
    numpy_dir = _numpy_dir()
    for dotted in _NUMPY_NAMES:
        obj = _resolve(numpy, dotted)
        if obj is None or not _genuine_numpy(obj, numpy_dir):
            found.append(f"np.{dotted}")
    return found
