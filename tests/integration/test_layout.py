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
