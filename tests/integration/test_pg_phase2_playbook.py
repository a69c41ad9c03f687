"""playbooks/golive.yml --tags phase2 against the lab: assert on what PostgreSQL, S3 and
the rendered CronJob hold afterwards, idempotence, and a clean failure on a wrong password."""

import json
import re
import uuid

import pytest
import yaml

from lab.services.moto import lab_client
from helpers import read_ledger, recap, rows, run_playbook

pytestmark = pytest.mark.xdist_group("phase2-playbook")


def _secrets(lab):
    pg = lab["postgres"]
    return [pg["admin_password"], pg["app_password"], pg["pgbouncer_admin_password"]]


def _manifests(lab, label):
    client = lab_client(lab)
    found = []
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=lab["s3"]["bucket"], Prefix="postgres/")
    for item in (i for page in pages for i in page.get("Contents", [])):
        if item["Key"].endswith("/manifest.json"):
            body = json.loads(client.get_object(Bucket=lab["s3"]["bucket"], Key=item["Key"])["Body"].read())
            if body["label"] == label:
                found.append(body)
    return found


def _cluster_cronjob(lab):
    import kubernetes

    client = kubernetes.config.new_client_from_config(config_file=lab["k8s"]["kubeconfig"])
    try:
        api = kubernetes.client.BatchV1Api(client)
        found = api.read_namespaced_cron_job("golive-postgres-backup", "shop")
        return client.sanitize_for_serialization(found)
    finally:
        client.close()


@pytest.fixture
def database(lab):
    """A database of this test's own, owned by the application's role: phase 2 migrates and
    seeds it, so the pager's database, which the go-live tests back up and restore at the same
    time on the other worker, is not touched."""
    pg = lab["postgres"]
    name = "golive_p2_%s" % uuid.uuid4().hex[:8]
    rows(pg, "postgres", 'CREATE DATABASE "%s" OWNER "%s"' % (name, pg["app_user"]))
    yield name
    rows(pg, "postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


def test_phase2_migrates_seeds_backs_up_verifies_and_converges(lab, tmp_path, database):
    pg = lab["postgres"]
    release = "2026.11.%s" % uuid.uuid4().hex[:6]
    environment = "itest-%s" % uuid.uuid4().hex[:6]  # its own run lock and backup identity
    cronjob = tmp_path / "cronjob.yaml"
    own = {"golive_postgres": {"login_host": pg["host"], "login_port": pg["pgbouncer_port"], "login_user": pg["app_user"],
                               "login_password": pg["app_password"], "login_db": database,
                               "ssl_mode": "verify-full", "ca_cert": pg["ca_file"]},
           "phase2_admin_connection": {"login_host": pg["host"], "login_port": pg["port"],
                                       "login_user": pg["admin_user"], "login_password": pg["admin_password"],
                                       "login_db": database, "ssl_mode": "verify-full", "ca_cert": pg["ca_file"]}}
    extra = ["--tags", "phase2", "-e", "golive_release=%s" % release, "-e", "golive_environment=%s" % environment,
             "-e", "phase2_database_cronjob_render_path=%s" % cronjob, "-e", json.dumps(own)]

    # Check mode, also against an empty store, changes nothing anywhere.
    fresh = "test-fresh-%s" % uuid.uuid4().hex[:8]
    check = run_playbook("playbooks/golive.yml", "--check", *extra, "-e", "phase2_database_backup_prefix=%s" % fresh)
    assert check.returncode == 0, check.stdout[-4000:] + check.stderr[-2000:]
    assert _manifests(lab, "pre-deploy-%s" % release) == []
    assert not lab_client(lab).list_objects_v2(Bucket=lab["s3"]["bucket"], Prefix=fresh).get("Contents")

    first = run_playbook("playbooks/golive.yml", "-vvv", *extra)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    for secret in _secrets(lab):
        assert secret not in first.stdout and secret not in first.stderr

    # Migrated (owned by the application's role), seeded, and recorded.
    db = database
    assert [r[0] for r in rows(pg, db, "SELECT version FROM golive_schema_history WHERE success ORDER BY version")] \
        == ["1", "2", "3", "4", "5"]
    assert rows(pg, db, "SELECT tableowner FROM pg_tables WHERE tablename = 'customers'") == [(pg["app_user"],)]
    assert rows(pg, db, "SELECT code, monthly_cents FROM plans WHERE code IN ('free', 'team', 'business') "
                        "ORDER BY code") == [("business", 9900), ("free", 0), ("team", 1900)]
    # The pre-deploy backup of this release exists, complete, with the release recorded.
    predeploy = _manifests(lab, "pre-deploy-%s" % release)
    assert len(predeploy) == 1 and predeploy[0]["release"] == release
    assert predeploy[0]["source"]["database"] == db
    # Its identity carries the inventory's environment, and so does its place in the bucket.
    assert predeploy[0]["identity"] == {"kind": "postgres", "source": db, "environment": environment}
    assert predeploy[0]["objects"]["dump"]["key"].startswith("postgres/%s/postgres/%s/" % (environment, db))
    # The ledger in the cluster names that backup: it is the one the database rollback restores.
    record = read_ledger(lab, environment, release)
    steps = dict((step["id"], step) for step in record["steps"])
    assert steps["phase2/predeploy-backup"]["outcome"]["outputs"]["backup_id"] == predeploy[0]["id"]
    assert steps["phase2/migrate"]["intent"]["undo"]["backup_id"] == predeploy[0]["id"]
    assert all(s["status"] == "done" for s in steps.values())
    fact = first.stdout.index("\"phase2_database_predeploy_backup\": {")
    assert predeploy[0]["id"] in first.stdout[fact:fact + 400], "the backup id is kept as a fact"
    # The restore was verified and its scratch database dropped.
    assert "pg.backup_restore" in first.stdout
    scratch = re.search(r'"scratch_database": "([^"]+)"', first.stdout).group(1)
    assert rows(pg, "postgres", "SELECT count(*) FROM pg_database WHERE datname = %s", (scratch,)) == [(0,)]

    # The scheduled backup: same module, bucket and prefix; credentials only by reference.
    manifest = yaml.safe_load(cronjob.read_text())
    assert manifest["kind"] == "CronJob" and manifest["apiVersion"] == "batch/v1"
    container = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][-2:] == ["golive.core.pg_backup", "-a"]
    args = json.loads(container["args"][0])
    assert args["bucket"] == lab["s3"]["bucket"] and args["prefix"] == "postgres" and args["label"] == "scheduled"
    env = dict((e["name"], e) for e in container["env"])
    for name in ("PGPASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "golive-backup-credentials", "key": name}
    assert env["PGHOST"]["value"] == pg["host"] and env["PGDATABASE"]["value"] == db
    for secret in _secrets(lab):
        assert secret not in cronjob.read_text()
    # ... and it is what the cluster holds.
    applied = _cluster_cronjob(lab)
    assert applied["spec"]["schedule"] == manifest["spec"]["schedule"]
    pod = applied["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert pod["image"] == container["image"] and pod["args"] == container["args"]
    assert [e["name"] for e in pod["env"] if "valueFrom" in e] == ["PGPASSWORD", "AWS_ACCESS_KEY_ID",
                                                                   "AWS_SECRET_ACCESS_KEY"]
    for secret in _secrets(lab):
        assert secret not in json.dumps(applied)

    second = run_playbook("playbooks/golive.yml", *extra)
    assert second.returncode == 0, second.stdout[-4000:]
    assert recap(second.stdout)["changed"] == 0
    assert len(_manifests(lab, "pre-deploy-%s" % release)) == 1, "a re-run keeps the first pre-deploy backup"


def test_wrong_admin_password_fails_clearly_and_is_never_shown(lab):
    pg = lab["postgres"]
    wrong = "not-the-password-%s" % uuid.uuid4().hex
    overrides = {"phase2_admin_connection": {"login_host": pg["host"], "login_port": pg["port"],
                                             "login_user": pg["admin_user"], "login_password": wrong,
                                             "login_db": pg["database"], "ssl_mode": "disable"}}
    result = run_playbook("playbooks/golive.yml", "-vvv", "--tags", "phase2", "-e", "golive_release=2026.11.0",
                          "-e", json.dumps(overrides))
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "Failed to connect to PostgreSQL at %s:%s (database %s, user %s)" % (
        pg["host"], pg["port"], pg["database"], pg["admin_user"]) in out
    assert "password authentication failed" in out
    assert "Check login_user and login_password" in out
    assert "Traceback" not in out
    assert wrong not in out
    for secret in _secrets(lab):
        assert secret not in out
