"""Which names a student's function uses that its own answer cell does not define.

At grading time each answer cell runs alone after the setup cell, so a
function that leans on a helper or a variable from another cell fails there.
Preflight reads the cell's text (nothing runs) and names such dependencies.
"""

from __future__ import annotations

import ast
import builtins
import symtable


def defined_names(code: str) -> set[str]:
    """Names a cell binds at top level (imports, assignments, defs, classes)."""
    try:
        table = symtable.symtable(code, "<cell>", "exec")
    except (SyntaxError, ValueError):
        return set()
    return {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}


def _globals_used(table: symtable.SymbolTable) -> set[str]:
    used = {s.get_name() for s in table.get_symbols()
            if s.is_global() and s.is_referenced()}
    for child in table.get_children():
        used |= _globals_used(child)
    return used


def outside_names(answer: str, function: str, setup_code: str) -> list[str]:
    """Names ``function`` reads that neither its cell, the setup cell nor builtins define."""
    from .child import to_python  # cells may hold IPython syntax (%matplotlib ...)

    answer, setup_code = to_python(answer), to_python(setup_code)
    try:
        ast.parse(answer)
        table = symtable.symtable(answer, "<answer cell>", "exec")
    except (SyntaxError, ValueError):
        return []
    target = [child for child in table.get_children() if child.get_name() == function]
    if not target:
        return []
    known = defined_names(answer) | defined_names(setup_code) | set(dir(builtins))
    return sorted(_globals_used(target[-1]) - known)


def defined_functions(code: str) -> list[str]:
    """Names of the functions a cell defines at top level (its text is only parsed)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
