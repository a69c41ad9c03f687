"""What the integration tests share: running ansible-playbook and one module the way a user
runs them, the lab's pager application and zone records as the tests that change them
share them, the databases, buckets and Redis of the lab, and the values a user of the
lab fills in. Fixtures live in conftest.py."""

import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import dns.message
import dns.query
import dns.tsigkeyring
import dns.update
import psycopg2
import yaml

from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings
from lab import demo
from lab.app import catalog
from lab.core import REPO_ROOT
from lab.router import client
from lab.services.moto import lab_client

# -- running ansible --------------------------------------------------------------------

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
    from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings
    from ansible_collections.golive.core.plugins.module_utils.ledger.store import LedgerStore
    kube = Kube(KubeSettings(kubeconfig=lab["k8s"]["kubeconfig"]), deadline=30)
    try:
        return LedgerStore(kube).read(environment, release)[0]
    finally:
        kube.close()


def lock_holder(lab, environment):
    """Who holds the environment's run lock in the lab cluster (None when nobody)."""
    from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings
    from ansible_collections.golive.core.plugins.module_utils.ledger.lock import RunLock
    kube = Kube(KubeSettings(kubeconfig=lab["k8s"]["kubeconfig"]), deadline=30)
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


def run_module(module, args, check=False, env=None, wait=True):
    """Run one module the way `ansible -m` does; return (rc, result dict, raw output)."""
    cmd = [str(BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", "golive.core." + module,
           "-a", json.dumps(args), "-e", "ansible_python_interpreter=%s" % sys.executable]
    if check:
        cmd.append("--check")
    extra = {"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"}
    extra.update(env or {})
    proc = subprocess.Popen(cmd, cwd=REPO, env=ansible_env(extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if not wait:
        return proc
    return finish(proc)


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    try:
        result = json.loads(out)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("no module result in:\n%s\n%s" % (out[-3000:], err[-3000:]))
    return proc.returncode, result, out + err


def run_task(tmp_path, module, args, *extra, check=False):
    """Run one module (its FQCN) as a task of a play, on a one-host inventory of its own;
    ``extra`` are ansible-playbook's arguments. Returns (registered result, process)."""
    out = tmp_path / ("result-%s.json" % uuid.uuid4().hex)
    play = [{"name": "Run %s" % module, "hosts": "lab", "gather_facts": False, "tasks": [
        {"name": "Run the module", module: args, "register": "r", "ignore_errors": True, "check_mode": check},
        {"name": "Keep the result", "ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(out)},
         "check_mode": False}]}]
    path = tmp_path / ("play-%s.yml" % uuid.uuid4().hex)
    path.write_text(json.dumps(play))
    # The module gets every endpoint in its arguments: a one-host inventory of its own, so it
    # runs whether or not the shared lab is up.
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"all": {"hosts": {"lab": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    proc = run_playbook(str(path), *extra, inventory=str(inventory))
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads(out.read_text()), proc


# -- the k8s tests' own API server (tests/integration/k8s) -------------------------------

IMAGE = "registry.example.test/web:%s"


def lab_kube(k8s_lab, deadline=60):
    """The collection's client of a ``k8s_lab`` API server."""
    return Kube(KubeSettings(kubeconfig=k8s_lab["kubeconfig"]), deadline=deadline)


def workload_manifest(kind, name, tag):
    """A Deployment or StatefulSet of two replicas of IMAGE 1, labelled part-of=<tag>."""
    spec = {"replicas": 2, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "main", "image": IMAGE % "1"}]}}}
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "labels": {"part-of": tag}},
            "spec": spec}


# -- the pager application ---------------------------------------------------------------

KUBECTL = str(Path(sys.executable).parent / "kubectl")
CURRENT = catalog.pinned("pager", "2026.11.2")
HOST = "app.lab.example"


def request(app, method="GET", path="/version", body=None, token=None, site="old", host=HOST, scheme="https"):
    """One request through the router, as a client resolving ``host`` to ``site`` would
    send it (SNI and certificate checked against the lab CA). Returns (status, headers,
    body, peer certificate DER)."""
    return client.request(app["sites"][site], app["https_port"] if scheme == "https" else app["http_port"], host,
                          method, path, body, {"Authorization": f"Bearer {token}"} if token else None,
                          app["ca_file"], scheme)


def kubectl(lab, *args, check=True, timeout=120):
    proc = subprocess.run([KUBECTL, "-n", "pager", *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, KUBECONFIG=lab["k8s"]["kubeconfig"]))
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def pod_processes(lab_instance, deployment="pager", terminating=False):
    """The runtime's processes of a Deployment's Pods (``lab.demo.pods``)."""
    return demo.pods(lab_instance.state_dir, deployment, terminating)


def switch(lab, lab_instance, **switches):
    """Set the application's lab switches (for example ``LAB_ERROR_RATIO=0.05``) on every
    running pager Pod, as ``python -m lab switch`` does."""
    assert demo.switch(lab, lab_instance.state_dir, switches), "no running pager Pod"


def reset_pager(lab, lab_instance):
    """The pager Deployment back at the running release with two replicas, serving."""
    kubectl(lab, "set", "image", "deployment/pager", f"pager={CURRENT}")
    kubectl(lab, "scale", "deployment/pager", "--replicas=2")
    kubectl(lab, "rollout", "status", "deployment/pager", "--timeout=90s")
    wait(lambda: request(lab["app"])[0] == 200 and request(lab["app"])[1].get("X-App-Version") == "2026.11.2",
         what="the pager to answer again")
    wait(lambda: len(pod_processes(lab_instance, terminating=True)) == 2, what="old Pods' processes to exit")


def wait(predicate, timeout=30.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def next_release_schema(lab):
    """What phase 2 of the next release does first: its migration (V5)."""
    from ansible_collections.golive.core.plugins.module_utils.postgres import migrate
    from ansible_collections.golive.core.plugins.module_utils.postgres.connection import PgServer
    pg = lab["postgres"]
    server = PgServer(host=pg["host"], port=pg["port"], user=pg["admin_user"], password=pg["admin_password"],
                      dbname=pg["database"], ssl_mode="disable")
    migrate.migrate(server, str(REPO_ROOT / "inventories/lab/files/migrations"), session_role=pg["app_user"])


# -- the lab zone's www and app records --------------------------------------------------

def answers(lab, name):
    """What each authoritative server of the lab answers for ``name`` A."""
    eps = lab["dns"]
    out = {}
    for ns, where in sorted(eps["nameservers"].items()):
        address, port = where.rsplit(":", 1)
        reply = dns.query.udp(dns.message.make_query("%s.%s" % (name, eps["zone"]), "A"), address,
                              port=int(port), timeout=5)
        out[ns] = sorted(r.to_text() for rrset in reply.answer for r in rrset)
    return out


def by_hand(lab, name, address):
    eps = lab["dns"]
    keyring = dns.tsigkeyring.from_text({eps["tsig_key_name"]: eps["tsig_secret"]})
    update = dns.update.Update(eps["zone"], keyring=keyring, keyalgorithm=eps["tsig_algorithm"])
    update.replace(name, 60, "A", address)
    assert dns.query.tcp(update, eps["server"], port=eps["port"], timeout=10).rcode() == 0


def current(lab, name):
    """The primary's A set of ``name``: (ttl, [values])."""
    eps = lab["dns"]
    reply = dns.query.tcp(dns.message.make_query("%s.%s" % (name, eps["zone"]), "A"), eps["server"],
                          port=eps["port"], timeout=5)
    for rrset in reply.answer:
        return rrset.ttl, sorted(r.to_text() for r in rrset)
    return None


def put_back(lab, name, saved):
    eps = lab["dns"]
    keyring = dns.tsigkeyring.from_text({eps["tsig_key_name"]: eps["tsig_secret"]})
    update = dns.update.Update(eps["zone"], keyring=keyring, keyalgorithm=eps["tsig_algorithm"])
    update.delete(name, "A")
    for value in (saved or (60, []))[1]:
        update.add(name, saved[0], "A", value)
    assert dns.query.tcp(update, eps["server"], port=eps["port"], timeout=10).rcode() == 0


# -- PostgreSQL --------------------------------------------------------------------------

NEXT = "2026.11.3"
PREVIOUS = "2026.11.2"


def admin_args(pg, dbname):
    return {"login_host": pg["host"], "login_port": pg["port"], "login_user": pg["admin_user"],
            "login_password": pg["admin_password"], "login_db": dbname, "ssl_mode": "disable"}


def connect(pg, dbname):
    conn = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["admin_user"],
                            password=pg["admin_password"], dbname=dbname)
    conn.autocommit = True
    return conn


def rows(pg, dbname, sql, args=None):
    conn = connect(pg, dbname)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def admin(lab, dbname=None):
    pg = lab["postgres"]
    conn = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["admin_user"], password=pg["admin_password"],
                            dbname=dbname or pg["database"])
    conn.autocommit = True
    return conn


def sql(lab, query, args=None, dbname=None):
    conn = admin(lab, dbname)
    try:
        with conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def schema_before_next_release(lab):
    """The database as the running release has it: without V5 (make demo or another test
    may have applied it)."""
    sql(lab, "ALTER TABLE incidents DROP COLUMN IF EXISTS acknowledged_at, DROP COLUMN IF EXISTS acknowledged_by")
    sql(lab, "DELETE FROM golive_schema_history WHERE version = '5'")


def kept_databases(lab):
    return set(r[0] for r in sql(lab, "SELECT datname FROM pg_database WHERE datname LIKE %s",
                                 (lab["postgres"]["database"] + "_before_%",), dbname="postgres"))


def column_exists(lab, dbname=None):
    return bool(sql(lab, "SELECT 1 FROM information_schema.columns WHERE table_name = 'incidents' "
                         "AND column_name = 'acknowledged_at'", dbname=dbname))


# -- S3 and Redis ------------------------------------------------------------------------

def s3_args(lab, prefix):
    s = lab["s3"]
    return {"aws_endpoint_url": s["endpoint_url"], "aws_access_key": s["access_key"],
            "aws_secret_key": s["secret_key"], "aws_region": s["region"], "bucket": s["bucket"], "prefix": prefix}


def keys(lab, prefix):
    pages = lab_client(lab).get_paginator("list_objects_v2").paginate(Bucket=lab["s3"]["bucket"], Prefix=prefix + "/")
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def lab_redis_args(lab):
    r = lab["redis"]
    return {"redis_sentinels": r["sentinels"], "redis_master_name": r["master_name"],
            "redis_password": r["password"]}


# -- the values a user of the lab fills in, and the AWX stand-in ------------------------

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
        "site_contacts": LAB_VARS["golive_contacts"], "site_escalation": LAB_VARS["golive_escalation"],
        "site_kubeconfig": k8s["kubeconfig"],
        "site_kube_context": "",
        "site_pg_host": pg["host"], "site_pg_port": pg["pgbouncer_port"], "site_pg_user": pg["app_user"],
        "site_pg_database": pg["database"], "site_pg_ssl_mode": "verify-full",
        "site_pg_ca_cert": pg["ca_file"],
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
        "site_alertmanager_url": lab["monitoring"]["alertmanager_url"],
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
        "site_images": {"namespaces": [ns], "allowed_registries": ["registry.lab.example"], "require_digest": True,
                        "scans": {"fail_on": "HIGH"}},
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


def seed(lab, nodes):
    job = random.randint(10 ** 5, 10 ** 6)
    body = json.dumps({"workflow_job_id": job, "nodes": nodes}).encode()
    request = urllib.request.Request(lab["standins"]["url"] + "/_lab/awx", method="POST", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as resp:
        json.loads(resp.read())
    return job


# -- what several tests of the checks share ---------------------------------------------

def checks_by_id(result):
    """A module result's checks by id."""
    return dict((c["id"], c) for c in result["checks"])


def tls_admin_args(pg, **extra):
    """The lab's PostgreSQL as its admin, over TLS verified against the lab CA."""
    args = {"login_host": pg["host"], "login_port": pg["port"], "login_user": pg["admin_user"],
            "login_password": pg["admin_password"], "login_db": pg["database"], "ssl_mode": "verify-full",
            "ca_cert": pg["ca_file"]}
    args.update(extra)
    return args


def pgbouncer_admin(pg):
    """PgBouncer's admin console of the lab (the ``pgbouncer`` option of pg_health)."""
    return {"host": pg["host"], "port": pg["pgbouncer_port"], "user": pg["pgbouncer_admin_user"],
            "password": pg["pgbouncer_admin_password"]}


@contextlib.contextmanager
def own_redis(directory):
    """A Redis server of the test's own (no TLS, no persistence) on a free port."""
    import socket
    import redis
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    password = "p-%s" % uuid.uuid4().hex
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--requirepass", password, "--dir", str(directory)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def answers():
        try:
            return redis.Redis(port=port, password=password).ping()
        except redis.ConnectionError:
            return False
    try:
        wait(answers, timeout=10, what="the test's Redis to answer")
        yield {"port": port, "password": password}
    finally:
        proc.terminate()
        proc.wait(10)
