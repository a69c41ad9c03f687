"""The packages of module_utils depend on each other in one direction only, and only the
ledger's own modules import the ledger (services are handed a journal)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4] / "plugins" / "module_utils"
PREFIX = "ansible_collections.golive.core.plugins.module_utils."


def package_of(path):
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imports(path):
    """The module_utils packages ``path`` imports (at any depth of the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + ["%s.%s" % (node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            if name.startswith(PREFIX):
                found.add(name[len(PREFIX):].split(".")[0])
    return found


def graph():
    edges = {}
    for path in sorted(ROOT.rglob("*.py")):
        package = package_of(path)
        edges.setdefault(package, set()).update(imports(path) - {package})
    return edges


def cycles(edges):
    """Every cycle between packages, each as the path that closes it."""
    found, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_the_walk_finds_a_cycle_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_module_utils_packages():
    edges = graph()
    assert "ledger" in edges and "k8s" in edges  # the walk saw the tree
    assert cycles(edges) == [], "import cycles: %s" % ["->".join(c) for c in cycles(edges)]


def test_only_the_ledger_imports_the_ledger():
    importers = sorted(p for p, deps in graph().items() if "ledger" in deps and p != "ledger")
    assert importers == []


def test_http_does_not_reach_into_kubernetes():
    assert "k8s" not in graph()["http"]


def test_the_ledger_is_handed_its_storage_and_imports_no_kubernetes():
    assert "k8s" not in graph()["ledger"]


def test_the_lab_uses_the_product_only_as_a_user_does():
    """No ``sys.path`` insert and no import of the collection in the lab: it runs the
    installed collection's modules (``ansible -m``) where it needs the product."""
    lab = ROOT.parents[1] / "lab"
    found = []
    for path in sorted(lab.rglob("*.py")):
        text = path.read_text()
        if "sys.path.insert" in text or "ansible_collections" in imports_any(path):
            found.append(str(path.relative_to(lab)))
    assert found == []


def imports_any(path):
    """The top-level names of every module ``path`` imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
    return names
