"""Run ansible-playbook / ansible-doc from the tests, the way a user runs them."""

import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        "PATH": "%s:%s" % (BIN, env.get("PATH", "")),
        # Every run writes its evidence report (the callback is on in ansible.cfg): keep the
        # tests' reports out of the checkout's artifacts/.
        "GOLIVE_REPORT_DIR": env.get("GOLIVE_REPORT_DIR") or os.path.join(tempfile.gettempdir(), "golive-test-reports"),
    })
    env.update(extra or {})
    return env


def lab_vars_file():
    """The endpoints of the lab the tests use (GOLIVE_LAB_STATE or the default lab)."""
    from lab.core import default_state_dir
    return default_state_dir() / "golive_lab.yml"


def run_playbook(playbook, *args, inventory="inventories/lab", env=None, timeout=600, environment=None):
    """Run a playbook from the repository root against the test lab; return the CompletedProcess.

    The lab's endpoints are passed as extra vars, so a lab in another state directory
    (GOLIVE_LAB_STATE) is used even though the inventory's generated file names another.
    Each run gets an environment of its own (``environment``, else a fresh one), so tests
    running at once on the shared lab never meet each other's run lock; a later
    ``-e golive_environment=...`` in ``args`` still wins.
    """
    cmd = [str(BIN / "ansible-playbook"), "-i", inventory, playbook]
    if inventory == "inventories/lab":
        lab_vars = lab_vars_file()
        # The inventory reads the lab's endpoints: a test that runs it must ask for the `lab` fixture.
        assert lab_vars.is_file(), "%s is missing: the test must use the `lab` fixture" % lab_vars
        cmd += ["-e", "@%s" % lab_vars]
        cmd += ["-e", "golive_environment=%s" % (environment or "itest-" + uuid.uuid4().hex[:8])]
    cmd += list(args)
    return subprocess.run(cmd, cwd=REPO, env=ansible_env(env), capture_output=True, text=True,
                          timeout=timeout, check=False)


def recap(output, host="lab"):
    """The PLAY RECAP counters of ``host`` as a dict of ints."""
    for line in output.splitlines():
        if line.startswith(host + " ") and "ok=" in line:
            return dict((k, int(v)) for k, v in (part.split("=") for part in line.split(":", 1)[1].split()))
    raise AssertionError("no PLAY RECAP line for %s in:\n%s" % (host, output[-3000:]))


def read_ledger(lab, environment, release):
    """The release's record in the lab cluster, as the ledger stores it (None when none)."""
    from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube
    from ansible_collections.golive.core.plugins.module_utils.ledger.store import LedgerStore
    kube = Kube({"kubeconfig": lab["k8s"]["kubeconfig"]}, deadline=30)
    try:
        return LedgerStore(kube).read(environment, release)[0]
    finally:
        kube.close()


def lock_holder(lab, environment):
    """Who holds the environment's run lock in the lab cluster (None when nobody)."""
    from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube
    from ansible_collections.golive.core.plugins.module_utils.ledger.lock import RunLock
    kube = Kube({"kubeconfig": lab["k8s"]["kubeconfig"]}, deadline=30)
    try:
        return RunLock(kube, "golive-system", environment).holder()
    finally:
        kube.close()


def run_tasks(tmp_path, *tasks, extra=(), env=None):
    """Run ``tasks`` in one play with the lab's k8s module defaults; return the process and
    each task's registered result (None when the play failed)."""
    path = tmp_path / ("m-%s.yml" % uuid.uuid4().hex[:6])
    out = tmp_path / "out.json"
    steps = []
    for index, task in enumerate(tasks):
        steps.append(dict(task, register="r%d" % index))
    steps.append({"name": "Keep", "ansible.builtin.copy": {
        "content": "{{ [%s] | to_json }}" % ", ".join("r%d" % i for i in range(len(tasks))), "dest": str(out),
        "mode": "0600"}})
    path.write_text(json.dumps([{"name": "M", "hosts": "golive", "gather_facts": False,
                                 "module_defaults": {"group/golive.core.k8s": "{{ golive_k8s }}"}, "tasks": steps}]))
    proc = run_playbook(str(path), *extra, env=env)
    return proc, (json.loads(out.read_text()) if proc.returncode == 0 else None)


def rendered_diff(diff):
    """A module's diff as `ansible-playbook --diff` prints it with the default callback (which
    warns instead of printing when before/after are neither text nor a mapping)."""
    import copy
    from ansible.plugins.callback import CallbackBase
    return "".join(CallbackBase()._get_diff(copy.deepcopy(diff)))
