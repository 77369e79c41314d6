"""Every kind of value a graded function can return, through the real runner and intake.

One grading child (unsandboxed: the sandbox has tests of its own) runs small
answer cells that return an array, numbers, tuples, dicts, the wrong kind,
NaN and infinity, and values too large to take; the intake reads what the
runner wrote as data, expecting the kind each declaration would name.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_grader.verdict.child import ChildOptions, Job, run_child
from course_grader.verdict.declaration import Array, Call
from course_grader.verdict.intake import MAX_ARRAY_ELEMENTS, Opaque

SETUP = "import numpy as np\n"
OPTIONS = ChildOptions(sandboxed=False, uid=None, exercise_seconds=20)

# name -> (answer cell, calls, the kind the declaration says comes back)
ANSWERS = {
    "relu": ("def f(z):\n    return np.maximum(z, 0)\n",
             [Call((Array([[-1.0, 2.0], [3.0, -4.0]]),))], "array"),
    "cost": ("def f(a, y):\n    return float(np.mean((a - y) ** 2))\n",
             [Call((Array([1.0, 2.0]), Array([1.0, 4.0])))], "number"),
    "numpy_scalar": ("def f(n):\n    return np.float32(n / 4)\n", [Call((1,))], "number"),
    "python_int": ("def f(n):\n    return n + 1\n", [Call((41,))], "number"),
    "boolean": ("def f(n):\n    return n > 0\n", [Call((3,))], "number"),
    "pair": ("def f(z):\n    return np.tanh(z), 'cache', 2\n",
             [Call((Array([0.0, 1.0]),))], "tuple"),
    "as_list": ("def f(n):\n    return [np.zeros(n), 1.5]\n", [Call((2,))], "tuple"),
    "grads": ("def f(dims):\n    return {'dW': np.ones((dims[0], 2)), 'db': 0.5, "
              "'note': 'x', 3: 4}\n", [Call(([3],))], "dict of arrays"),
    "wrong_kind": ("def f(n):\n    return np.ones(n)\n", [Call((2,))], "number"),
    "string": ("def f(n):\n    return 'two'\n", [Call((2,))], "number"),
    "nothing": ("def f(n):\n    pass\n", [Call((2,))], "array"),
    "not_finite": ("def f(n):\n    return float('nan'), float('inf'), -np.inf\n",
                   [Call((0,))], "tuple"),
    "nan_cost": ("def f(n):\n    return np.float64('nan')\n", [Call((0,))], "number"),
    "huge_int": ("def f(n):\n    return 10 ** n\n", [Call((400,))], "number"),
    "huge_array": ("def f(n):\n    return np.zeros(n, dtype=np.int8)\n",
                   [Call((MAX_ARRAY_ELEMENTS + 1,))], "array"),
    "in_place": ("def f(z, dims):\n    z[z < 0] = 0\n    return z\n",
                 [Call((Array([-1.0, 1.0]), [1, 2]))], "array"),
    "seeded": ("def f(n):\n    return np.random.randn(n)\n",
               [Call((2,), disturb=7), Call((2,), disturb=7)], "array"),
    "raises": ("def f(n):\n    raise ValueError('no ' + str(n))\n", [Call((5,))], "array"),
    # numpy loads these on first use; a sealed job has a fresh /tmp, where a grader
    # installed under /tmp (a CI clone) could not load them: the runner loads them first
    "preloaded": ("import sys\ndef f(names):\n"
                  "    return float(all(n in sys.modules for n in names))\n",
                  [Call((["numpy.random", "numpy.linalg", "numpy.fft", "numpy.polynomial",
                          "numpy.testing", "numpy.ma", "numpy.lib.format"],))],
                  "number"),
}


@pytest.fixture(scope="module")
def results():
    jobs = [Job(name, "f", answer, [call.to_json() for call in calls], returns)
            for name, (answer, calls, returns) in ANSWERS.items()]
    return run_child(SETUP, {}, jobs, OPTIONS)


def first(results, name):
    result = results[name]
    assert result is not None and result.defined, name
    return result.calls[0]


def test_an_array(results):
    call = first(results, "relu")
    assert call.kind == "array" and call.type_name == "ndarray"
    np.testing.assert_array_equal(call.value, [[0.0, 2.0], [3.0, 0.0]])
    assert call.changed == [False]


@pytest.mark.parametrize("name, value, type_name", [
    ("cost", 2.0, "float"), ("numpy_scalar", 0.25, "float32"), ("python_int", 42.0, "int"),
    ("boolean", 1.0, "bool")])
def test_numbers_of_every_type_are_floats(results, name, value, type_name):
    call = first(results, name)
    assert call.kind == "number" and type(call.value) is float
    assert call.value == value and call.type_name == type_name


def test_a_tuple_keeps_its_items_one_level_deep(results):
    call = first(results, "pair")
    assert call.kind == "tuple" and call.type_name == "tuple" and call.length == 3
    np.testing.assert_allclose(call.value[0], np.tanh([0.0, 1.0]))
    assert call.value[1] == Opaque("str") and call.value[2] == 2.0
    listed = first(results, "as_list")
    assert listed.kind == "tuple" and listed.type_name == "list"
    np.testing.assert_array_equal(listed.value[0], [0.0, 0.0])
    assert listed.value[1] == 1.5


def test_a_dict_keeps_arrays_and_numbers_and_names_the_rest(results):
    call = first(results, "grads")
    assert call.kind == "dict of arrays" and call.keys == ["dW", "db", "note", "<int>"]
    assert set(call.value) == {"dW", "db"} and call.value["db"] == 0.5
    assert call.arrays["dW"].shape == (3, 2)
    assert call.others == {"db": "float", "note": "str"}


@pytest.mark.parametrize("name, type_name", [
    ("wrong_kind", "ndarray"), ("string", "str"), ("nothing", "NoneType")])
def test_the_wrong_kind_keeps_only_its_type_name(results, name, type_name):
    call = first(results, name)
    assert call.value is None and call.kind == "" and call.type_name == type_name


def test_nan_and_infinity_come_back_as_numbers(results):
    values = first(results, "not_finite").value
    assert math.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf
    assert math.isnan(first(results, "nan_cost").value)


def test_an_int_past_float_range_is_no_number(results):
    call = first(results, "huge_int")
    assert call.value is None and call.type_name == "int"


def test_an_array_too_large_to_take_gives_no_data(results):
    assert results["huge_array"] is None


def test_arguments_arrive_as_data_and_changes_to_them_are_seen(results):
    call = first(results, "in_place")
    np.testing.assert_array_equal(call.value, [0.0, 1.0])
    assert call.changed == [True, False] and call.input_after is None


def test_disturb_reseeds_before_each_call(results):
    one, two = results["seeded"].calls
    np.testing.assert_array_equal(one.value, two.value)
    assert one.value.shape == (2,)


def test_a_raised_exception_is_data(results):
    call = first(results, "raises")
    assert call.raised == ("ValueError", "no 5") and call.value is None


def test_numpys_lazy_submodules_are_loaded_before_any_job(results):
    assert first(results, "preloaded").value == 1.0
