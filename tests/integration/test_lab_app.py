"""The lab runs the application for real: Pods of the lab's images are processes, the router
serves the Ingress over TLS on two sites, and rollouts, scaling and broken images are
observed the way a user would, over HTTP, through kubectl and in the database.

These tests change the shared lab's pager Deployment, one at a time (one xdist group),
and put it back as they found it."""

import base64
import collections
import json
import os
import ssl
import subprocess
import threading
import time
from pathlib import Path

import psycopg2
import pytest

from lab.router import client
from helpers import HOST, kubectl, next_release_schema, pod_processes, request, wait


pytestmark = pytest.mark.xdist_group("pager")


def test_the_router_serves_the_application_over_tls_on_both_sites(lab, pager):
    for site in ("old", "new"):
        status, headers, body, cert = request(pager, site=site)
        assert status == 200 and json.loads(body)["version"] == "2026.11.2"
        assert headers["X-App-Version"] == "2026.11.2" and headers["X-Lab-Site"] == pager["sites"][site]
    # The certificate served is the one cert-manager put in the Ingress's TLS Secret.
    secret = json.loads(kubectl(lab, "get", "secret", "pager-tls", "-o", "json").stdout)
    pem = base64.b64decode(secret["data"]["tls.crt"]).decode()
    assert ssl.PEM_cert_to_DER_cert(pem) == cert
    # curl, resolving the name to the new site, sees the same.
    curl = subprocess.run(["curl", "-sS", "--resolve", f"{HOST}:{pager['https_port']}:{pager['sites']['new']}",
                           "--cacert", pager["ca_file"], f"https://{HOST}:{pager['https_port']}/version"],
                          capture_output=True, text=True, timeout=30)
    assert curl.returncode == 0 and json.loads(curl.stdout)["version"] == "2026.11.2", curl.stderr
    # No rule for the host: the default backend's 404; plain HTTP is served too.
    assert request(pager, host="nobody.lab.example", scheme="http")[0] == 404
    assert request(pager, scheme="http")[0] == 200
    log = Path(pager["access_log"]).read_text().splitlines()
    assert any("site=127.0.0.3 scheme=https host=app.lab.example" in line and "[pager-pager-http]" in line
               for line in log[-50:])


def test_a_rollout_serves_the_new_version_and_no_request_fails(lab, pager):
    next_release_schema(lab)
    counts, versions, stop = collections.Counter(), collections.Counter(), threading.Event()

    def traffic():
        while not stop.is_set():
            try:
                status, headers, _, _ = request(pager)
                counts[status] += 1
                versions[headers.get("X-App-Version")] += 1
            except OSError as exc:
                counts[type(exc).__name__] += 1

    senders = [threading.Thread(target=traffic) for _ in range(2)]
    for sender in senders:
        sender.start()
    try:
        kubectl(lab, "set", "image", "deployment/pager", "pager=registry.lab.example/pager:2026.11.3")
        kubectl(lab, "rollout", "status", "deployment/pager", "--timeout=120s")
        time.sleep(0.5)
    finally:
        stop.set()
        for sender in senders:
            sender.join()
    assert set(counts) == {200}, counts  # not one 5xx, not one refused connection
    assert versions["2026.11.2"] > 0 and versions["2026.11.3"] > 0
    assert json.loads(request(pager)[2])["version"] == "2026.11.3"
    history = kubectl(lab, "rollout", "history", "deployment/pager").stdout
    assert len([line for line in history.splitlines() if line.strip()[:1].isdigit()]) >= 2


def test_scale_to_zero_answers_503_and_stops_every_process(lab, lab_instance, pager):
    before = pod_processes(lab_instance)
    assert len(before) == 2 and all(p["pid"] for p in before)
    kubectl(lab, "scale", "deployment/pager", "--replicas=0")
    wait(lambda: request(pager)[0] == 503, timeout=5, what="503 from the router")
    wait(lambda: pod_processes(lab_instance, terminating=True) == [], timeout=15,
         what="the Pods' processes to be gone")
    for proc in before:
        wait(lambda: not Path(f"/proc/{proc['pid']}").exists()
             or Path(f"/proc/{proc['pid']}/stat").read_text().split(") ")[1][0] in "ZX",
             timeout=15, what=f"process {proc['pid']} to exit")
    kubectl(lab, "scale", "deployment/pager", "--replicas=2")
    wait(lambda: request(pager)[0] == 200, timeout=30, what="the pager to serve again")
    assert len(pod_processes(lab_instance)) == 2


def test_an_image_that_never_becomes_ready_stalls_and_the_old_pods_keep_serving(lab, pager):
    next_release_schema(lab)
    kubectl(lab, "set", "image", "deployment/pager", "pager=registry.lab.example/pager:2026.11.3-unready")
    stalled = kubectl(lab, "rollout", "status", "deployment/pager", "--timeout=8s", check=False)
    assert stalled.returncode != 0 and "timed out" in stalled.stderr
    status, headers, _, _ = request(pager)
    assert status == 200 and headers["X-App-Version"] == "2026.11.2"
    events = wait(lambda: [e for e in json.loads(kubectl(lab, "get", "events", "-o", "json").stdout)["items"]
                           if e["reason"] == "Unhealthy" and "statuscode: 503" in e["message"]],
                  timeout=20, what="a readiness probe failure Event")
    assert "Readiness probe failed" in events[0]["message"] and "configuration invalid" in events[0]["message"]
    shown = kubectl(lab, "get", "events", "--field-selector", "reason=Unhealthy").stdout
    assert "Readiness probe failed: HTTP probe failed with statuscode: 503" in shown


def test_a_failing_liveness_probe_restarts_the_process(lab, lab_instance, pager):
    victim = pod_processes(lab_instance)[0]
    address, port = victim["address"].rsplit(":", 1)
    # The switch goes to that one Pod's process, straight to its address.
    status, _, body, _ = client.request(address, int(port), HOST, "POST", "/_lab/switches", {"LAB_FAIL_LIVENESS": "true"},
                                        {"X-Lab-Admin": pager["admin_token"]}, scheme="http")
    assert status == 200, body

    def restarted():
        pods = json.loads(kubectl(lab, "get", "pod", victim["pod"], "-o", "json").stdout)
        return pods["status"]["containerStatuses"][0]["restartCount"] >= 1

    wait(restarted, timeout=30, what="the kubelet to restart the container")
    now = [p for p in pod_processes(lab_instance) if p["pod"] == victim["pod"]][0]
    assert now["pid"] != victim["pid"] and now["restarts"] >= 1
    events = kubectl(lab, "get", "events", "--field-selector", f"involvedObject.name={victim['pod']}").stdout
    assert "Liveness probe failed: HTTP probe failed with statuscode: 500" in events
    assert "failed liveness probe, will be restarted" in events
    # The new process has no switch set: it is live, ready and serving again.
    wait(lambda: json.loads(kubectl(lab, "get", "pod", victim["pod"], "-o", "json").stdout)["status"][
        "containerStatuses"][0]["ready"], timeout=30, what="the restarted container to be ready")


def test_an_image_that_does_not_exist_shows_image_pull_errors(lab, pager):
    kubectl(lab, "set", "image", "deployment/pager", "pager=registry.lab.example/pager:9.9.9")
    wait(lambda: "ImagePullBackOff" in kubectl(lab, "get", "pods").stdout, timeout=20, what="ImagePullBackOff")
    events = kubectl(lab, "get", "events", "--field-selector", "reason=Failed").stdout
    assert 'Failed to pull image "registry.lab.example/pager:9.9.9"' in events and "not found" in events
    assert request(pager)[0] == 200


def test_an_incident_created_over_http_is_a_row_in_postgres(lab, pager):
    email = "oncall-%s@lab.example" % os.urandom(4).hex()
    assert request(pager, "POST", "/api/users", {"email": email, "password": "correct horse"})[0] == 201
    assert request(pager, "POST", "/api/login", {"email": email, "password": "wrong password"})[0] == 401
    status, _, body, _ = request(pager, "POST", "/api/login", {"email": email, "password": "correct horse"})
    assert status == 200
    token = json.loads(body)["token"]
    assert request(pager, "POST", "/api/incidents", {"title": "checkout is down"})[0] == 401
    status, _, body, _ = request(pager, "POST", "/api/incidents", {"title": "checkout is down", "severity": "sev1"},
                                 token=token)
    assert status == 201
    incident = json.loads(body)["id"]
    pg = lab["postgres"]
    conn = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["admin_user"], password=pg["admin_password"],
                            dbname=pg["database"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT i.title, i.severity, u.email FROM incidents i JOIN pager_users u "
                        "ON u.id = i.reporter_id WHERE i.id = %s", (incident,))
            assert cur.fetchall() == [("checkout is down", "sev1", email)]
    finally:
        conn.close()


def test_observe_says_the_database_is_restoring_instead_of_failing(lab):
    """What `python -m lab observe` prints while a rollback's restore holds the database."""
    from lab import demo
    pg = lab["postgres"]
    conn = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["admin_user"], password=pg["admin_password"],
                            dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute('ALTER DATABASE "%s" WITH ALLOW_CONNECTIONS false' % pg["database"])
        observed = demo.observe(lab)
        assert observed["database"] == {"unavailable": "restoring"}
        assert "database unavailable (restoring)" in demo.describe(observed)
    finally:
        with conn.cursor() as cur:
            cur.execute('ALTER DATABASE "%s" WITH ALLOW_CONNECTIONS true' % pg["database"])
        conn.close()
    assert "schema_version" in demo.observe(lab)["database"]
