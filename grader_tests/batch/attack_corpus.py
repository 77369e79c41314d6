"""Hostile submissions against the trusted verdict, built from the real release.

Most start from the untouched release (nothing implemented, honest score 0)
and add a way of forging a grade; a few keep correct answers in the other
exercises to prove that an attack in one place costs nothing elsewhere.
Each case states the exact honest points per exercise (zeros, random, he),
so a forged grade shows up as a number.  ``plain_ok`` is False where plain
``nbgrader autograde`` itself cannot read the submission (it is then only
required never to score above the honest points).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import nbformat
from batch_corpus import FULL, NO_MARKS, answered, index_of, insert_cell, marks

from course_grader.assignment import ASSIGNMENT, EXERCISES, NOTEBOOK
from course_grader.assignments.initialization.sample_class import HE, RANDOM, ZEROS

TOKEN = "XSS-TOKEN-41"
# text that exists only in the grader's files or the source notebook
SECRETS = ("GRADING_DIMS", "def drawing_mistakes", "HE_HARD_CODED", "4, 7, 3, 5, 1",
           "BEGIN SOLUTION", "np.sqrt(2.0 / layers_dims[l - 1])", "def judge(",
           "def mistaken(")


@dataclass
class Attack:
    student: str
    what: str
    exercises: tuple  # honest points, one per exercise in EXERCISES order
    plain_ok: bool = True


def with_answers(release, **answers):
    nb = copy.deepcopy(release)
    for exercise, code in answers.items():
        nb.cells[index_of(nb, EXERCISES[exercise].answer_cell)].source = code.strip("\n")
    return nb


HOOKS = '''
ip = get_ipython()
def _forget_errors(result):
    result.error_in_exec = None
    result.error_before_exec = None
ip.events.register("post_run_cell", _forget_errors)
ip.events.register("pre_run_cell", lambda info: None)
ip.showtraceback = lambda *args, **kwargs: None
ip.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
'''
INPUT_TRANSFORMER = "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])"
AST_TRANSFORMER = '''
import ast
class Blank(ast.NodeTransformer):
    def visit_Module(self, node):
        return ast.Module(body=[ast.Pass()], type_ignores=[])
get_ipython().ast_transformers.append(Blank())
'''
TRACING = '''
import sys, types, self_check
def _tracer(frame, event, arg):
    if frame.f_code.co_filename.endswith("self_check.py"):
        raise SystemExit
    return None
sys.settrace(_tracer)
sys.setprofile(lambda *args: None)
for name in dir(self_check):
    if name.endswith(("_structure", "_values")):
        setattr(self_check, name, lambda f: print("Visible checks passed"))
'''
FAKE_MODULES = '''
import sys, types
fake = types.ModuleType("course_grader")
fake.hidden = types.SimpleNamespace(check=lambda *args: None)
fake.verdict = types.SimpleNamespace(judge=lambda *args: True)
for name, module in (("course_grader", fake), ("course_grader.hidden", fake.hidden),
                     ("course_grader.verdict", fake.verdict),
                     ("self_check", types.SimpleNamespace(**{
                         f"{ex}_{part}": (lambda f: None)
                         for ex in ("zeros", "random", "he")
                         for part in ("structure", "values")}))):
    sys.modules[name] = module
'''
IMPORT_REFERENCE = '''
from course_grader.assignments.initialization import EXERCISES

def initialize_parameters_{ex}(layers_dims):
    return EXERCISES["{ex}"].reference(layers_dims)
'''
FAKE_RANDOM = '''
class _Fake:
    def __init__(self, *args):
        pass
    def randn(self, *shape):
        return np.zeros(shape)
np.random.RandomState = _Fake
np.random.randn = lambda *shape: np.zeros(shape)
np.random.seed = lambda *args: None
''' + RANDOM
LYING = '''
class Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)
    def __ne__(self, other):
        return np.zeros(np.shape(other), dtype=bool)
    def __sub__(self, other):
        return np.zeros(np.shape(other))
    __rsub__ = __sub__
    def __array__(self, *args, **kwargs):
        return np.random.RandomState(3).randn(*np.ndarray.__getattribute__(self, "shape"))

def initialize_parameters_he(layers_dims):
    params = {}
    for l in range(1, len(layers_dims)):
        params["W%d" % l] = np.zeros((layers_dims[l], layers_dims[l - 1])).view(Liar)
        params["b%d" % l] = np.zeros((layers_dims[l], 1)).view(Liar)
    return params
'''
LYING_DTYPE = '''
class FloatLiar(np.ndarray):
    @property
    def dtype(self):
        return np.dtype("float64")

def initialize_parameters_zeros(layers_dims):
    params = {}
    for l in range(1, len(layers_dims)):
        shape = (layers_dims[l], layers_dims[l - 1])
        params["W%d" % l] = np.zeros(shape, dtype=int).view(FloatLiar)
        params["b%d" % l] = np.zeros((layers_dims[l], 1), dtype=int).view(FloatLiar)
    return params
'''
LYING_DICT = '''
class AllKeys(dict):
    def keys(self):
        return [f"{n}{l}" for l in range(1, 9) for n in "Wb"]
    def __contains__(self, key):
        return True
    def __len__(self):
        return 16

def initialize_parameters_random(layers_dims):
    np.random.seed(3)
    params = AllKeys()
    params["W1"] = np.random.randn(layers_dims[1], layers_dims[0]) * 10
    return params
'''
READ_SECRETS = '''
import os, sys
_skip = ("/usr", "/proc", "/sys", "/dev", sys.prefix, sys.base_prefix)
_seen = 0
for _root, _dirs, _files in os.walk("/"):
    if _root.startswith(_skip):
        _dirs[:] = []
        continue
    for _name in _files:
        _path = os.path.join(_root, _name)
        try:
            with open(_path, errors="replace") as _fh:
                print("=====", _path, "\\n", _fh.read(3000))
                _seen += 1
        except OSError:
            pass
for _path in ("{course}/course_grader/assignments/initialization/record.py",
              "{course}/course_grader/assignments/initialization/sample_class.py",
              "{course}/source/initialization/Initialization.ipynb", "{repo}/grader_tests"):
    try:
        print(open(_path).read(3000))
    except OSError as error:
        print("not readable:", _path, error)
try:
    import course_grader.assignments.initialization.record as _ref
    print(getattr(_ref, "GRADING_" + "DIMS"))
except ImportError as error:
    print("no grader here:", error)
'''
HTML_CELL = f'''
from IPython.display import HTML, Javascript, SVG, display
display(HTML("<b>hi</b><script>alert('{TOKEN}')</script>"
             "<img src=x onerror=\\"alert('{TOKEN}')\\">"))
display(Javascript("alert('{TOKEN}')"))
display({{"text/html": "<a href='javascript:alert(\\"{TOKEN}\\")'>x</a>",
         "text/plain": "x"}}, raw=True)
'''
HTML_MARKDOWN = (f"<script>alert('{TOKEN}')</script>\n\n<img src=x onerror=\"alert('{TOKEN}')\">"
                 f"\n\n[click me](javascript:alert('{TOKEN}'))")
FORGE_RESULTS = '''
import json, os
_job = json.load(open("job.json"))  # the runner's job for this submission, in our folder
for _ex in _job["exercises"]:
    # each exercise's output folder (the job's tmpfs; the runner copies results out of it)
    _folder = os.path.join("run", _ex["name"])
    try:
        _calls = []
        for _i, _call in enumerate(_ex["calls"]):
            _dims, _values = _call["args"][0]["data"], {}
            for _l in range(1, len(_dims)):
                for _key, _shape in (("W%d" % _l, (_dims[_l], _dims[_l - 1])),
                                     ("b%d" % _l, (_dims[_l], 1))):
                    np.save(os.path.join(_folder, f"c{_i}_{len(_values)}"), np.zeros(_shape))
                    _values[_key] = {"type": "ndarray", "kind": "ndarray",
                                     "file": f"c{_i}_{len(_values)}.npy"}
            _calls.append({"type": "dict", "value": {"kind": "dict", "keys": list(_values),
                                                     "values": _values}})
        with open(os.path.join(_folder, "result.json"), "w") as _fh:
            json.dump({"defined": True, "calls": _calls}, _fh)
    except OSError:
        pass
os._exit(0)  # before the runner could write the function's real results
'''
CHILD_FLOOD = '''
import os, threading, time
for _ in range(500):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
    except OSError:
        break
for _ in range(500):
    try:
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    except RuntimeError:
        break
'''
THREAD_FLOOD = '''
import threading, time
_threads = []
try:
    for _ in range(100000):
        _t = threading.Thread(target=time.sleep, args=(30,), daemon=True)
        _t.start()
        _threads.append(_t)
except RuntimeError:
    pass
'''
STUB = {ex: f"def initialize_parameters_{ex}(layers_dims):\n    raise NotImplementedError()\n"
        for ex in EXERCISES}


def build(course: Path, repo: Path) -> list[Attack]:
    """Write every attack into ``course/submitted``; return the honest expectations."""
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    setup = index_of(release, "setup")
    attacks: list[Attack] = []

    def add(student, what, exercises, nb, plain_ok=True, extra=None):
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")
        for rel, text in (extra or {}).items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text)
        attacks.append(Attack(student, what, exercises, plain_ok))

    def early(code):
        return insert_cell(copy.deepcopy(release), setup + 1, code)

    add("a_hooks", "IPython hooks, custom exception handler, showtraceback", NO_MARKS,
        early(HOOKS))
    add("a_input_tf", "input transformer blanks every later cell", NO_MARKS,
        early(INPUT_TRANSFORMER))
    add("a_ast_tf", "AST transformer blanks every later cell", NO_MARKS, early(AST_TRANSFORMER))
    add("a_tracing", "settrace/setprofile and no-op visible checks", NO_MARKS, early(TRACING))
    add("a_fake_modules", "fake course_grader and self_check in sys.modules", NO_MARKS,
        early(FAKE_MODULES))
    add("a_package", "a course_grader package and self_check.py handed in", NO_MARKS,
        copy.deepcopy(release), extra={
            "course_grader/__init__.py": "",
            "course_grader/assignments/initialization/record.py": "GRADING_DIMS = ()\n",
            "course_grader/verdict/__init__.py": "def judge(*a):\n    return True\n",
            "self_check.py": "def __getattr__(name):\n    return lambda f: None\n",
            "numpy.py": "raise SystemExit('fake numpy')\n"})
    add("a_import_reference", "answers import the grader's reference", NO_MARKS,
        with_answers(release, **{ex: IMPORT_REFERENCE.format(ex=ex)
                                 for ex in EXERCISES}))
    add("a_fake_random", "replaced np.random classes and functions",
        marks(zeros=0, random="structure", he=0),
        with_answers(release, random=FAKE_RANDOM))
    add("a_lying_arrays", "ndarray subclasses lying about ==, -, dtype; a dict lying "
        "about its keys", marks(zeros=0, random=0, he="structure"),
        with_answers(release, zeros=LYING_DTYPE, random=LYING_DICT, he=LYING))
    read = READ_SECRETS.format(course=course, repo=repo)
    add("a_read_secrets", "prints every readable file, in the kernel and the child",
        NO_MARKS, with_answers(early(read), zeros=read + STUB["zeros"]))
    nb = insert_cell(copy.deepcopy(release), setup + 1, HTML_CELL)
    nb.cells.insert(setup + 1, nbformat.v4.new_markdown_cell(HTML_MARKDOWN))
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {}, "version_major": 2, "version_minor": 0,
        "x": f"</script><script>alert('{TOKEN}')</script>"}}
    add("a_html", "script, handlers and javascript: links in outputs and markdown",
        NO_MARKS, nb)
    # the He cell can write only its own exercise's folder (each runs under its own uid);
    # there its code produced zero arrays of the right shapes, worth the structure points
    add("a_forge", "the He cell writes forged results for every exercise",
        marks(zeros=0, random=0, he="structure"),
        with_answers(release, he=FORGE_RESULTS + STUB["he"]))
    add("a_child_flood", "fork and thread flood in the He cell; the rest correct", marks(he=0),
        with_answers(release, zeros=ZEROS, random=RANDOM, he=CHILD_FLOOD + STUB["he"]))
    add("a_kernel_flood", "thread flood in the kernel; answers correct", FULL,
        insert_cell(answered(release), setup + 1, THREAD_FLOOD))
    add("a_exit_in_child", "os._exit in the zeros cell; the rest correct", marks(zeros=0),
        with_answers(release, zeros="import os\nos._exit(3)\n", random=RANDOM, he=HE))
    return attacks
