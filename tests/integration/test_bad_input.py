"""Bad and hostile input to the modules of phases 4 and 5, the rollbacks and the other
systems, run the way a user runs them (tasks of a playbook against the lab): each ends with
one clear message naming the option or the problem, no traceback, nothing changed on the
server (the Lease, the Deployment, the Ingress, the zone's records), and no password written
into a URL anywhere: output, ledger, report."""

import json
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import dns.message
import dns.query
import pytest

from helpers import read_ledger, run_tasks

from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings

DIGEST = "sha256:" + "b" * 64
IMAGE = "registry.lab.example/pager:2026.11.2@" + DIGEST


def outcome(results, index):
    """The registered result of task ``index`` and its message."""
    result = results[index]
    return result, str(result.get("msg") or "")


def refused(results, index, *says):
    """Task ``index`` failed, changed nothing, and its message says each of ``says``."""
    result, msg = outcome(results, index)
    assert result.get("failed") is True, (index, result)
    assert result.get("changed") is not True, (index, result)
    assert "Traceback" not in json.dumps(result) and "Module failed:" not in msg, (index, msg)
    for text in says:
        assert text in msg, (index, msg)
    return msg


def ignoring(*tasks):
    return [dict(t, ignore_errors=True) for t in tasks]


class Answers(threading.Thread):
    """A loopback HTTP server answering every request with an HTML page, or (hang=True)
    accepting connections and never answering."""

    def __init__(self, hang=False):
        super().__init__(daemon=True)
        if hang:
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
            self.sock.listen(50)
            self.port = self.sock.getsockname()[1]
            self.server = None
            self.held = []
        else:
            class Html(BaseHTTPRequestHandler):
                def _page(self):
                    body = b"<!doctype html><html><title>Sign in</title><body>Portal</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)

                do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _page

                def log_message(self, *args):
                    pass

            self.server = HTTPServer(("127.0.0.1", 0), Html)
            self.port = self.server.server_port
        self.url = "http://127.0.0.1:%d" % self.port

    def run(self):
        if self.server is not None:
            self.server.serve_forever()
        else:
            while True:
                try:
                    conn, _ = self.sock.accept()
                except OSError:
                    return
                self.held.append(conn)  # never answered

    def close(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        else:
            for conn in self.held:
                conn.close()
            self.sock.close()


@pytest.fixture
def html():
    server = Answers()
    server.start()
    yield server
    server.close()


@pytest.fixture
def hanging():
    server = Answers(hang=True)
    server.start()
    yield server
    server.close()


@pytest.fixture
def kube(lab):
    client = Kube(KubeSettings(kubeconfig=lab["k8s"]["kubeconfig"]), deadline=60)
    yield client
    client.close()


@pytest.fixture
def shop(lab, kube):
    """A namespace of the test's own with a Deployment, a maintenance Service (port http)
    and an Ingress pointing at a web Service."""
    ns = "bad-input-%s" % uuid.uuid4().hex[:6]
    kube.request("POST", "/api/v1/namespaces", body={"metadata": {"name": ns}})
    kube.request("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, body={
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": IMAGE}]}}}})
    for name in ("web", "maintenance"):
        kube.request("POST", "/api/v1/namespaces/%s/services" % ns, body={
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    kube.request("POST", "/apis/networking.k8s.io/v1/namespaces/%s/ingresses" % ns, body={
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
        "spec": {"rules": [{"host": "shop.lab.example", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": "web", "port": {"name": "http"}}}}]}}]}})
    yield ns
    kube.request("DELETE", "/api/v1/namespaces/%s" % ns)


def test_the_ledger_refuses_a_bad_release_id_before_the_lock(lab, kube, tmp_path):
    environment = "bad-%s" % uuid.uuid4().hex[:6]
    bad = ["2026/11.3", "../../../x", "r" * 300, "r\u00e9lease", "2026.11.3\nx"]
    proc, results = run_tasks(tmp_path, *ignoring(*[{"golive.core.ledger": {
        "operation": "open", "release": release, "environment": environment}} for release in bad]))
    assert proc.returncode == 0, proc.stdout[-3000:]
    for index in range(len(bad)):
        refused(results, index, "release id", "letters, digits")
    lease = "/apis/coordination.k8s.io/v1/namespaces/golive-system/leases/golive-run.%s" % environment
    assert kube.get(lease, missing_ok=True) is None  # the next valid go-live is not refused


def test_a_rollout_of_an_image_that_cannot_work_patches_nothing(lab, kube, shop, tmp_path):
    deployment = "/apis/apps/v1/namespaces/%s/deployments/web" % shop
    before = kube.get(deployment)
    select = {"workloads": [{"namespace": shop, "name": "web"}], "timeout": 30}
    policy = {"require_digest": True, "allowed_registries": ["registry.lab.example"]}
    proc, results = run_tasks(tmp_path, *ignoring(
        {"golive.core.k8s_rollout": dict(select, images={"web": "registry.lab.example/pager: 2026.11.3"})},
        {"golive.core.k8s_rollout": dict(select, images={"web": "registry.lab.example/pager"}, image_policy=policy)},
        {"golive.core.k8s_rollout": dict(select, images={"web": ""})},
        {"golive.core.k8s_rollout": dict(select, images={"web": "quay.io/pager:1@" + DIGEST}, image_policy=policy)},
        {"golive.core.k8s_rollout": dict(select, template={"spec": {"containers": [{"name": "web",
                                                                                     "image": "Pager:1"}]}})},
        {"golive.core.k8s_rollout": dict(select, images={"web": IMAGE}, timeout=-5)},
    ))
    assert proc.returncode == 0, proc.stdout[-3000:]
    refused(results, 0, "container web", "it contains whitespace", "Nothing was changed")
    refused(results, 1, "not pinned by digest", "image_policy.require_digest")
    refused(results, 2, "container web: '': it is empty")
    refused(results, 3, "registry quay.io is not allowed")
    refused(results, 4, "repository name is lower-case")
    refused(results, 5, "timeout is -5; it is a number of seconds above 0")
    after = kube.get(deployment)
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE


def test_an_undo_alone_names_the_workloads_it_returns_to(lab, kube, shop, tmp_path):
    select = {"workloads": [{"namespace": shop, "name": "web"}], "timeout": 30}
    newer = "registry.lab.example/pager:2026.11.3@" + DIGEST
    proc, results = run_tasks(tmp_path, {"golive.core.k8s_rollout": dict(select, images={"web": newer})},
                              {"golive.core.k8s_rollout": {"state": "undone", "undo": "{{ r0.undo }}", "timeout": 30}})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert results[0]["changed"] and results[1]["changed"]
    deployment = kube.get("/apis/apps/v1/namespaces/%s/deployments/web" % shop)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE


def test_maintenance_on_a_port_the_service_does_not_have_changes_nothing(lab, kube, shop, tmp_path):
    ingress = "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/web" % shop
    before = kube.get(ingress)
    target = {"ingresses": [{"namespace": shop, "name": "web"}]}
    proc, results = run_tasks(tmp_path, *ignoring(
        {"golive.core.k8s_maintenance": dict(target, port="https")},
        {"golive.core.k8s_maintenance": dict(target, port="99999")},
    ))
    assert proc.returncode == 0, proc.stdout[-3000:]
    for index in (0, 1):
        refused(results, index, "maintenance Service", "no such port", "%s/maintenance has ports 80 (http)" % shop)
    after = kube.get(ingress)  # (the lab's ingress controller may have written its status meanwhile)
    assert after["metadata"].get("generation") == before["metadata"].get("generation")
    assert after["spec"] == before["spec"]
    assert (after["metadata"].get("annotations") or {}) == (before["metadata"].get("annotations") or {})


def test_a_gate_or_check_with_nothing_to_check_fails_saying_so(lab, tmp_path):
    """The five check modules with an empty list, and TLS of a namespace that does not exist."""
    proc, results = run_tasks(tmp_path, *ignoring(
        {"golive.core.slo_gate": {"objectives": [], "prometheus_url": lab["prometheus"]["url"]}},
        {"golive.core.tls_check": {"hosts": []}},
        {"golive.core.tls_check": {"ingress_namespaces": ["no-such-namespace-%s" % uuid.uuid4().hex[:4]]}},
        {"golive.core.http_check": {"requests": []}},
        {"golive.core.service_discovery": {"services": []}},
        {"golive.core.connectivity": {"systems": []}},
    ))
    assert proc.returncode == 0, proc.stdout[-3000:]
    refused(results, 0, "there are none", "would pass having measured nothing")
    refused(results, 1, "there is nothing to check")
    refused(results, 2, "does not exist", "ingress_namespaces")
    refused(results, 3, "requests is empty")
    refused(results, 4, "services is empty")
    refused(results, 5, "systems is empty")
    for result in results:
        assert not result.get("checks") and "passed" not in (result.get("summary") or {})


def test_numbers_out_of_range_name_their_option(lab, tmp_path):
    app = lab["app"]
    url = "https://%s:%d/version" % (app["hosts"][0], app["https_port"])
    proc, results = run_tasks(tmp_path, *ignoring(
        {"golive.core.slo_gate": {"objectives": [{"name": "x", "query": "up", "max": 1}], "count": 0, "interval": -5,
                                  "prometheus_url": lab["prometheus"]["url"]}},
        {"golive.core.service_discovery": {"services": [{"namespace": "pager", "name": "pager", "min_ready": -1}],
                                           "timeout": -1}},
        {"golive.core.tls_check": {"hosts": [{"host": app["hosts"][0]}], "min_days": -5}},
        {"golive.core.http_check": {"requests": [{"name": "v", "url": url}], "count": 0}},
    ))
    assert proc.returncode == 0, proc.stdout[-3000:]
    refused(results, 0, "count is 0; it is 1 or more", "interval is -5; it is 0 or more seconds")
    refused(results, 1, "services[0].min_ready is -1", "timeout is -1")
    refused(results, 2, "min_days is -5")
    refused(results, 3, "count is 0; it is 1 or more")


def test_inputs_a_library_would_choke_on_are_named(lab, html, hanging, tmp_path):
    app, s3 = lab["app"], lab["s3"]
    aws = {"aws_access_key": s3["access_key"], "aws_secret_key": s3["secret_key"], "aws_region": s3["region"]}
    notify = lab["notify"]
    smtp = {"host": notify["smtp_host"], "port": notify["smtp_port"], "username": notify["smtp_user"],
            "password": notify["smtp_password"], "ca_file": notify["ca_file"], "sender": "golive@lab.example",
            "send_to": ["oncall@lab.example"]}
    proc, results = run_tasks(tmp_path, *ignoring(
        {"golive.core.service_discovery": {"services": [{"namespace": "pager", "name": "pager",
                                                         "path": "healthz now"}]}},
        {"golive.core.tls_check": {"hosts": [{"host": app["hosts"][0], "secret": "pager-tls"}]}},
        {"golive.core.slo_gate": {"objectives": [{"name": "up", "query": "up", "max": 1}], "count": 1,
                                  "prometheus_url": html.url}},
        {"golive.core.mq_health": {"url": html.url, "username": "u", "password": "p", "round_trip": False}},
        {"golive.core.s3_health": dict(aws, bucket=s3["bucket"], aws_endpoint_url=s3["endpoint_url"].split("://")[1])},
        {"golive.core.s3_health": dict(aws, bucket="Not A Bucket", aws_endpoint_url=s3["endpoint_url"])},
        {"golive.core.s3_health": dict(aws, bucket="shop-files", aws_endpoint_url=html.url)},
        {"golive.core.s3_health": dict(aws, bucket="shop-files", aws_endpoint_url=hanging.url, aws_timeout=3)},
        {"golive.core.smtp_check": dict(smtp, sender="golive@lab.example\r\nBcc: all@lab.example")},
        {"golive.core.smtp_check": dict(smtp, subject="test\nBcc: all@lab.example")},
        {"golive.core.smtp_check": dict(smtp, security="none")},
        {"golive.core.slo_gate": {"objectives": [{"name": "up", "query": "up", "max": 1}], "count": 1, "timeout": 3,
                                  "prometheus_url": hanging.url}},
    ))
    assert proc.returncode == 0, proc.stdout[-3000:]
    refused(results, 0, "path 'healthz now'", "starts with /")
    refused(results, 1, "secret 'pager-tls'", "namespace/name")
    refused(results, 2, "is not its API", "not JSON: <!doctype html>", "Check prometheus_url")
    refused(results, 3, "is not its API", "not JSON", "Check url")
    refused(results, 4, "aws_endpoint_url", "needs its scheme", "http://127.0.0.1")
    refused(results, 5, "bucket 'Not A Bucket'", "lower-case letters")
    refused(results, 6, "it is not an S3 API")
    refused(results, 7, "no answer within the task's 3s")
    refused(results, 8, "sender", "line break")
    refused(results, 9, "subject", "line break")
    refused(results, 10, "use security: starttls")
    msg = refused(results, 11, "Prometheus at %s" % hanging.url)
    assert "timed out" in msg or "no answer" in msg, msg


@pytest.mark.xdist_group("dns")
def test_dns_inputs_a_server_would_refuse_change_nothing(lab, tmp_path):
    eps = lab["dns"]
    zone = eps["zone"].rstrip(".") + "."

    def held():
        """What the primary holds of the names these inputs name: the test's own name (any
        type) and the apex's CNAME (other tests change other names of the zone meanwhile, so
        its serial is not this test's to read)."""
        found = []
        for qname, qtype in (("%s.%s" % (name, zone), "ANY"), (zone, "CNAME")):
            reply = dns.query.tcp(dns.message.make_query(qname, qtype), eps["server"], port=eps["port"], timeout=5)
            found.extend(r.to_text() for r in reply.answer)
        return found

    base = {"provider": "rfc2136", "dns_server": eps["server"], "dns_port": eps["port"], "dns_zone": eps["zone"],
            "tsig_key_name": eps["tsig_key_name"], "tsig_key_secret": eps["tsig_secret"],
            "tsig_key_algorithm": eps["tsig_algorithm"], "timeout": 10}
    name = "bad-%s" % uuid.uuid4().hex[:6]
    assert held() == []
    proc, results = run_tasks(tmp_path, *ignoring(
        {"golive.core.dns_cutover": dict(base, records=[{"name": name, "values": ["127.0.0.9"], "ttl": 10000000000}])},
        {"golive.core.dns_cutover": dict(base, records=[{"name": name, "values": ["127.0.0.9"], "ttl": -5}])},
        {"golive.core.dns_cutover": dict(base, tsig_key_secret="not base64!",
                                         records=[{"name": name, "values": ["127.0.0.9"]}])},
        {"golive.core.dns_cutover": dict(base, records=[{"name": name, "values": ["999.1.1.1"]}])},
        {"golive.core.dns_cutover": dict(base, records=[{"name": "@", "type": "CNAME", "values": ["www"]}])},
        {"golive.core.dns_cutover": dict(base, records=[{"name": name, "values": ["127.0.0.9"], "ttl": 1000000000}]),
         "check_mode": True},
    ))
    assert proc.returncode == 0, proc.stdout[-3000:]
    refused(results, 0, "records[0].ttl is 10000000000")
    refused(results, 1, "records[0].ttl is -5")
    msg = refused(results, 2, "tsig_key_secret", "not base64")
    assert "not base64!" not in msg.replace("it is not base64", "")
    refused(results, 3, "999.1.1.1 is not an IPv4 address")
    refused(results, 4, "cannot be at the zone apex")
    assert results[5]["changed"] is True and any("days" in w for w in results[5].get("warnings") or [])
    assert held() == []  # nothing reached the zone


def test_the_ledger_names_a_run_that_does_not_hold_the_lock(lab, tmp_path):
    environment, release = "bad-%s" % uuid.uuid4().hex[:6], "R-%s" % uuid.uuid4().hex[:6]
    args = {"release": release, "environment": environment}
    proc, results = run_tasks(tmp_path, {"golive.core.ledger": dict(args, operation="open")}, *ignoring(
        {"golive.core.ledger": dict(args, operation="begin", run_id="someone-elses-run", phase="phase4", step="x")}),
        {"golive.core.ledger": dict(args, operation="close", run_id="{{ r0.run_id }}")})
    assert proc.returncode == 0, proc.stdout[-3000:]
    refused(results, 1, "run someone-elses-run does not hold it", "Open a run first")


def test_a_password_written_into_a_url_is_nowhere(lab, tmp_path):
    """http_check and mq_health with user:password@ in their URL, passing and failing; the
    run records a ledger step naming the URL too: the password is in no output, no ledger
    object and no report file."""
    app, rabbit = lab["app"], lab["rabbitmq"]
    password = "pw-%s" % uuid.uuid4().hex
    base = "https://%s:%d" % (app["hosts"][0], app["https_port"])
    url = base.replace("https://", "https://alice:%s@" % password)
    mq_url = rabbit["management_url"].replace("http://", "http://%s:%s@" % (rabbit["user"], password))
    environment, release = "bad-%s" % uuid.uuid4().hex[:6], "R-%s" % uuid.uuid4().hex[:6]
    ledger = {"release": release, "environment": environment}
    reports = tmp_path / "reports"
    resolve = {app["hosts"][0]: app["sites"]["old"]}
    proc, results = run_tasks(tmp_path, {"golive.core.ledger": dict(ledger, operation="open")}, *ignoring(
        {"golive.core.http_check": {"requests": [{"name": "version", "url": url + "/version"}], "resolve": resolve,
                                    "ca_file": app["ca_file"]}},
        {"golive.core.http_check": {"requests": [{"name": "missing", "url": url + "/no-such-page"}],
                                    "resolve": resolve, "ca_file": app["ca_file"]}},
        {"golive.core.mq_health": {"url": mq_url, "username": rabbit["user"], "password": rabbit["password"],
                                   "vhost": rabbit["vhost"], "round_trip": False}},
        {"golive.core.mq_health": {"url": "http://%s:%s@127.0.0.1:9" % (rabbit["user"], password),
                                   "username": rabbit["user"], "password": rabbit["password"], "round_trip": False}},
        {"golive.core.ledger": dict(ledger, operation="event", run_id="{{ r0.run_id }}", event="note",
                                    details={"probed": url, "broker": mq_url})}),
        {"golive.core.ledger": dict(ledger, operation="close", run_id="{{ r0.run_id }}")},
        extra=["-vvv"], env={"GOLIVE_REPORT_DIR": str(reports)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert results[1]["failed"] is not True and results[3]["failed"] is not True, results[3]  # they passed
    assert results[2]["failed"] is True and results[4]["failed"] is True            # they failed
    assert "https://***@%s" % base.split("://")[1] in results[2]["msg"]
    files = [p for p in reports.rglob("*") if p.is_file()]
    assert len(files) >= 4, files
    record = read_ledger(lab, environment, release)
    everything = [proc.stdout, proc.stderr, json.dumps(results), json.dumps(record)] + [
        p.read_text(errors="replace") for p in files]
    for text in everything:
        assert password not in text
    assert any("https://***@" in text for text in everything[3:])  # the ledger and reports name the URL, masked
