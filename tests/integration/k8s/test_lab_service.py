"""The `k8s` lab service: started the way `python -m lab up` starts it (a detached daemon
with a pidfile), in a private state directory."""

from __future__ import annotations

import yaml
from kubernetes import client, config

from lab.core import Lab
from lab.services.k8s import K8s


def test_lab_up_status_down(tmp_path):
    lab = Lab(tmp_path / "state", services=[K8s()], write_inventory=False)
    try:
        endpoints = lab.up()["k8s"]
        assert set(endpoints) >= {"api_server", "kubeconfig", "token", "ca_file", "version", "scenario"}
        assert endpoints["scenario"] == "healthy" and endpoints["version"] == "v1.30.2"
        assert lab.status()["k8s"]["running"]
        assert lab.up()["k8s"]["api_server"] == endpoints["api_server"]  # idempotent
        kubeconfig = yaml.safe_load(open(endpoints["kubeconfig"]))
        assert kubeconfig["clusters"][0]["cluster"]["server"] == endpoints["api_server"]
        api = config.new_client_from_config(config_file=endpoints["kubeconfig"])
        web = client.AppsV1Api(api).read_namespaced_deployment("web", "shop")
        assert web.status.ready_replicas == 3  # `up` returns once the scenario has settled
    finally:
        lab.down()
    assert not lab.status()["k8s"]["running"]
