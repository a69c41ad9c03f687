"""The credentials users already have: a module_defaults block written for kubernetes.core
and one written for amazon.aws, copied unchanged into the inventory's connection settings,
drive a phase 1 run, with the environment AWX injects (every field of a credential type, the
optional ones left empty as "")."""

import json

from lab.scratch import cluster
from helpers import recap, run_playbook


def test_kubernetes_core_and_amazon_aws_settings_work_unchanged_with_empty_injected_fields(lab, tmp_path):
    s3 = lab["s3"]
    with cluster(tmp_path / "k8s") as k8s:
        # As written for `module_defaults: {group/kubernetes.core.k8s: ...}` (its aliases included).
        kubernetes_core = {"kubeconfig": k8s["kubeconfig"], "context": "", "verify_ssl": True,
                           "ssl_ca_cert": k8s["ca_file"]}
        # As written for `module_defaults: {group/aws: ...}` of amazon.aws.
        amazon_aws = {"access_key": s3["access_key"], "secret_key": s3["secret_key"], "region": s3["region"],
                      "endpoint_url": s3["endpoint_url"]}
        # AWX injects every field; an optional one left empty arrives as "".
        injected = {"K8S_AUTH_CONTEXT": "", "K8S_AUTH_HOST": "", "K8S_AUTH_API_KEY": "", "K8S_AUTH_VERIFY_SSL": "",
                    "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "PGPORT": "", "REDIS_PORT": ""}
        run = run_playbook("playbooks/golive.yml", "--tags", "phase1", "-e", "golive_release=2026.11.3",
                           "-e", json.dumps({"golive_k8s": kubernetes_core, "golive_s3": amazon_aws}), env=injected)
        out = run.stdout + run.stderr
        assert run.returncode == 0, out[-4000:]
        assert recap(run.stdout)["failed"] == 0
        assert "Object storage - bucket posture and a round trip" in run.stdout
        assert "Expected object with name" not in out and "cannot be converted to an int" not in out
