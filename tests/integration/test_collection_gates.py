"""The collection as a user gets it, and the gates that keep it honest.

- `ansible-galaxy collection build` makes a tarball that installs, and `ansible-doc`
  renders every module from the installed copy.
- A deliberately wrong module doc fails ansible-test sanity (validate-modules), and a
  playbook that breaks the production profile fails ansible-lint: the gates can fail.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ansible_env, REPO


pytestmark = pytest.mark.xdist_group("gates")
BIN = Path(sys.executable).parent
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
CONTENT_EXCLUDES = ("lab/", "bench/", "scripts/", "tests/integration/", ".ci/", "tests/conftest.py", "pytest.ini")


def _run(cmd, cwd, env=None, timeout=600):
    return subprocess.run(cmd, cwd=cwd, env=ansible_env(env), capture_output=True, text=True,
                          timeout=timeout, check=False)


def _collection_copy(tmp_path):
    """The tracked collection content at tmp/ansible_collections/golive/core (as `make sanity`)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()
    root = tmp_path / "ansible_collections" / "golive" / "core"
    for name in files:
        if name.startswith(CONTENT_EXCLUDES) or not (REPO / name).is_file():
            continue
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    return root


def test_built_tarball_installs_and_ansible_doc_renders_every_module(tmp_path):
    # A neutral configuration: the checkout's own ansible.cfg already resolves golive.core.
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    target = tmp_path / "installed"
    env = {"ANSIBLE_COLLECTIONS_PATH": str(target), "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg")}
    build = _run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(REPO)],
                 cwd=tmp_path, env=env)
    assert build.returncode == 0, build.stderr
    tarball = next(tmp_path.glob("golive-core-*.tar.gz"))
    names = subprocess.run(["tar", "-tzf", str(tarball)], capture_output=True, text=True, check=True).stdout.split()
    assert "plugins/modules/connectivity.py" in names
    leaked = [n for n in names if n.startswith(("lab/", "bench/", ".venv/", ".lab/", "tests/output/", "tests/integration/"))
              or n.endswith("lab_generated.yml")]
    assert leaked == []

    install = _run([str(BIN / "ansible-galaxy"), "collection", "install", "-p", str(target), str(tarball)],
                   cwd=tmp_path, env=env)
    assert install.returncode == 0, install.stderr
    assert (target / "ansible_collections" / "golive" / "core" / "MANIFEST.json").is_file()
    # Every module in one ansible-doc call (one start-up), each rendered from the installed copy.
    doc = _run([str(BIN / "ansible-doc")] + ["golive.core.%s" % module for module in MODULES], cwd=tmp_path, env=env)
    assert doc.returncode == 0, doc.stderr
    assert "[WARNING]" not in doc.stdout + doc.stderr, doc.stderr
    pages = re.split(r"^> MODULE (?:\x1b\[[0-9;]*m)?golive\.core\.", doc.stdout, flags=re.M)[1:]
    assert sorted(re.match(r"\w+", page).group(0) for page in pages) == MODULES, doc.stdout[:2000]
    for page in pages:
        assert "EXAMPLES" in page, page[:200]
        assert str(target) in page, "ansible-doc must render the installed copy"
    # Listing the collection's modules, roles, filters and tests warns of nothing either.
    for kind in ("module", "role", "filter", "test", "callback"):
        listed = _run([str(BIN / "ansible-doc"), "-t", kind, "-l", "golive.core"], cwd=tmp_path, env=env)
        assert listed.returncode == 0 and "[WARNING]" not in listed.stdout + listed.stderr, (kind, listed.stderr)


def test_a_wrong_module_doc_fails_sanity(tmp_path):
    root = _collection_copy(tmp_path)
    module = root / "plugins" / "modules" / "connectivity.py"
    text = module.read_text()
    wrong = text.replace("      - Value of the markers written with O(write_probe=true).\n    type: str\n"
                         "    default: golive.core\n",
                         "      - Value of the markers written with O(write_probe=true).\n    type: int\n"
                         "    default: golive.core\n")
    assert wrong != text
    module.write_text(wrong)
    result = _run([str(BIN / "ansible-test"), "sanity", "--color", "no", "--python", "3.11",
                   "--test", "validate-modules", "--requirements"], cwd=root)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-3000:]
    assert "plugins/modules/connectivity.py" in out and "probe_value" in out


def test_a_sloppy_playbook_fails_lint(tmp_path):
    root = _collection_copy(tmp_path)
    shutil.copy2(REPO / ".ansible-lint", root / ".ansible-lint")
    (root / "playbooks" / "sloppy.yml").write_text(
        "- hosts: all\n  tasks:\n    - shell: echo hi\n")
    result = _run([str(BIN / "ansible-lint"), "--offline", "-q", "playbooks/sloppy.yml"], cwd=root)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "fqcn" in out and "name[play]" in out
