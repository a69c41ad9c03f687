"""The job templates' playbooks run the way AWX / Automation Controller runs them: through
ansible-runner, with a private data directory holding the project (the repository as a
project sync leaves it), env/extravars (the survey's answers and the controller's awx_*
variables), env/envvars and the files the credential types' injectors produce, rendered from
awx/vars/golive.yml exactly as the controller renders them (every field, the optional ones
left empty as ""), a vault password answered through env/passwords, and the inventory copied
from inventories/example with the lab's endpoints. Phases 1 and 4 and the emergency
rollback of a patch release run; each one's evidence report lands in the runner's
artifact folder."""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from helpers import PREVIOUS, REPO, request, reset_pager, site_values

from second_lab import lab, lab_instance  # noqa: F401  (this module runs on the second lab)

pytestmark = pytest.mark.xdist_group("second-lab")


BIN = Path(sys.executable).parent
PATCH = "2026.11.2-1"
VAULT_PASSWORD = "runner-vault-%s" % uuid.uuid4().hex


class _Unsafe(yaml.SafeLoader):
    pass


_Unsafe.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def credential_types():
    data = yaml.load((REPO / "awx/vars/golive.yml").read_text(), Loader=_Unsafe)  # noqa: S506 (SafeLoader subclass)
    return dict((t["name"], t) for t in data["golive_awx_credential_types"])


def inject(private_data_dir, kind, inputs, env, extravars):
    """What the controller does with one credential of a custom type: every field of the type
    (an optional one left empty as ""), each file injector written into the private data
    directory and named by tower.filename, then the env and extra_vars templates rendered."""
    values = dict((f["id"], inputs.get(f["id"], "")) for f in kind["inputs"]["fields"])
    jinja = ImmutableSandboxedEnvironment()
    files = {}
    for key, template in (kind["injectors"].get("file") or {}).items():
        handle, path = tempfile.mkstemp(dir=str(private_data_dir / "env"))
        with os.fdopen(handle, "w") as out:
            out.write(jinja.from_string(template).render(**values))
        os.chmod(path, stat.S_IRUSR)
        files[key.split(".", 1)[1] if "." in key else "filename"] = path
    context = dict(values, tower={"filename": files}, awx={"filename": files})
    for name, template in (kind["injectors"].get("env") or {}).items():
        env[name] = jinja.from_string(template).render(**context)
    for name, template in (kind["injectors"].get("extra_vars") or {}).items():
        extravars[name] = jinja.from_string(template).render(**context)


@pytest.fixture(scope="module")
def controller(lab, lab_instance, tmp_path_factory):
    """A private data directory as the controller prepares one for a job of this project."""
    pdd = tmp_path_factory.mktemp("awx")
    (pdd / "env").mkdir()
    # The project: the repository's files as an SCM sync leaves them (tracked files only).
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        target = pdd / "project" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, target)
    # The inventory: the example with the lab's endpoints; the secrets no credential type injects
    # in a vaulted file (a Vault credential's password answers the prompt).
    inventory = pdd / "inventory"
    shutil.copytree(REPO / "inventories/example", inventory)
    environment = "awx-%s" % uuid.uuid4().hex[:6]
    site = dict(site_values(lab, environment), site_kubeconfig="")  # the credential's K8S_AUTH_KUBECONFIG
    (inventory / "group_vars/all/site.yml").write_text("---\n" + json.dumps(site, indent=1) + "\n")
    vault = {"vault_smoke_password": "awx-%s" % uuid.uuid4().hex, "vault_rabbitmq_password": lab["rabbitmq"]["password"],
             "vault_smtp_password": lab["notify"]["smtp_password"],
             "vault_slack_webhook_url": lab["notify"]["webhook_url"] + "/ops-chat",
             "vault_integration_secrets": {"payments_key": lab["standins"]["sandbox_token"]},
             "vault_pg_admin_password": lab["postgres"]["admin_password"],
             "vault_pgbouncer_admin_password": lab["postgres"]["pgbouncer_admin_password"]}
    plain = inventory / "group_vars/all/vault.yml"
    plain.write_text("---\n" + json.dumps(vault, indent=1) + "\n")
    password_file = pdd / "vault-password"
    password_file.write_text(VAULT_PASSWORD)
    subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password_file), str(plain)],
                   check=True, capture_output=True)
    password_file.unlink()
    for folder in ("migrations", "day-7"):
        shutil.copytree(REPO / "inventories/lab/files" / folder, inventory / "files" / folder, dirs_exist_ok=True)
    shutil.copy(REPO / "lab/static/app.css", inventory / "files/app.css")

    env, extravars = {}, {}
    kinds = credential_types()
    kubeconfig = Path(lab["k8s"]["kubeconfig"]).read_text()
    inject(pdd, kinds["golive Kubernetes kubeconfig"], {"kubeconfig": kubeconfig}, env, extravars)
    inject(pdd, kinds["golive PostgreSQL"], {"password": lab["postgres"]["app_password"]}, env, extravars)
    inject(pdd, kinds["golive Redis"], {"password": lab["redis"]["password"]}, env, extravars)
    inject(pdd, kinds["golive DNS TSIG"], {"tsig_secret": lab["dns"]["tsig_secret"]}, env, extravars)
    inject(pdd, kinds["golive notifications"], {"slack_url": lab["notify"]["webhook_url"] + "/ops-chat",
                                                "smtp_password": lab["notify"]["smtp_password"]}, env, extravars)
    # AWX's built-in types: "Amazon Web Services" and the controller credential
    # ("Red Hat Ansible Automation Platform"), every field injected.
    env.update(AWS_ACCESS_KEY_ID=lab["s3"]["access_key"], AWS_SECRET_ACCESS_KEY=lab["s3"]["secret_key"])
    for prefix in ("CONTROLLER", "TOWER"):
        env.update({prefix + "_HOST": lab["standins"]["controller_url"], prefix + "_USERNAME": "",
                    prefix + "_PASSWORD": "", prefix + "_VERIFY_SSL": "True",
                    prefix + "_OAUTH_TOKEN": lab["standins"]["sandbox_token"]})
    # What the controller itself sets for a job (the EE has golive.core installed; here the
    # collections path names this checkout's copy).
    env.update(JOB_ID="4242", INVENTORY_ID="7", PROJECT_REVISION="abc123", AWX_HOST="https://awx.example.test",
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".cache/collections"), ANSIBLE_FORCE_COLOR="False",
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="False")
    (pdd / "env/envvars").write_text(json.dumps(env))
    (pdd / "env/passwords").write_text(json.dumps({r"^Vault password:\s*?$": VAULT_PASSWORD}))
    reset_pager(lab, lab_instance)
    yield {"dir": pdd, "env": env, "extravars": extravars, "environment": environment, "vault": vault}
    reset_pager(lab, lab_instance)


def job(controller, ident, playbook, tags, survey):
    """One job: env/extravars as the controller writes them, then ansible-runner."""
    extravars = dict(controller["extravars"], awx_job_id=ident, tower_job_id=ident, awx_user_name="admin",
                     awx_job_template_name="golive " + playbook, awx_job_launch_type="workflow", **survey)
    (controller["dir"] / "env/extravars").write_text(json.dumps(extravars))
    cmdline = "--ask-vault-pass" + (" --tags %s" % tags if tags else "")
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith(("ANSIBLE_", "GOLIVE_", "K8S_AUTH_", "AWS_", "PG", "REDIS_")))
    env["PATH"] = "%s:%s" % (BIN, env.get("PATH", ""))
    proc = subprocess.run([str(BIN / "ansible-runner"), "run", str(controller["dir"]), "-p", playbook,
                           "--ident", ident, "--inventory", str(controller["dir"] / "inventory/hosts.yml"),
                           "--cmdline=" + cmdline], env=env, capture_output=True, text=True, timeout=900)
    artifacts = controller["dir"] / "artifacts" / ident
    stdout = (artifacts / "stdout").read_text(errors="replace") if (artifacts / "stdout").exists() \
        else proc.stdout + proc.stderr
    rc = (artifacts / "rc").read_text().strip() if (artifacts / "rc").exists() else None
    return rc, stdout, artifacts


def test_phase1_phase4_and_the_emergency_rollback_run_as_the_controller_runs_them(lab, controller):
    # A patch release of the running version (no migration of its own, so no phase 2 and no
    # database restore: the Galaxy road's test goes through those).
    release = "%s-awx.t%s" % (PATCH, uuid.uuid4().hex[:6])
    survey = {"golive_release": release, "golive_app_version": PATCH}
    # Day -7, Day -1, then the incident (Day 0's approval through the controller:
    # test_phase5_approval.py).
    for ident, playbook, tags, answers in (("101", "playbooks/golive.yml", "phase1", survey),
                                           ("103", "playbooks/golive.yml", "phase4", survey),
                                           ("105", "playbooks/rollback_emergency.yml", "", {"release": release})):
        rc, out, artifacts = job(controller, ident, playbook, tags, answers)
        assert rc == "0", "job %s (%s %s):\n%s" % (ident, playbook, tags, out[-6000:])
        assert "[WARNING]" not in out, out[-6000:]
        # The evidence report is in the job's artifacts, and names the job.
        reports = artifacts / "reports"
        assert (reports / "latest" / "report.json").is_file(), sorted(p.name for p in artifacts.iterdir())
        report = json.loads((reports / "latest" / "report.json").read_text())
        assert "AWX job 4242" in json.dumps(report)
        # Everything the job printed and reported (not ansible-runner's own record of its
        # environment, artifacts/<ident>/command, which the controller keeps to itself).
        text = "".join(f.read_text(errors="replace") for f in artifacts.rglob("*")
                       if f.is_file() and f.name != "command")
        secrets = [lab["postgres"]["app_password"], lab["redis"]["password"], lab["dns"]["tsig_secret"],
                   lab["notify"]["smtp_password"], VAULT_PASSWORD, controller["vault"]["vault_smoke_password"],
                   lab["postgres"]["admin_password"], lab["standins"]["sandbox_token"]]
        for secret in secrets:
            assert secret not in text
        if ident == "103":
            assert request(lab["app"])[1].get("X-App-Version") == PATCH
    assert request(lab["app"])[1].get("X-App-Version") == PREVIOUS

