"""The integration tests' own layout: a test module imports shared helpers from helpers.py and
fixtures come from conftest.py, never from another test module."""

import ast
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_no_test_module_imports_another():
    found = []
    for path in sorted(HERE.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            found += ["%s imports %s" % (path.name, n) for n in names if n.split(".")[-1].startswith("test_")]
    assert found == []


def _groups(node):
    """The xdist_group names in the marks of ``node`` (a decorator list or an assignment)."""
    return [c.args[0].value for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
            and c.func.attr == "xdist_group" and c.args and isinstance(c.args[0], ast.Constant)]


def test_a_test_is_in_one_xdist_group_only():
    """A test marked with a group while its module has another lands in a third group (the
    names joined), beside both instead of one at a time with either."""
    found = []
    for path in sorted(HERE.rglob("test_*.py")):
        tree = ast.parse(path.read_text())
        module = [g for node in tree.body if isinstance(node, ast.Assign)
                  and any(getattr(t, "id", "") == "pytestmark" for t in node.targets) for g in _groups(node)]
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                own = [g for d in node.decorator_list for g in _groups(d)]
                if own and module and own != module:
                    found.append("%s::%s is marked %s in a module marked %s" % (path.name, node.name, own, module))
    assert found == []
