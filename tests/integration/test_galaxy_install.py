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

from helpers import (
    answers,
    by_hand,
    column_exists,
    kept_databases,
    NEXT,
    PREVIOUS,
    REPO,
    request,
    reset_pager,
    schema_before_next_release,
    site_values,
    sql,
    wait,
)

from second_lab import lab, lab_instance  # noqa: F401  (this module runs on the second lab)

pytestmark = pytest.mark.xdist_group("second-lab")



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
