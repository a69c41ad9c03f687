"""The collection loads only part of the official Kubernetes client; whoever else in the
process imports more of it (its dynamic client, its generated API classes) still gets it
whole, in a fresh interpreter each time."""

import subprocess
import sys
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[5] / ".cache" / "collections"
LIGHT = "from ansible_collections.golive.core.plugins.module_utils.k8s import client as golive_client\n"


def run(code):
    proc = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, %r)\n" % str(COLLECTIONS) + LIGHT + code],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_the_light_load_leaves_the_generated_models_out():
    out = run("print('kubernetes.client.models' in sys.modules, golive_client.HAS_KUBERNETES)\n")
    assert out.split() == ["False", "True"]


def test_the_dynamic_client_imports_after_the_light_load():
    out = run("from kubernetes.dynamic import DynamicClient\nprint(DynamicClient.__name__)\n")
    assert out.strip() == "DynamicClient"


def test_the_generated_api_classes_and_watch_come_whole():
    out = run("import kubernetes\nfrom kubernetes import watch\nprint(kubernetes.client.CoreV1Api.__name__, "
              "watch.Watch.__name__, kubernetes.client.ApiClient.__name__)\n")
    assert out.split() == ["CoreV1Api", "Watch", "ApiClient"]
