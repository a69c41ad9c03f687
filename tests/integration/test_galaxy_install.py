"""The Galaxy road, as a new user takes it: the collection's tarball installed into a folder
outside this checkout, a fresh virtualenv holding only ansible-core and the installed
collection's requirements.txt, `inventories/example` copied out of the installed collection
with only the values a user fills in (site.yml: the lab's endpoints and names; vault.yml:
its secrets; files/: migrations, Day -7 manifests, the CDN asset), then validate.yml, phases
1 to 5 and the emergency rollback through the FQCN playbooks. The world is read the way a
user would: the version through the router, both name servers' answers, the schema."""

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from dns_helpers import answers, by_hand
from pager_helpers import request, reset_pager, wait
from playbook_helpers import REPO
from test_rollback_playbook import NEXT, PREVIOUS, column_exists, kept_databases, schema_before_next_release, sql

pytestmark = pytest.mark.xdist_group("pager")

LAB_VARS = yaml.safe_load((REPO / "inventories/lab/group_vars/all/main.yml").read_text())


def site_values(lab, environment):
    """site.yml as a user of the lab would fill it in (every key of the example's site.yml)."""
    app, pg, dns, k8s = lab["app"], lab["postgres"], lab["dns"], lab["k8s"]
    ns = app["namespace"]
    base = "https://%s:%s" % (app["hosts"][0], app["https_port"])
    version_check = ["version == '{{ golive_app_version }}'"]
    return {
        "site_environment": environment,
        "site_allow_drills": False,
        "site_kubeconfig": k8s["kubeconfig"],
        "site_kube_context": "",
        "site_pg_host": pg["host"], "site_pg_port": pg["pgbouncer_port"], "site_pg_user": pg["app_user"],
        "site_pg_database": pg["database"], "site_pg_ssl_mode": "disable", "site_pg_ca_cert": "",
        "site_pg_admin_host": pg["host"], "site_pg_admin_port": pg["port"], "site_pg_admin_user": pg["admin_user"],
        "site_pgbouncer_admin_user": pg["pgbouncer_admin_user"], "site_pgbouncer_pool_mode": pg["pgbouncer_pool_mode"],
        "site_seed": LAB_VARS["phase2_seed"],
        "site_redis_sentinels": lab["redis"]["sentinels"], "site_redis_master_name": lab["redis"]["master_name"],
        "site_s3_region": lab["s3"]["region"], "site_s3_endpoint_url": lab["s3"]["endpoint_url"],
        "site_backup_bucket": lab["s3"]["bucket"], "site_backup_cronjob": True,
        "site_dns_server": dns["server"], "site_dns_port": dns["port"], "site_dns_zone": dns["zone"],
        "site_dns_tsig_key_name": dns["tsig_key_name"], "site_dns_tsig_algorithm": dns["tsig_algorithm"],
        "site_dns_nameservers": dns["nameservers"],
        "site_dns_records": [{"name": n, "values": [app["sites"]["new"]], "ttl": 60} for n in ("www", "app")],
        "site_prometheus_url": lab["prometheus"]["url"],
        "site_app_namespace": ns,
        "site_app_selector": LAB_VARS["phase4_application_selector"],
        "site_app_images": {"pager": "registry.lab.example/pager:{{ golive_app_version }}@sha256:"
                                     "{{ ('registry.lab.example/pager:' ~ golive_app_version) | hash('sha256') }}"},
        "site_rollout_timeout": 120,
        "site_app_hosts": app["hosts"],
        "site_address_before": app["sites"]["old"], "site_address_after": app["sites"]["new"],
        "site_https_port": app["https_port"], "site_ca_cert": app["ca_file"], "site_tls_min_days": 30,
        "site_services": [{"namespace": ns, "name": "pager", "path": "/healthz", "min_ready": 2},
                          {"namespace": ns, "name": "maintenance", "path": "/healthz"}],
        "site_health_requests": [{"name": "healthz", "url": base + "/healthz"},
                                 {"name": "version", "url": base + "/version", "assertions": version_check}],
        "site_smoke_requests": [
            {"name": "register", "method": "POST", "url": base + "/api/users", "status": [201, 409],
             "body": {"email": "smoke+%s@lab.example" % environment, "password": "${smoke_password}"}},
            {"name": "login", "method": "POST", "url": base + "/api/login", "save": {"token": "token"},
             "body": {"email": "smoke+%s@lab.example" % environment, "password": "${smoke_password}"}},
            {"name": "list-incidents", "url": base + "/api/incidents", "headers": {"Authorization": "Bearer ${token}"},
             "assertions": ["length(incidents) >= `0`"]}],
        "site_protected_requests": [{"name": "incidents-need-a-login", "url": base + "/api/incidents",
                                     "status": [401, 403]}],
        "site_functional_requests": [{"name": "healthz", "url": base + "/healthz",
                                      "checklist": "All health checks passing"}],
        "site_slo_requests": [{"name": "version", "url": base + "/version", "assertions": version_check},
                              {"name": "incidents", "url": base + "/api/incidents", "status": [401]}],
        "site_slo_objectives": LAB_VARS["golive_slo_objectives"],
        "site_resource_objectives": [dict(o, workload={"namespace": ns, "name": "pager"})
                                     for o in LAB_VARS["golive_resource_objectives"]],
        "site_monitoring_objectives": LAB_VARS["validate_monitoring_objectives"],
        "site_secrets": [{"namespace": ns, "name": "pager-config", "keys": ["DATABASE_PASSWORD", "REDIS_PASSWORD"]}],
        "site_images": {"namespaces": [ns], "allowed_registries": ["registry.lab.example"], "require_digest": True},
        "site_readiness": LAB_VARS["golive_readiness"],
        "site_rabbitmq": {"url": lab["rabbitmq"]["management_url"], "username": lab["rabbitmq"]["user"],
                          "vhost": lab["rabbitmq"]["vhost"], "max_depth": 1000, "max_unacked": 100},
        "site_buckets": [{"bucket": lab["s3"]["uploads_bucket"], "versioning": True, "encryption": "AES256",
                          "public_access_block": True, "abort_multipart_days": 7}],
        "site_smtp": {"host": lab["notify"]["smtp_host"], "port": lab["notify"]["smtp_port"],
                      "username": lab["notify"]["smtp_user"], "ca_cert": lab["notify"]["ca_file"],
                      "sender": "golive@lab.example", "send_to": ["smtp-check@lab.example"]},
        "site_search": LAB_VARS["readiness_integrations_search"] | {"url": lab["standins"]["search_url"]},
        "site_integration_requests": [
            {"name": "cdn-app-css", "url": lab["standins"]["cdn_url"] + "/app.css",
             "header_regex": {"Cache-Control": "max-age=[0-9]{5,}", "ETag": ".+"},
             "sha256": "{{ lookup('ansible.builtin.file', inventory_dir ~ '/files/app.css', rstrip=false)"
                       " | hash('sha256') }}"},
            {"name": "sandbox-click", "url": lab["standins"]["sandbox_url"] + "/click/health",
             "headers": {"Authorization": "Bearer ${payments_key}"}, "assertions": ["status == 'ok'"]},
            {"name": "feature-flags", "url": lab["standins"]["flags_url"],
             "assertions": ["flags.\"new-checkout\".rollout == `10`"]}],
        "site_status_requests": [{"name": "status-page", "url": lab["standins"]["status_url"],
                                  "assertions": ["status.indicator == 'none'"]}],
        "site_notify_channels": [
            {"name": "ops-chat", "type": "slack", "url": "{{ golive_notify_slack_url | default(vault_slack_webhook_url) }}"},
            {"name": "change-board", "type": "email", "host": lab["notify"]["smtp_host"],
             "port": lab["notify"]["smtp_port"], "username": lab["notify"]["smtp_user"],
             "password": "{{ golive_notify_smtp_password | default(vault_smtp_password) }}",
             "ca_cert": lab["notify"]["ca_file"],
             "sender": "golive@lab.example", "to": ["change-board@lab.example"]}],
        "site_ingresses": [{"namespace": ns, "name": "pager"}],
        "site_rollback_validation_requests": [{"name": "version", "url": base + "/version"}],
        "site_rollback_objectives": LAB_VARS["rollback_controlled_objectives"][:1],
    }


def vault_values(lab):
    pg = lab["postgres"]
    return {
        "vault_pg_app_password": pg["app_password"], "vault_pg_admin_password": pg["admin_password"],
        "vault_pgbouncer_admin_password": pg["pgbouncer_admin_password"],
        "vault_redis_password": lab["redis"]["password"], "vault_redis_sentinel_password": "",
        "vault_aws_access_key": lab["s3"]["access_key"], "vault_aws_secret_key": lab["s3"]["secret_key"],
        "vault_tsig_secret": lab["dns"]["tsig_secret"], "vault_smoke_password": "galaxy-%s" % uuid.uuid4().hex,
        "vault_rabbitmq_password": lab["rabbitmq"]["password"], "vault_smtp_password": lab["notify"]["smtp_password"],
        "vault_slack_webhook_url": lab["notify"]["webhook_url"] + "/ops-chat",
        "vault_integration_secrets": {"payments_key": lab["standins"]["sandbox_token"], "sms_token": ""},
    }


@pytest.fixture(scope="module")
def user(lab, lab_instance, tmp_path_factory):
    """A user's project folder with the installed collection, a fresh virtualenv and the
    example inventory filled in for the lab."""
    tmp = tmp_path_factory.mktemp("galaxy")
    built = subprocess.run([str(Path(sys.executable).parent / "ansible-galaxy"), "collection", "build", "--force",
                            "--output-path", str(tmp / "dist"), str(REPO)], capture_output=True, text=True,
                           cwd=tmp, env=_clean_env(), timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = next((tmp / "dist").glob("golive-core-*.tar.gz"))

    project = tmp / "project"
    project.mkdir()
    venv = tmp / "venv"
    # A fresh virtualenv; this checkout's pip installs into it (--python), so it holds only what
    # is asked for: ansible-core and the installed collection's requirements.txt.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    galaxy = subprocess.run([str(Path(sys.executable).parent / "ansible-galaxy"), "collection", "install",
                             str(tarball), "-p", str(project / "collections")], capture_output=True, text=True,
                            cwd=project, env=_clean_env(), timeout=300)
    assert galaxy.returncode == 0, galaxy.stdout + galaxy.stderr
    installed = project / "collections/ansible_collections/golive/core"
    core = next(line for line in (REPO / "requirements.lock").read_text().splitlines()
                if line.startswith("ansible-core=="))
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install", "-q",
                          "--no-compile", "--disable-pip-version-check", core,
                          "-r", str(installed / "requirements.txt"), "-c", str(REPO / "requirements.lock")],
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stdout + pip.stderr

    inventory = project / "inventory"
    shutil.copytree(installed / "inventories/example", inventory)
    example_site = yaml.safe_load((inventory / "group_vars/all/site.yml").read_text())
    example_vault = yaml.safe_load((inventory / "vault.yml.example").read_text())
    environment = "galaxy-%s" % uuid.uuid4().hex[:6]
    site, vault = site_values(lab, environment), vault_values(lab)
    # The values a user fills in, no more: exactly the example's keys.
    assert sorted(site) == sorted(example_site)
    assert sorted(vault) == sorted(example_vault)
    (inventory / "group_vars/all/site.yml").write_text("---\n" + json.dumps(site, indent=1) + "\n")
    (inventory / "group_vars/all/vault.yml").write_text("---\n" + json.dumps(vault, indent=1) + "\n")
    for folder in ("migrations", "day-7"):
        shutil.copytree(REPO / "inventories/lab/files" / folder, inventory / "files" / folder, dirs_exist_ok=True)
    shutil.copy(REPO / "lab/static/app.css", inventory / "files/app.css")
    (project / "ansible.cfg").write_text("[defaults]\ninventory = inventory/hosts.yml\n"
                                         "collections_path = ./collections\ncallbacks_enabled = golive.core.report\n")

    reset_pager(lab, lab_instance)
    schema_before_next_release(lab)
    for name in ("www", "app"):
        by_hand(lab, name, lab["app"]["sites"]["old"])
    old = dict((ns, [lab["app"]["sites"]["old"]]) for ns in lab["dns"]["nameservers"])
    wait(lambda: all(answers(lab, n) == old for n in ("www", "app")), timeout=30, what="both servers at the old site")
    # golive.core resolves to the installed tarball, not to this checkout.
    listed = subprocess.run([str(venv / "bin/ansible-galaxy"), "collection", "list", "golive.core", "--format", "json"],
                            capture_output=True, text=True, cwd=project, env=_clean_env(), timeout=120)
    assert list(json.loads(listed.stdout)) == [str(project / "collections/ansible_collections")], listed.stdout
    kept_before = kept_databases(lab)
    yield {"project": project, "venv": venv, "installed": installed, "environment": environment, "vault": vault}
    for name in kept_databases(lab) - kept_before:
        sql(lab, 'DROP DATABASE IF EXISTS "%s"' % name, dbname="postgres")
    reset_pager(lab, lab_instance)


def _clean_env(extra=None):
    """This machine's environment without anything that points Ansible at this checkout."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "GOLIVE_", "K8S_AUTH_", "AWS_")))
    env.pop("VIRTUAL_ENV", None)
    env.update(extra or {})
    return env


def play(user, playbook, *args):
    env = _clean_env({"PATH": "%s:%s" % (user["venv"] / "bin", os.environ.get("PATH", ""))})
    proc = subprocess.run([str(user["venv"] / "bin/ansible-playbook"), playbook, *args], cwd=user["project"],
                          env=env, capture_output=True, text=True, timeout=900)
    return proc, proc.stdout + proc.stderr


def test_the_installed_collection_goes_live_and_rolls_back_with_the_example_inventory(lab, user):
    release = "%s-galaxy.t%s" % (NEXT, uuid.uuid4().hex[:6])
    fast = ["-e", "phase5_golive_performance_interval=1", "-e", "phase5_golive_traffic_interval=2"]
    runs = [("golive.core.validate", []),
            ("golive.core.golive", ["--tags", "phase1,phase2,phase3,phase4"]),
            ("golive.core.golive", ["--tags", "phase5", "-e", "golive_change_id=CHG-GALAXY-1",
                                    "-e", "golive_approved_by=erin"] + fast)]
    for playbook, extra in runs:
        proc, out = play(user, playbook, "-e", "golive_release=%s" % release, "-e", "golive_app_version=%s" % NEXT,
                         *extra)
        assert proc.returncode == 0, "%s %s:\n%s" % (playbook, extra, out[-6000:])
        assert "[WARNING]" not in out, out[-6000:]
    # Gone live, as a user sees it: the next version through the router, both name servers at the new site.
    new = dict((ns, [lab["app"]["sites"]["new"]]) for ns in lab["dns"]["nameservers"])
    assert all(answers(lab, n) == new for n in ("www", "app"))
    assert request(lab["app"], site="new")[1].get("X-App-Version") == NEXT
    assert column_exists(lab)

    proc, out = play(user, "golive.core.rollback_emergency", "-e", "release=%s" % release)
    assert proc.returncode == 0, out[-6000:]
    assert "[WARNING]" not in out, out[-6000:]
    old = dict((ns, [lab["app"]["sites"]["old"]]) for ns in lab["dns"]["nameservers"])
    assert all(answers(lab, n) == old for n in ("www", "app"))
    assert request(lab["app"], site="old")[1].get("X-App-Version") == PREVIOUS
    assert not column_exists(lab)

    # The reports landed in the user's folder, and no secret of the vault is in any of them.
    reports = user["project"] / "artifacts/reports"
    runs = [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) >= 4, sorted(reports.iterdir())
    text = "".join(f.read_text(errors="replace") for f in reports.rglob("*") if f.is_file())
    for name, value in user["vault"].items():
        for secret in (value.values() if isinstance(value, dict) else [value]):
            if isinstance(secret, str) and len(secret) >= 8 and "://" not in secret:
                assert secret not in text, name
